"""``SlackThreadSource``: what was said in a Slack thread before the bot was asked there.

The engine asks it once per conversation, when the conversation has no turns yet
(``core/thread_turns.py``). It reads ``conversations.replies`` (scopes
``channels:history``, ``groups:history``, ``im:history``, ``mpim:history``: one for each
kind of conversation it can read), a page at a time, and keeps the newest ``limit``
messages written before the question.

No call is made when there can be nothing before the question: outside a thread, in a
DM, or when the question is the message that opens the thread (a top-level mention).

What becomes of each message:
- people's messages (and other bots'): the author's display name (``SlackNames``),
  the text with mentions as names, the files as ``FileRef``s (read by the engine);
- the bot's own messages: ``from_bot`` (stored as the assistant's turns);
- joins, topic changes, edits and other events of the thread: left out.

Slack failing (a missing scope, a rate limit, a timeout) leaves the question without
its thread, and a warning in the log: an answer without the context beats none.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import slack_error
from adapters.slack.events import file_refs, message_ts
from adapters.slack.names import SlackNames
from core.threads import EarlierMessage
from core.types import IncomingMessage

__all__ = ["SlackThreadSource", "PAGE_SIZE", "MAX_PAGES"]

log = logging.getLogger(__name__)

# Messages asked for a page (Slack's recommended most is 200).
PAGE_SIZE = 200
# Pages read at most: a thread is read from its start, so a thread longer than this
# many pages is seen only as far as they reach (10 pages: 2,000 replies).
MAX_PAGES = 10
# Reading the whole thread may take this long; after it, the question goes on without.
READ_TIMEOUT = 15.0
# Subtypes that are someone saying something; everything else (channel_join,
# message_changed, tombstones, …) is not part of the conversation.
_SAID_SUBTYPES = frozenset({"", "file_share", "thread_broadcast", "bot_message", "me_message"})


class SlackThreadSource:
    """The Slack adapter's ``ThreadSource``."""

    __slots__ = ("_client", "_names", "_identity", "_page_size", "_max_pages")

    def __init__(
        self,
        client: AsyncWebClient,
        names: SlackNames,
        identity: Callable[[], Awaitable[AuthorizeResult]],
        *,
        page_size: int = PAGE_SIZE,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self._client = client
        self._names = names
        self._identity = identity  # the bot's ids, to know its own messages
        self._page_size = page_size
        self._max_pages = max_pages

    async def earlier(self, message: IncomingMessage, limit: int) -> list[EarlierMessage]:
        conversation = message.conversation
        before = message_ts(message)
        if message.is_dm or not conversation.thread or limit <= 0 or before == conversation.thread:
            return []
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                raw = await self._read(conversation.channel, conversation.thread, before, limit)
                identity = await self._identity()
                return await self._earlier(raw, identity)
        except SlackApiError as exc:
            log.warning("could not read the thread %s in %s: %s", conversation.thread, conversation.channel,
                        slack_error(exc))
        except TimeoutError:
            log.warning("reading the thread %s in %s took over %s s; answering without it",
                        conversation.thread, conversation.channel, READ_TIMEOUT)
        except Exception:  # noqa: BLE001 - see the module docstring
            log.exception("could not read the thread %s in %s", conversation.thread, conversation.channel)
        return []

    async def _read(self, channel: str, thread: str, before: str, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` messages of the thread before ``before`` ("": all), oldest first."""
        kept: deque[dict[str, Any]] = deque(maxlen=limit)
        cursor: str | None = None
        for _ in range(self._max_pages):
            response = await self._client.conversations_replies(
                channel=channel, ts=thread, limit=self._page_size, cursor=cursor,
                latest=before or None, inclusive=False,
            )
            for entry in response.get("messages") or ():
                # ``latest`` is Slack's bound; checked here too, as the question is never context.
                if isinstance(entry, dict) and isinstance(entry.get("ts"), str) and _before(entry["ts"], before):
                    kept.append(entry)
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return list(kept)

    async def _earlier(self, raw: list[dict[str, Any]], identity: AuthorizeResult) -> list[EarlierMessage]:
        said = [entry for entry in raw if (entry.get("subtype") or "") in _SAID_SUBTYPES]
        people = [entry["user"] for entry in said if isinstance(entry.get("user"), str)]
        names = await self._names.names(people)
        texts = await asyncio.gather(*(self._names.readable(_text(entry)) for entry in said))
        return [
            _earlier_message(entry, text, names, identity)
            for entry, text in zip(said, texts)
        ]


def _earlier_message(
    entry: dict[str, Any], text: str, names: dict[str, str], identity: AuthorizeResult
) -> EarlierMessage:
    user = entry.get("user") if isinstance(entry.get("user"), str) else ""
    bot_id = entry.get("bot_id") if isinstance(entry.get("bot_id"), str) else ""
    own = bool((user and user == identity.bot_user_id) or (bot_id and bot_id == identity.bot_id))
    author = user or bot_id
    name = names.get(user) if user else _bot_name(entry)
    return EarlierMessage(
        author_id=author,
        author_name=name or author,
        text=text,
        from_bot=own,
        event_id=str(entry.get("ts") or ""),
        files=() if own else file_refs(entry.get("files")),
    )


def _text(entry: dict[str, Any]) -> str:
    text = entry.get("text")
    return text if isinstance(text, str) else ""


def _bot_name(entry: dict[str, Any]) -> str:
    """Another bot's name, as its message carries it (``users.info`` does not know bots)."""
    profile = entry.get("bot_profile")
    name = profile.get("name") if isinstance(profile, dict) else None
    name = name or entry.get("username")
    return name if isinstance(name, str) else ""


def _before(ts: str, bound: str) -> bool:
    return not bound or _ts_key(ts) < _ts_key(bound)


def _ts_key(ts: str) -> tuple[int, int]:
    """A Slack ts ("1700000000.000123") in its order; floats would lose the last digits."""
    seconds, _, fraction = ts.partition(".")
    try:
        return int(seconds), int(fraction.ljust(6, "0")[:6])
    except ValueError:
        return (0, 0)
