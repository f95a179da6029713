"""Pure decisions about incoming Discord messages: answer or ignore, and what to send core.

Without the privileged ``message_content`` intent Discord still delivers the content of
DMs and of messages that mention the bot. A reply to the bot mentions it too, unless the
user switched the reply's ping off: then the content arrives empty and there is nothing
to answer, and ``to_incoming`` returns None (the adapter logs why).
"""

from __future__ import annotations

import re
from collections.abc import Set
from typing import Any

import discord

from adapters.discord.permissions import is_admin
from core.types import ConversationRef, IncomingMessage

__all__ = [
    "PLATFORM",
    "conversation_of",
    "is_reply_to",
    "mentions_user",
    "should_answer",
    "strip_mention",
    "to_incoming",
]

PLATFORM = "discord"

# Messages people write; joins, pins, boosts and the like are system messages.
_USER_MESSAGE_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


def conversation_of(guild_id: int | None, channel_id: int) -> ConversationRef:
    """The channel is the conversation; a thread is a channel of its own, so also one."""
    return ConversationRef(PLATFORM, str(guild_id) if guild_id else "", str(channel_id))


def mentions_user(message: Any, user_id: int) -> bool:
    # ``ClientUser.mentioned_in`` also says yes to @everyone, which must not wake the bot.
    return any(user.id == user_id for user in message.mentions)


def is_reply_to(message: Any, user_id: int) -> bool:
    """Whether ``message`` replies to a message written by ``user_id``."""
    reference = message.reference
    if reference is None:
        return False
    replied = reference.resolved or reference.cached_message
    author = getattr(replied, "author", None)
    return author is not None and author.id == user_id


def should_answer(message: Any, bot_id: int) -> bool:
    """DMs always; in servers, mentions of the bot and replies to it. Never bots or system."""
    if message.author.bot or message.author.id == bot_id:
        return False
    if message.type not in _USER_MESSAGE_TYPES:
        return False
    if message.guild is None:
        return True
    return mentions_user(message, bot_id) or is_reply_to(message, bot_id)


def strip_mention(content: str, bot_id: int) -> str:
    """The text without the bot's own mention (``<@id>`` or the legacy ``<@!id>``)."""
    return re.sub(rf"<@!?{bot_id}>", "", content).strip()


def to_incoming(message: Any, bot_id: int, admin_ids: Set[str]) -> IncomingMessage | None:
    """The message for core, or None when the bot should stay silent."""
    if not should_answer(message, bot_id):
        return None
    text = strip_mention(message.content, bot_id)
    if not text:
        return None
    guild_id = message.guild.id if message.guild is not None else None
    permissions = getattr(message.author, "guild_permissions", None) if guild_id else None
    return IncomingMessage(
        conversation=conversation_of(guild_id, message.channel.id),
        user_id=str(message.author.id),
        user_name=message.author.display_name,
        text=text,
        is_dm=guild_id is None,
        is_admin=is_admin(message.author.id, permissions, admin_ids),
        event_id=str(message.id),
    )
