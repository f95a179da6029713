"""Authorising Bolt's requests with one ``auth.test`` for the app's lifetime.

Bolt's built-in single-workspace authorisation calls ``auth.test`` on every request
until the first call returns, so a cold burst of 200 events made 200 calls (and slowed
every ack). This asks once, under a lock, and reuses the answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["OnceAuthorize"]


class OnceAuthorize(AsyncAuthorize):
    def __init__(self, client: AsyncWebClient) -> None:
        super().__init__()
        self._client = client
        self._lock = asyncio.Lock()
        self._result: AuthorizeResult | None = None

    async def identity(self) -> AuthorizeResult:
        """The bot's identity from ``auth.test`` (raises ``SlackApiError`` if refused)."""
        async with self._lock:
            if self._result is None:
                response = await self._client.auth_test()
                self._result = AuthorizeResult.from_auth_test_response(
                    bot_token=self._client.token, auth_test_response=response
                )
            return self._result

    async def __call__(self, **_: Any) -> AuthorizeResult:
        return await self.identity()
