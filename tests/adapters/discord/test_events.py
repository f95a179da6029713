"""Pure decisions about incoming messages, on stand-ins for discord.py's objects."""

from __future__ import annotations

from types import SimpleNamespace as NS

import discord

from adapters.discord.events import conversation_of, is_reply_to, should_answer, strip_mention, to_incoming
from core.types import ConversationRef

BOT_ID = 1000
GUILD = NS(id=50)
ALICE = NS(id=7, bot=False, display_name="Alice", guild_permissions=discord.Permissions.none())
MANAGER = NS(id=8, bot=False, display_name="Mia", guild_permissions=discord.Permissions(manage_guild=True))
OWNER = NS(id=9, bot=False, display_name="Olga", guild_permissions=discord.Permissions.all())
ROBOT = NS(id=99, bot=True, display_name="robot")
ME = NS(id=BOT_ID, bot=True, display_name="chatwright")


def message(content: str = "hi", *, author=ALICE, guild=GUILD, mentions=(), reference=None,
            type_=discord.MessageType.default, channel_id: int = 60) -> NS:
    return NS(id=123, content=content, author=author, guild=guild, mentions=list(mentions),
              reference=reference, type=type_, channel=NS(id=channel_id))


def reply_to(author) -> NS:
    return NS(resolved=NS(author=author), cached_message=None)


def test_dms_are_always_answered() -> None:
    assert should_answer(message(guild=None), BOT_ID)


def test_channel_messages_need_a_mention_or_a_reply_to_the_bot() -> None:
    assert not should_answer(message(), BOT_ID)
    assert should_answer(message(mentions=[ME]), BOT_ID)
    assert should_answer(message(reference=reply_to(ME)), BOT_ID)
    assert not should_answer(message(reference=reply_to(ALICE)), BOT_ID)


def test_reply_found_in_the_message_cache_when_not_resolved() -> None:
    reference = NS(resolved=None, cached_message=NS(author=ME))
    assert is_reply_to(message(reference=reference), BOT_ID)
    assert not is_reply_to(message(reference=NS(resolved=None, cached_message=None)), BOT_ID)


def test_bots_itself_and_system_messages_are_ignored() -> None:
    assert not should_answer(message(author=ROBOT, guild=None), BOT_ID)
    assert not should_answer(message(author=ME, guild=None), BOT_ID)
    assert not should_answer(message(guild=None, type_=discord.MessageType.pins_add), BOT_ID)
    assert should_answer(message(guild=None, type_=discord.MessageType.reply), BOT_ID)


def test_everyone_mention_alone_does_not_wake_the_bot() -> None:
    assert not should_answer(message("@everyone hi", mentions=[ALICE]), BOT_ID)


def test_strip_mention_both_forms() -> None:
    assert strip_mention(f"<@{BOT_ID}> hello <@!{BOT_ID}>", BOT_ID) == "hello"
    assert strip_mention("<@42> hello", BOT_ID) == "<@42> hello"


def test_conversation_is_the_channel_and_dm_has_no_workspace() -> None:
    assert conversation_of(50, 60) == ConversationRef("discord", "50", "60", "")
    assert conversation_of(None, 70) == ConversationRef("discord", "", "70", "")


def test_to_incoming_in_a_channel() -> None:
    incoming = to_incoming(message(f"<@{BOT_ID}> what?", mentions=[ME]), BOT_ID, frozenset())
    assert incoming is not None
    assert (incoming.text, incoming.user_id, incoming.user_name) == ("what?", "7", "Alice")
    assert (incoming.is_dm, incoming.is_admin, incoming.event_id) == (False, False, "123")


def test_to_incoming_admins_by_permission_or_listing() -> None:
    for author in (MANAGER, OWNER):
        incoming = to_incoming(message(mentions=[ME], author=author), BOT_ID, frozenset())
        assert incoming is not None and incoming.is_admin
    listed = to_incoming(message(mentions=[ME]), BOT_ID, frozenset({"7"}))
    assert listed is not None and listed.is_admin


def test_to_incoming_dm() -> None:
    incoming = to_incoming(message("hello", guild=None, author=NS(id=7, bot=False, display_name="A")), BOT_ID, frozenset())
    assert incoming is not None and incoming.is_dm and incoming.conversation.workspace == ""


def test_nothing_to_answer_without_text() -> None:
    assert to_incoming(message(f"<@{BOT_ID}>", mentions=[ME]), BOT_ID, frozenset()) is None
    # A reply with its ping off: Discord hides the content without message_content.
    assert to_incoming(message("", reference=reply_to(ME)), BOT_ID, frozenset()) is None


def test_other_peoples_mentions_reach_core_as_names() -> None:
    incoming = to_incoming(message(f"<@{BOT_ID}> is <@{ALICE.id}> right?", mentions=[ME, ALICE]), BOT_ID, frozenset())
    assert incoming is not None and incoming.text == "is @Alice right?"
