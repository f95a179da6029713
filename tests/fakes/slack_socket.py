"""A fake Slack with Socket Mode: the Web API of ``FakeSlackAPI`` plus the WebSocket.

One loopback server answers both halves, as Slack does for a Socket Mode app:
``apps.connections.open`` (app-level token only) issues a ``ws://127.0.0.1:PORT/link/``
URL with a ticket; the client opens it and gets ``hello``; the test then pushes
envelopes and reads the acks the client sends back::

    async with FakeSlackSocketMode() as slack:
        ...                                      # start the adapter with SLACK_APP_TOKEN
        envelope_id = await slack.event(mention_event)
        ack = await slack.ack_for(envelope_id)   # {"envelope_id": ...[, "payload": {...}]}
        await slack.wait_for(lambda: slack.closed_sockets)

Shapes follow Slack's Socket Mode docs and slack_sdk's ``SocketModeRequest`` /
``SocketModeResponse``. Tests wait on state through ``wait_for``, never on sleeps.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.slack_api import Failure, FakeSlackAPI

__all__ = ["APP_TOKEN", "FakeSlackSocketMode"]

APP_TOKEN = "xapp-1-A1-test-app-token"
_APP_ID = "A1"
_SOCKET_PATH = "/link/"


class FakeSlackSocketMode(FakeSlackAPI):
    """``FakeSlackAPI`` plus Socket Mode.

    ``acks`` maps envelope ids to the ack the client sent; ``closed_sockets`` holds the
    close code of every WebSocket the client closed (or lost); ``sockets_opened`` counts
    connections, so a test can see the client did not reconnect.
    """

    def __init__(self, *, app_token: str = APP_TOKEN, **options: Any) -> None:
        super().__init__(**options)
        self.app_token = app_token
        self.acks: dict[str, dict[str, Any]] = {}
        # Text frames that were not acks (the client should send nothing else).
        self.unexpected: list[str] = []
        self.sockets_opened = 0
        self.closed_sockets: list[int | None] = []
        self._tickets: set[str] = set()
        self._open: list[web.WebSocketResponse] = []
        self._envelope_ids = itertools.count(1)
        self._event_ids = itertools.count(1)

    # -- test controls ---------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return bool(self._open)

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """Push an ``events_api`` envelope carrying ``event``; its envelope id."""
        payload = self._event_callback(event, event_id or f"Ev{next(self._event_ids):08d}")
        # Slack sends the retry fields on every Events API envelope: 0 and "" first time.
        extra = {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
        return await self._push("events_api", payload, accepts_response_payload=False, **extra)

    async def command(self, command: str, text: str = "", *, user_id: str = "U1", channel_id: str = "C1") -> str:
        """Push a ``slash_commands`` envelope; its envelope id."""
        payload = {
            "token": "legacy-unused", "team_id": self.team_id, "team_domain": "fake", "api_app_id": _APP_ID,
            "channel_id": channel_id, "channel_name": "directmessage" if channel_id.startswith("D") else "general",
            "user_id": user_id, "user_name": user_id.lower(), "command": command, "text": text,
            "is_enterprise_install": "false", "response_url": "https://hooks.invalid/commands/1",
            "trigger_id": "1.2.3",
        }
        return await self._push("slash_commands", payload, accepts_response_payload=True)

    async def refresh(self, reason: str = "refresh_requested") -> None:
        """Ask the client to move to a new connection, as Slack does every few hours."""
        socket = await self._newest_socket()
        await socket.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}})

    async def ack_for(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The client's ack of ``envelope_id``, once it arrives."""
        return await self.wait_for(lambda: self.acks.get(envelope_id), timeout)

    # -- lifecycle ---------------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = super().build_app()
        app.router.add_get(_SOCKET_PATH, self._socket)
        return app

    async def before_stop(self) -> None:
        # An open WebSocket would hold the server's shutdown for its whole grace period.
        for socket in list(self._open):
            await socket.close()

    # -- apps.connections.open ----------------------------------------------------------------
    def _respond(self, request: web.Request, method: str, params: dict[str, Any]) -> web.Response:
        if method != "apps.connections.open":
            return super()._respond(request, method, params)
        token = params.get("token") or request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token == self.token:
            # What Slack says when a bot token is used where an app-level token belongs.
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        if token != self.app_token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self._failures.get(method):
            # ``fail("apps.connections.open", …)`` works as for every other method.
            return _failed(self._failures[method].pop(0))
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        url = f"ws://127.0.0.1:{self.port}{_SOCKET_PATH}?ticket={ticket}&app_id={_APP_ID}"
        return web.json_response({"ok": True, "url": url})

    # -- the WebSocket --------------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets_opened += 1
        self._open.append(socket)
        await socket.send_json(_hello())
        await self.changed()
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self._receive(message.data)
                    await self.changed()
        finally:
            self._open.remove(socket)
            self.closed_sockets.append(socket.close_code)
            await self.changed()
        return socket

    def _receive(self, text: str) -> None:
        message = json.loads(text)
        if isinstance(message, dict) and "envelope_id" in message:
            self.acks[message["envelope_id"]] = message
        else:
            self.unexpected.append(text)

    async def _newest_socket(self) -> web.WebSocketResponse:
        # The client may still be between the handshake and our bookkeeping of it.
        return await self.wait_for(lambda: self._open and self._open[-1])

    async def _push(self, kind: str, payload: dict[str, Any], **fields: Any) -> str:
        socket = await self._newest_socket()
        envelope_id = f"{uuid.UUID(int=next(self._envelope_ids))}"
        await socket.send_json({"envelope_id": envelope_id, "type": kind, "payload": payload, **fields})
        return envelope_id

    def _event_callback(self, event: dict[str, Any], event_id: str) -> dict[str, Any]:
        return {
            "token": "legacy-unused", "team_id": self.team_id, "api_app_id": _APP_ID, "type": "event_callback",
            "event": event, "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team_id, "user_id": self.bot_user_id, "is_bot": True}],
            "is_ext_shared_channel": False, "event_context": f"4-{event_id}",
        }


def _failed(failure: Failure) -> web.Response:
    headers = {"Retry-After": f"{failure.retry_after:g}"}
    return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)


def _hello() -> dict[str, Any]:
    return {
        "type": "hello", "num_connections": 1,
        "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
        "connection_info": {"app_id": _APP_ID},
    }
