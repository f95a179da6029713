"""``SlackAdapter``: Socket Mode when an app token is configured, else HTTP routes."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from adapters.slack.app import build_app
from adapters.slack.config import SlackConfig
from adapters.slack.errors import slack_error
from adapters.slack.tasks import TaskSet
from core.engine import Engine
from core.errors import ConfigurationError

__all__ = ["EVENTS_PATH", "SlackAdapter"]

log = logging.getLogger(__name__)

# Events, slash commands and interactivity all arrive here in HTTP mode.
EVENTS_PATH = "/slack/events"


class SlackAdapter:
    name = "slack"

    def __init__(self, config: SlackConfig, engine: Engine) -> None:
        self._config = config
        self._tasks = TaskSet()
        self.app: AsyncApp = build_app(config, engine, self._tasks)
        self._socket: AsyncSocketModeHandler | None = None

    def routes(self) -> list[web.RouteDef]:
        """The routes to serve on the shared HTTP server; none in Socket Mode."""
        if self._config.socket_mode:
            return []
        return [web.post(EVENTS_PATH, self.handle_http)]

    async def handle_http(self, request: web.Request) -> web.Response:
        # Bolt verifies the signature and timestamp, acks, and runs listeners after.
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def start(self) -> None:
        identity = await self._check_token()
        log.info("Slack: connected as %s in %s", identity.get("user_id"), identity.get("team_id"))
        if self._config.socket_mode and self._socket is None:
            self._socket = AsyncSocketModeHandler(self.app, self._config.app_token)
            await self._socket.connect_async()

    async def stop(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close_async()
        await self._tasks.close()

    async def join(self) -> None:
        """Wait until the answers in progress are done (for tests and benchmarks)."""
        await self._tasks.join()

    @property
    def busy(self) -> int:
        return len(self._tasks)

    async def _check_token(self) -> dict[str, str]:
        try:
            response = await self.app.client.auth_test()
        except SlackApiError as exc:
            raise ConfigurationError(
                f"SLACK_BOT_TOKEN was refused by Slack ({slack_error(exc)}); "
                "set it to the app's Bot User OAuth Token (xoxb-…)"
            ) from None
        return dict(response.data)  # type: ignore[arg-type]
