"""Who is an admin on Slack: workspace admins and owners (``users.info``), cached
briefly, plus the ids listed in ``ADMIN_USER_IDS``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import slack_error

__all__ = ["AdminDirectory"]

log = logging.getLogger(__name__)

_ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")


class AdminDirectory:
    __slots__ = ("_client", "_listed", "_ttl", "_timeout", "_clock", "_cache")

    def __init__(
        self,
        client: AsyncWebClient,
        listed: frozenset[str],
        ttl: float = 60.0,
        timeout: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._listed = listed
        self._ttl = ttl
        # Slash commands must be acknowledged within 3 s, so a slow lookup gives up.
        self._timeout = timeout
        self._clock = clock
        self._cache: dict[str, tuple[float, bool]] = {}

    async def is_admin(self, user_id: str) -> bool:
        if user_id in self._listed:
            return True
        cached = self._cache.get(user_id)
        if cached and cached[0] > self._clock():
            return cached[1]
        admin = await self._lookup(user_id)
        if admin is not None:
            self._cache[user_id] = (self._clock() + self._ttl, admin)
        return bool(admin)

    async def _lookup(self, user_id: str) -> bool | None:
        """The user's admin flags; None when Slack could not say (not cached, so retried)."""
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, slack_error(exc))
            return None
        except TimeoutError:
            log.warning("users.info for %s took over %s s; treating as not an admin", user_id, self._timeout)
            return None
        user = response.get("user") or {}
        return any(bool(user.get(flag)) for flag in _ADMIN_FLAGS)
