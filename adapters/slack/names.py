"""People's names on Slack, for the model: who asked, who said what in a thread, who is
mentioned.

Slack events carry user ids (``U123``) and mentions as ``<@U123>``; the model should
read "Ada Lovelace" and "@Ada Lovelace". ``SlackNames`` looks names up with
``users.info`` (scope ``users:read``, already needed for admins) and keeps them in a
bounded cache (least recently used go first; an hour at most, so a renamed person is
renamed here too). One instance serves the question's path (``named``, the pipeline's
``prepare``) and the thread's (``SlackThreadSource``), so each person costs one call.

A lookup that fails or is slow leaves the id: a name is never worth failing an answer.

The answer is never turned back into mentions: the model writes "@Ada Lovelace" as
text, and Slack shows it as text. Turning names back into ``<@U123>`` would let the
model (or whoever steers it) ping people, and a name two people share would ping the
wrong one; being safe by default costs only a plain name.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from slack_sdk.web.async_client import AsyncWebClient

from core.store.caches import MISSING, LruCache
from core.types import IncomingMessage

__all__ = ["SlackNames", "NAMES_CACHED", "NAME_SECONDS"]

log = logging.getLogger(__name__)

# People whose names are held; past this the least recently seen are asked again.
NAMES_CACHED = 10_000
# How long a name is trusted.
NAME_SECONDS = 3600.0
# One ``users.info`` may take this long before the id is used instead: the answer waits.
_LOOKUP_TIMEOUT = 2.0
# Distinct people looked up for one text; more mentions than this keep their ids.
_MENTIONS_LOOKED_UP = 20
# ``<@U123>``, ``<@U123|ada>``; ``<!here>``, ``<!channel>``, ``<!subteam^S1|@team>``;
# ``<#C123|general>``.
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_SPECIAL_MENTION = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>|<!subteam\^[A-Z0-9]+\|(@?[^>]+)>")
_CHANNEL_MENTION = re.compile(r"<#[CG][A-Z0-9]+\|([^>]+)>")


class SlackNames:
    __slots__ = ("_client", "_cache", "_ttl", "_clock", "_pending")

    def __init__(
        self, client: AsyncWebClient, *, size: int = NAMES_CACHED, ttl: float = NAME_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._cache: LruCache[str, tuple[float, str]] = LruCache(size)
        self._ttl = ttl
        self._clock = clock
        # Lookups under way, so that people asked for at once are asked Slack once.
        self._pending: dict[str, asyncio.Future[str]] = {}

    async def named(self, message: IncomingMessage) -> IncomingMessage:
        """``message`` with its author's name and the people it mentions by name."""
        name, text = await asyncio.gather(self.display_name(message.user_id), self.readable(message.text))
        if name == message.user_name and text == message.text:
            return message
        return replace(message, user_name=name, text=text)

    async def display_name(self, user_id: str) -> str:
        """The name Slack shows for ``user_id`` (its id when not known)."""
        if not _is_user_id(user_id):
            return user_id  # a bot id (B…): users.info does not know it
        cached = self._cache.get(user_id)
        if cached is not MISSING and cached[0] > self._clock():
            return cached[1]
        pending = self._pending.get(user_id)
        if pending is None:
            pending = asyncio.ensure_future(self._look_up(user_id))
            self._pending[user_id] = pending
            pending.add_done_callback(lambda _: self._pending.pop(user_id, None))
        return await asyncio.shield(pending)

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """The names of several people, looked up at once."""
        unique = list(dict.fromkeys(user_ids))
        found = await asyncio.gather(*(self.display_name(user) for user in unique))
        return dict(zip(unique, found))

    async def readable(self, text: str) -> str:
        """``text`` with Slack's mention markup as people read it: ``<@U123>`` →
        "@Ada Lovelace", ``<!here>`` → "@here", ``<#C1|general>`` → "#general"."""
        if "<" not in text:
            return text
        ids = list(dict.fromkeys(_USER_MENTION.findall(text)))[:_MENTIONS_LOOKED_UP]
        names = await self.names(ids) if ids else {}
        text = _USER_MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
        text = _SPECIAL_MENTION.sub(lambda m: "@" + m.group(1) if m.group(1) else "@" + m.group(2).lstrip("@"), text)
        return _CHANNEL_MENTION.sub(lambda m: "#" + m.group(1), text)

    async def _look_up(self, user_id: str) -> str:
        try:
            async with asyncio.timeout(_LOOKUP_TIMEOUT):
                response = await self._client.users_info(user=user_id)
        except Exception as exc:  # noqa: BLE001 - see the module docstring; not cached, so asked again
            log.warning("could not look up the name of %s: %r", user_id, exc)
            return user_id
        name = _name_of(response.get("user"))
        if not name:
            return user_id
        self._cache.put(user_id, (self._clock() + self._ttl, name))
        return name


def _name_of(user: object) -> str:
    """Slack's order: the display name people chose, else their full name, else the handle."""
    if not isinstance(user, dict):
        return ""
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    for value in (profile.get("display_name"), profile.get("real_name"), user.get("real_name"), user.get("name")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _is_user_id(user_id: str) -> bool:
    return len(user_id) > 1 and user_id[0] in "UW" and user_id.isalnum()
