"""``SlackAdapter``: Socket Mode when an app token is configured, else HTTP routes."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.common.pipeline import AnswerPipeline
from adapters.common.tasks import TaskSet
from adapters.slack.app import build_app, web_client
from adapters.slack.assistant import persona_lookup
from adapters.slack.config import SlackConfig
from adapters.slack.errors import retry_after, slack_error
from adapters.slack.files import SlackFiles
from adapters.slack.http_guard import acknowledged, checked_request
from adapters.slack.names import SlackNames
from adapters.slack.replies import SlackRenderers
from adapters.slack.thread_context import SlackThreadSource
from core.engine import Engine
from core.errors import ConfigurationError

__all__ = ["API_CONNECTIONS", "EVENTS_PATH", "SlackAdapter"]

log = logging.getLogger(__name__)

# Events, slash commands and interactivity all arrive here in HTTP mode.
EVENTS_PATH = "/slack/events"
# slack_sdk's own default per Web API call.
_API_TIMEOUT = 30
# Web API calls are short, so beyond this many at once a call waits for a kept-alive
# connection rather than opening one. A burst of answers would otherwise open a
# connection per answer: on loopback that is a third more CPU per call, and against
# slack.com a TLS handshake each (milliseconds of CPU), far above Slack's rate limits.
API_CONNECTIONS = 64


class SlackAdapter:
    name = "slack"

    def __init__(self, config: SlackConfig, engine: Engine) -> None:
        self._config = config
        self._tasks = TaskSet()  # inline commands; answers are the pipeline's
        self._client = web_client(config)
        renderers = SlackRenderers.of(self._client, config, persona_lookup(engine))
        # Files shared with a question, fetched with the bot token when it is answered.
        self._files = SlackFiles(config.bot_token, config.api_url)
        # People's names for their ids, for the question (``prepare``) and its thread.
        self.names = SlackNames(self._client)
        # The thread a question comes in, read once: the bot's ids come from the same
        # ``auth.test`` as the app's (``self._authorize``, set just below).
        thread = SlackThreadSource(self._client, self.names, lambda: self._authorize.identity())
        self.pipeline = AnswerPipeline(
            engine, "slack", renderers, files=self._files, thread=thread, prepare=self.names.named,
            access=config.access)
        built = build_app(config, engine, self._client, self.pipeline, self._tasks)
        self.app = built.app
        self._authorize = built.authorize
        self._socket: AsyncSocketModeHandler | None = None
        self._draining = False

    @property
    def client(self) -> AsyncWebClient:
        """The Web API client answers are posted with (pooled once started)."""
        return self._client

    @property
    def connected(self) -> bool:
        """Started and not stopping; in Socket Mode, its WebSocket open as well (the SDK
        reconnects on its own: until it has, no event can come)."""
        if self._draining or self._client.session is None:
            return False
        if not self._config.socket_mode:
            return True  # events come to the HTTP route
        client = self._socket.client if self._socket is not None else None
        session = client.current_session if client is not None else None
        return client is not None and not client.closed and not client.stale and session is not None and not session.closed

    def routes(self) -> list[web.RouteDef]:
        """The routes to serve on the shared HTTP server; none in Socket Mode."""
        if self._config.socket_mode:
            return []
        return [web.post(EVENTS_PATH, self._serve_events)]

    async def _serve_events(self, request: web.Request) -> web.StreamResponse:
        if self._draining:
            # Shutting down: Slack retries the event later (or on another replica).
            return web.Response(status=503, text="shutting down")
        return await self.handle_http(request)

    async def handle_http(self, request: web.Request) -> web.Response:
        # Checked before Bolt sees it: Bolt parses a body before it verifies the
        # signature, and answers junk with a 500 and a traceback (http_guard.py).
        checked = await checked_request(request, self._config.signing_secret)
        if isinstance(checked, web.Response):
            return checked
        response = await self.app.async_dispatch(checked)
        return await to_aiohttp_response(acknowledged(checked, response))

    async def start(self) -> None:
        if self._client.session is None or self._client.session.closed:
            # One pooled session: without it slack_sdk opens a connection per call.
            self._client.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=API_CONNECTIONS), timeout=aiohttp.ClientTimeout(total=_API_TIMEOUT)
            )
        try:
            identity = await self._check_token()
            log.info("Slack: connected as %s in %s", identity.bot_user_id, identity.team_id)
            if self._config.socket_mode and self._socket is None:
                url = await self._socket_url()
                self._socket = AsyncSocketModeHandler(self.app, self._config.app_token)
                # Already issued, so the SDK does not ask again (None after a 429: it does).
                self._socket.client.wss_uri = url
                await self._socket.connect_async()
            self.pipeline.start()
        except BaseException:
            # A refused token ends the adapter, not the bot: leave no session open behind.
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop taking events (HTTP: 503; Socket Mode: disconnect), let the answers in
        flight finish within the grace period, leave the rest to the next start."""
        self._draining = True
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close_async()
        await self.pipeline.drain(self._config.shutdown_grace)
        await self._tasks.aclose()
        # After the drain: answers still writing may be downloading. Closing twice
        # (a refused start, then stop) is harmless.
        await self._files.aclose()
        session, self._client.session = self._client.session, None
        if session is not None:
            await session.close()

    async def _check_token(self) -> AuthorizeResult:
        try:
            return await self._authorize.identity()
        except SlackApiError as exc:
            raise ConfigurationError(
                f"SLACK_BOT_TOKEN was refused by Slack ({slack_error(exc)}); "
                "set it to the app's Bot User OAuth Token (xoxb-…)"
            ) from None

    async def _socket_url(self) -> str | None:
        """A WebSocket URL from ``apps.connections.open``, or None if rate limited.

        slack_sdk retries a refused app token forever, so ``start()`` would never return
        (and the runner would wait on it with every other platform); asked here first, a
        refusal is a plain configuration error. A 429 is left to the SDK, which waits it out.
        """
        try:
            response = await self._client.apps_connections_open(app_token=self._config.app_token)
        except SlackApiError as exc:
            if retry_after(exc) is not None:
                return None
            raise ConfigurationError(
                f"SLACK_APP_TOKEN was refused by Slack ({slack_error(exc)}); "
                "set it to an app-level token (xapp-…) with the connections:write scope"
            ) from None
        return str(response["url"])
