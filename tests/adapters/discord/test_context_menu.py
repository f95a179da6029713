"""The "Ask chatwright" question, route and where it may be answered, on stand-ins."""

from __future__ import annotations

from types import SimpleNamespace as NS

import discord

from adapters.discord.context_menu import bot_can_post, question_about, reply_route
from core.types import ConversationRef

AUTHOR = NS(id=7, display_name="Alice")
ASKER = NS(id=8, display_name="Bob")


def _interaction(guild_id: int | None = 50, *, context: str = "guild", bot_in: tuple[int, ...] = (50,)) -> NS:
    client = NS(get_guild=lambda guild_id: NS(id=guild_id) if guild_id in bot_in else None)
    return NS(id=999, guild_id=guild_id, channel_id=60, user=ASKER, client=client,
              permissions=discord.Permissions.none(),
              context=discord.app_commands.AppCommandContext(**{context: True}))


def _target(content: str = "is <@8> right?", attachments: tuple = ()) -> NS:
    return NS(id=123, content=content, author=AUTHOR, guild=None, mentions=[ASKER], attachments=list(attachments))


def test_the_question_quotes_the_message_and_is_claimed_per_interaction() -> None:
    incoming = question_about(_interaction(), _target(), frozenset())
    assert incoming is not None
    assert incoming.conversation == ConversationRef("discord", "50", "60")
    assert (incoming.user_id, incoming.user_name, incoming.event_id) == ("8", "Bob", "999")
    assert "by Alice" in incoming.text and incoming.text.endswith("> is @Bob right?")
    assert not incoming.is_admin and not incoming.is_dm


def test_files_alone_are_a_question_and_nothing_at_all_is_none() -> None:
    log = NS(url="https://cdn.discordapp.com/a/log.txt", filename="log.txt", content_type="text/plain", size=3)
    incoming = question_about(_interaction(), _target("", (log,)), frozenset())
    assert incoming is not None and [f.name for f in incoming.files] == ["log.txt"]
    assert "files are attached" in incoming.text
    assert question_about(_interaction(), _target(""), frozenset()) is None


def test_the_answer_replies_to_the_target() -> None:
    assert reply_route(_interaction(), _target()) == {"channel": "60", "reply_to": "123", "guild": "50"}
    assert reply_route(_interaction(None, context="dm_channel"), _target()) == {"channel": "60", "reply_to": "123"}


def test_the_bot_posts_only_in_its_servers_and_its_own_dm() -> None:
    assert bot_can_post(_interaction(50))
    assert not bot_can_post(_interaction(51))  # user-installed, in a server the bot is not in
    assert bot_can_post(_interaction(None, context="dm_channel"))  # the DM with the bot
    assert not bot_can_post(_interaction(None, context="private_channel"))  # a group DM or someone else's DM
