"""Odd messages from the gateway: never answered wrongly, never raised on.

Stand-ins for discord.py's objects with fields missing or odd, as discord.py fills in
what a gateway payload carried (adapters/discord/events.py).
"""

from __future__ import annotations

from types import SimpleNamespace as NS

import discord
import pytest
from discord.enums import try_enum

from adapters.discord.events import is_reply_to, mentions_user, should_answer, to_incoming

BOT_ID = 1000
ME = NS(id=BOT_ID, bot=True, display_name="chatwright")
ALICE = NS(id=7, bot=False, display_name="Alice", guild_permissions=discord.Permissions.none())
GUILD = NS(id=50)


def message(**fields: object) -> NS:
    base = dict(id=123, content=f"<@{BOT_ID}> hi", author=ALICE, guild=GUILD, mentions=[ME], reference=None,
                type=discord.MessageType.default, channel=NS(id=60))
    return NS(**{name: value for name, value in {**base, **fields}.items() if value is not ...})


ODD = {
    "content None": message(content=None),
    "content not text": message(content=["hi"]),
    "no content at all": message(content=...),
    "empty content": message(content=""),
    "a type from the future": message(type=try_enum(discord.MessageType, 9999)),
    "no type": message(type=...),
    "no author": message(author=...),
    "author None": message(author=None),
    "author without an id": message(author=NS(bot=False, display_name="x")),
    "author without the bot flag": message(author=NS(id=7, display_name="x")),
    "no channel": message(channel=...),
    "channel without an id": message(channel=NS()),
    "no message id": message(id=...),
    "guild without an id": message(guild=NS()),
    "no mentions list": message(mentions=..., content="hi"),
    "mentions None": message(mentions=None, content="hi"),
}


@pytest.mark.parametrize("odd", ODD.values(), ids=ODD.keys())
def test_an_odd_message_is_not_answered_and_nothing_raises(odd):
    assert to_incoming(odd, BOT_ID, frozenset()) is None


def test_replies_to_a_deleted_message_or_without_a_reference_are_not_replies_to_the_bot():
    deleted = NS(resolved=NS(id=5, channel_id=60, guild_id=50), cached_message=None)  # DeletedReferencedMessage
    assert not is_reply_to(message(reference=deleted), BOT_ID)
    assert not is_reply_to(message(reference=NS()), BOT_ID)
    assert not is_reply_to(message(reference=NS(resolved=NS(author=NS()), cached_message=None)), BOT_ID)
    assert not mentions_user(message(mentions=[NS(name="no id")]), BOT_ID)


def test_a_member_the_bot_has_no_data_about_is_answered_but_not_as_an_admin():
    webhook_like = NS(id=8, bot=False, display_name="Hook")  # a User: no guild_permissions
    incoming = to_incoming(message(author=webhook_like), BOT_ID, frozenset())
    assert incoming is not None and not incoming.is_admin and incoming.text == "hi"
    odd_permissions = NS(id=9, bot=False, display_name="Odd", guild_permissions=NS(manage_guild=True))
    incoming = to_incoming(message(author=odd_permissions), BOT_ID, frozenset())
    assert incoming is not None and not incoming.is_admin


def test_an_author_without_a_display_name_is_named_by_id():
    incoming = to_incoming(message(author=NS(id=7, bot=False), guild=None), BOT_ID, frozenset())
    assert incoming is not None and incoming.user_name == "7" and incoming.is_dm


def test_lone_surrogates_in_content_and_names_are_replaced():
    author = NS(id=7, bot=False, display_name="Al\udc00ice")
    incoming = to_incoming(message(content="what \ud800?", author=author, guild=None), BOT_ID, frozenset())
    assert incoming is not None and incoming.text == "what \ufffd?" and incoming.user_name == "Al\ufffdice"


def test_should_answer_says_no_to_what_it_cannot_read():
    assert not should_answer(NS(), BOT_ID)
    assert should_answer(message(guild=None, mentions=[], content="plain DM"), BOT_ID)
