"""``ReplyChain``: the Discord ``ThreadSource``, the reply chain a question answers.

When someone replies to a message and asks the bot ("@chatwright is that right?"), the
context is the chain of messages that reply led back through: the message replied to,
the one it replied to, and so on (``message.reference``, fetched one by one, at most
``limit``). It is returned oldest first, each with its author's name in that server (the
member's nickname, else their display name), the bot's own messages as ``from_bot``, and
mentions turned into names.

Why the reply chain and not the channel's recent messages: a reply says which messages
the question is about, while recent messages in a busy channel are mostly other talk;
and without the privileged ``message_content`` intent most of them would come back empty.

What comes back empty: without that intent Discord withholds the content, attachments
and embeds of every message except those that mention the bot (a reply with its ping on
counts), those in DMs and the bot's own. A chain in a server therefore brings the parts
people addressed to the bot and the bot's answers; the rest arrive empty and are left
out (their ``reference`` is not withheld, so the chain is still followed through them).
To ask about any message whatever its author, people use the "Ask chatwright" message
command: Discord sends an interaction's target message with its content.

The chain starts at the question's own message, which the adapter hands over with
``start_from`` (no request needed; the same for the message command's target); an answer
resumed by another process fetches it by the question's id instead.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import aiohttp
import discord

from adapters.discord.events import files_of
from adapters.discord.mentions import readable_mentions
from core.threads import EarlierMessage
from core.types import IncomingMessage

__all__ = ["ReplyChain"]

log = logging.getLogger(__name__)

# Questions whose first message is remembered until their answer asks for the chain.
# Bounded: an answer that never asks (the conversation already has history) is forgotten.
_REMEMBERED = 256
_FAILURES = (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError)


class ReplyChain:
    """A ``core.threads.ThreadSource`` for Discord (see the module docstring)."""

    def __init__(self, client: Callable[[], discord.Client | None]) -> None:
        self._client = client
        self._starts: OrderedDict[str, discord.Message] = OrderedDict()

    def start_from(self, event_id: str, message: discord.Message) -> None:
        """The chain of the question ``event_id`` begins at ``message``'s reference."""
        self._starts[event_id] = message
        self._starts.move_to_end(event_id)
        while len(self._starts) > _REMEMBERED:
            self._starts.popitem(last=False)

    async def earlier(self, message: IncomingMessage, limit: int) -> list[EarlierMessage]:
        client = self._client()
        if client is None or client.user is None or limit <= 0:
            return []
        try:
            start = self._starts.pop(message.event_id, None) or await _fetch_question(client, message)
        except _FAILURES as exc:
            log.warning("discord event %s: could not read the question's message (%s); answering "
                        "without its reply chain", message.event_id, exc)
            return []
        if start is None:
            return []
        chain = await _chain(start, limit)
        # Every author first: a mention of someone who speaks later in the chain reads
        # as the same name as their messages.
        names: dict[int, str] = {}
        for replied in chain:
            if replied.author.id not in names:
                names[replied.author.id] = await _member_name(replied)
        earlier = [_earlier(m, client.user.id, names) for m in chain]
        return [e for e in earlier if e.text or e.files]


async def _fetch_question(client: discord.Client, message: IncomingMessage) -> discord.Message | None:
    conversation = message.conversation
    # A channel with its server, so that the messages read from it know their server too.
    channel = client.get_channel(int(conversation.channel)) or client.get_partial_messageable(
        int(conversation.channel), guild_id=int(conversation.workspace) if conversation.workspace else None)
    try:
        return await channel.fetch_message(int(message.event_id))
    except (discord.NotFound, ValueError):
        return None  # not a message (a message command's interaction), or deleted


async def _chain(start: discord.Message, limit: int) -> list[discord.Message]:
    """The messages ``start`` replies to, oldest first: at most ``limit`` fetched."""
    found: list[discord.Message] = []
    message = start
    while len(found) < limit and (reference := _replied(message)) is not None:
        try:
            replied = await _resolve(message.channel, reference)
        except _FAILURES as exc:
            # What was found is still worth more than nothing.
            log.warning("discord: stopped following a reply chain at message %s: %s", reference.message_id, exc)
            break
        if replied is None:
            break  # deleted
        found.append(replied)
        message = replied
    found.reverse()
    return found


def _replied(message: discord.Message) -> discord.MessageReference | None:
    """The reference of a reply; None for no reference, or a forward (not part of a talk)."""
    reference = message.reference
    if reference is None or reference.message_id is None:
        return None
    if getattr(reference, "type", discord.MessageReferenceType.reply) != discord.MessageReferenceType.reply:
        return None
    return reference


async def _resolve(channel: Any, reference: discord.MessageReference) -> discord.Message | None:
    # The gateway sends the first replied message with the reply; further ones are fetched.
    known = reference.resolved if isinstance(reference.resolved, discord.Message) else reference.cached_message
    if known is not None:
        return known
    if isinstance(reference.resolved, discord.DeletedReferencedMessage):
        return None
    try:
        # A reply is in its message's channel (a forward, elsewhere, is not followed).
        return await channel.fetch_message(reference.message_id)  # type: ignore[arg-type]
    except discord.NotFound:
        return None


def _earlier(message: discord.Message, bot_id: int, names: dict[int, str]) -> EarlierMessage:
    author = message.author
    return EarlierMessage(
        author_id=str(author.id),
        author_name=names[author.id],
        text=readable_mentions(message.content or "", message, names).strip(),
        from_bot=author.id == bot_id,
        event_id=str(message.id),
        files=files_of(message),
    )


async def _member_name(message: discord.Message) -> str:
    """The author's name in the server: a fetched message carries no member data, and
    without the members intent the cache knows few members, so ask once per author."""
    author: Any = message.author
    guild = message.guild
    if guild is None or isinstance(author, discord.Member) or message.webhook_id is not None:
        return author.display_name
    member = guild.get_member(author.id)
    if member is None:
        try:
            member = await guild.fetch_member(author.id)
        except _FAILURES:
            return author.display_name  # left the server, or the request failed
    return member.display_name
