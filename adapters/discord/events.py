"""Pure decisions about incoming Discord messages: answer or ignore, and what to send core.

Without the privileged ``message_content`` intent Discord still delivers the content of
DMs and of messages that mention the bot. A reply to the bot mentions it too, unless the
user switched the reply's ping off: then the content arrives empty and there is nothing
to answer, and ``to_incoming`` returns None (the adapter logs why). Attachments come under
the same rule: a message the bot may read brings its files (described here, fetched when
the answer is written, by ``adapters.discord.files``), and one of files alone is answered.

Odd payloads are read as cautiously: discord.py fills in what the gateway sent, and a
message may come without content, with a type added after this code was written, from a
webhook or a member the bot has no data about (an author without guild permissions),
replying to a deleted message, or with attachments missing a field; such an attachment
is left out. Such a message is not answered, or answered by someone
who is not an admin; these functions return False or None for it, and never raise.
"""

from __future__ import annotations

import re
from collections.abc import Set
from itertools import islice
from typing import Any

import discord

from adapters.discord.mentions import readable_mentions
from adapters.common.downloads import declared_size
from adapters.discord.permissions import is_admin
from core.types import ConversationRef, FileRef, IncomingMessage

__all__ = [
    "PLATFORM",
    "MAX_FILES",
    "conversation_of",
    "files_of",
    "is_reply_to",
    "member_roles",
    "mentions_user",
    "parent_channel",
    "should_answer",
    "strip_mention",
    "to_incoming",
]

PLATFORM = "discord"

# Messages people write; joins, pins, boosts and the like are system messages.
_USER_MESSAGE_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})

# Files described per message. Discord allows 10 today; core reads fewer still
# (ATTACHMENTS_MAX_PER_MESSAGE) and names the rest, so this only bounds an odd payload.
MAX_FILES = 20


def conversation_of(guild_id: int | None, channel_id: int) -> ConversationRef:
    """The channel is the conversation; a thread is a channel of its own, so also one."""
    return ConversationRef(PLATFORM, str(guild_id) if guild_id else "", str(channel_id))


def mentions_user(message: Any, user_id: int) -> bool:
    # ``ClientUser.mentioned_in`` also says yes to @everyone, which must not wake the bot.
    return any(getattr(user, "id", None) == user_id for user in getattr(message, "mentions", None) or ())


def is_reply_to(message: Any, user_id: int) -> bool:
    """Whether ``message`` replies to a message written by ``user_id``."""
    reference = getattr(message, "reference", None)
    if reference is None:
        return False
    # A deleted message resolves to a stand-in without an author.
    replied = getattr(reference, "resolved", None) or getattr(reference, "cached_message", None)
    author = getattr(replied, "author", None)
    return author is not None and getattr(author, "id", None) == user_id


def should_answer(message: Any, bot_id: int) -> bool:
    """DMs always; in servers, mentions of the bot and replies to it. Never bots or system."""
    author = getattr(message, "author", None)
    if getattr(author, "id", None) in (None, bot_id) or getattr(author, "bot", True):
        return False
    if getattr(message, "type", None) not in _USER_MESSAGE_TYPES:
        return False
    if getattr(message, "guild", None) is None:
        return True
    return mentions_user(message, bot_id) or is_reply_to(message, bot_id)


def strip_mention(content: str, bot_id: int) -> str:
    """The text without the bot's own mention (``<@id>`` or the legacy ``<@!id>``)."""
    return re.sub(rf"<@!?{bot_id}>", "", content).strip()


def to_incoming(message: Any, bot_id: int, admin_ids: Set[str]) -> IncomingMessage | None:
    """The message for core, or None when the bot should stay silent."""
    if not should_answer(message, bot_id):
        return None
    content = getattr(message, "content", None)
    # Other people's mentions as names: the model cannot know who ``<@123>`` is.
    text = readable_mentions(strip_mention(content, bot_id), message) if isinstance(content, str) else ""
    files = files_of(message)
    channel_id = getattr(getattr(message, "channel", None), "id", None)
    message_id = getattr(message, "id", None)
    if not (text or files) or channel_id is None or message_id is None:
        return None
    guild = message.guild
    guild_id = getattr(guild, "id", None) if guild is not None else None
    if guild is not None and guild_id is None:
        return None  # a server message without its server: nowhere to keep the conversation
    author = message.author
    return IncomingMessage(
        conversation=conversation_of(guild_id, channel_id),
        user_id=str(author.id),
        user_name=_display_name(author),
        text=text,
        is_dm=guild_id is None,
        is_admin=is_admin(author.id, _guild_permissions(author) if guild_id else None, admin_ids),
        event_id=str(message_id),
        files=files,
        role_ids=member_roles(author),
        parent_channel=parent_channel(message.channel),
    )


def member_roles(user: Any) -> tuple[str, ...]:
    """The role ids of a server member, for the access policy (ALLOWED_ROLE_IDS); none for
    a user outside a server, or a member of a server the bot has not cached (its roles
    cannot be read then). The server's @everyone role (the server's id) is among them."""
    try:
        roles = getattr(user, "roles", None)
        return tuple(str(role.id) for role in roles) if isinstance(roles, list) else ()
    except Exception:  # noqa: BLE001 - a member without readable roles has none
        return ()


def parent_channel(channel: Any) -> str:
    """The channel a thread belongs to ("" for a channel that is not a thread): a thread
    is a channel of its own on Discord, but ALLOWED_CHANNEL_IDS lists its parent."""
    parent = getattr(channel, "parent_id", None) if isinstance(channel, discord.Thread) else None
    return str(parent) if isinstance(parent, int) else ""


def files_of(message: Any) -> tuple[FileRef, ...]:
    """The message's attachments (at most ``MAX_FILES``), in order; odd ones left out."""
    attachments = getattr(message, "attachments", None)
    if not isinstance(attachments, (list, tuple)):
        return ()
    return tuple(islice(filter(None, map(_file_ref, attachments)), MAX_FILES))


def _file_ref(attachment: Any) -> FileRef | None:
    """A ``discord.Attachment`` as core describes files; None without a usable URL."""
    url = getattr(attachment, "url", None)
    if not isinstance(url, str) or not url:
        return None
    name = getattr(attachment, "filename", None)
    mime_type = getattr(attachment, "content_type", None)
    size = getattr(attachment, "size", None)
    return FileRef(
        name=name if isinstance(name, str) else "",
        mime_type=mime_type if isinstance(mime_type, str) else "",
        size=declared_size(size),
        url=url,
    )


def _display_name(author: Any) -> str:
    name = getattr(author, "display_name", None)
    return name if isinstance(name, str) and name else str(author.id)


def _guild_permissions(author: Any) -> discord.Permissions | None:
    """The member's permissions; None for an author the bot has no member data about
    (a webhook, or a member not in its cache): never an admin by permission."""
    permissions = getattr(author, "guild_permissions", None)
    return permissions if isinstance(permissions, discord.Permissions) else None
