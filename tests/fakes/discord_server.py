"""A stateful fake Discord REST API and gateway on loopback, for end-to-end tests.

It listens on 127.0.0.1 at a free port and plays Discord closely enough for the real
discord.py client: ``GET /users/@me`` and ``/oauth2/applications/@me`` for login, the
gateway handshake (HELLO, IDENTIFY, READY, heartbeat ACK, then GUILD_CREATE of one guild),
message create/edit, typing, command sync, interaction callbacks and follow-up webhooks,
and the files people attach, as Discord's CDN would (``add_attachment``)::

    async with FakeDiscord() as discord:
        settings = Settings(discord_token=discord.token, discord_api_url=discord.api_url,
                            discord_gateway_url=discord.gateway_url)
        ...
        discord.send_message(GENERAL, MEMBER, "<@1000> hi", mentions=[BOT])
        await discord.wait_for(lambda: discord.bot_messages(GENERAL))

        log = discord.add_attachment("app.log", b"disk full", "text/plain")
        discord.send_message(DM_CHANNEL, MEMBER, "why?", attachments=(log,))
        await discord.wait_for(lambda: discord.files_served == ["app.log"])

Earlier talk the bot was not sent (said before it joined, or not addressed to it) is put
in with ``add_history`` and read back with ``GET /channels/…/messages/…``; a member's
server nickname with ``GET /guilds/…/members/…``. The "Ask chatwright" message command is
used with ``send_message_command``::

    asked = discord.add_history(GENERAL, ADMIN, "<@1000> the deploy failed", mentions=[BOT])
    discord.send_message(GENERAL, MEMBER, "<@1000> why?", mentions=(BOT,), reply_to=asked)
    discord.send_message_command(GENERAL, MEMBER, target=asked)

Like Discord without the privileged ``message_content`` intent, message content (and with
it the attachments) is sent only in DMs and in messages that mention the bot (read back
by REST too, except the bot's own), and in an interaction's target message. Tests wait
on state with ``wait_for`` (an ``asyncio.Condition`` notified on every change), never
with sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web

from tests.fakes.loopback import LoopbackServer

__all__ = [
    "FakeDiscord",
    "FakeUser",
    "Recorded",
    "SentMessage",
    "BOT",
    "ADMIN",
    "MEMBER",
    "OTHER_BOT",
    "CAROL",
    "GUILD_ID",
    "GENERAL",
    "THREAD",
    "DM_CHANNEL",
    "MANAGE_GUILD",
]

_API_PREFIX = "/api/v10"
_MESSAGE_CONTENT_INTENT = 1 << 15
_PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | _MESSAGE_CONTENT_INTENT
_EPHEMERAL = 1 << 6
_EVERYONE_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 16)  # view, send, read history
MANAGE_GUILD = 1 << 5
_BODY = web.RequestKey("body", object)

GUILD_ID = 500
GENERAL = 600  # a text channel
THREAD = 601  # a public thread inside GENERAL
DM_CHANNEL = 700
_ADMIN_ROLE = 510


@dataclass(frozen=True)
class FakeUser:
    id: int
    name: str
    bot: bool = False
    roles: tuple[int, ...] = ()
    nick: str | None = None  # a server nickname

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "username": self.name, "discriminator": "0",
                "avatar": None, "global_name": self.name, "bot": self.bot}

    def member(self) -> dict[str, Any]:
        return {"user": self.payload(), "roles": [str(r) for r in self.roles], "flags": 0,
                "joined_at": "2024-01-01T00:00:00+00:00", "deaf": False, "mute": False, "nick": self.nick}


BOT = FakeUser(1000, "chatwright", bot=True)
ADMIN = FakeUser(2001, "alice-admin", roles=(_ADMIN_ROLE,))
MEMBER = FakeUser(2002, "bob-member")
OTHER_BOT = FakeUser(3001, "other-bot", bot=True)
# A member the guild's first GUILD_CREATE does not list: the bot learns her nickname by asking.
CAROL = FakeUser(2003, "carol", nick="Carol (ops)")
_MEMBERS = {u.id: u for u in (BOT, ADMIN, MEMBER, OTHER_BOT, CAROL)}


@dataclass
class Recorded:
    """One REST request: method, path below ``/api/v10``, JSON body, when it arrived."""

    method: str
    path: str
    body: Any
    at: float


@dataclass
class SentMessage:
    """A message the bot posted (in a channel or as an interaction follow-up)."""

    id: int
    channel_id: int
    content: str
    flags: int = 0
    reference: int | None = None
    edits: list[str] = field(default_factory=list)
    payloads: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & _EPHEMERAL)


class FakeDiscord(LoopbackServer):
    """The fake. Attributes hold what the client did; methods make Discord do things."""

    def __init__(self, token: str = "fake-bot-token") -> None:
        super().__init__()
        self.token = token
        self.requests: list[Recorded] = []
        self.identifies: list[dict[str, Any]] = []
        self.messages: dict[int, SentMessage] = {}
        self.callbacks: list[dict[str, Any]] = []
        self.synced_commands: list[dict[str, Any]] = []  # every command, context menus too
        self.typing: list[int] = []
        self.heartbeats = 0
        self.typing_forbidden = False  # answer POST /typing with 403
        self.withhold_ready = False  # accept IDENTIFY but never send READY
        self._withheld: list[tuple[web.WebSocketResponse, list[int]]] = []  # until release_ready()
        self._user_messages: dict[int, dict[str, Any]] = {}
        self._dispatched: dict[int, dict[str, Any]] = {}
        self._interactions: dict[int, dict[str, Any]] = {}  # message commands, for replays
        self._ids = itertools.count(10_000)
        self._seq = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._edit_limits: list[tuple[float, bool]] = []
        self._send_failures: list[int | None] = []
        self._files: dict[str, tuple[str, bytes, str]] = {}  # id → (filename, data, content type)
        self.files_served: list[str] = []  # filenames of the attachments fetched, in order
        self.bytes_served = 0  # of attachments

    # -- lifecycle -------------------------------------------------------------------------
    shutdown_timeout = 0.5

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{id}/{filename}", self._attachment)
        app.router.add_route("*", _API_PREFIX + "/{path:.*}", self._rest)
        return app

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{_API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def before_stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    # -- what tests wait on and read -------------------------------------------------------
    def bot_messages(self, channel_id: int) -> list[SentMessage]:
        return [m for m in self.messages.values() if m.channel_id == channel_id]

    def rest(self, method: str, path_part: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    @property
    def intents(self) -> int | None:
        return self.identifies[-1]["intents"] if self.identifies else None

    # -- making Discord do things ----------------------------------------------------------
    def rate_limit_edits(self, count: int, retry_after: float, via_header: bool = True) -> None:
        """Answer the next ``count`` message edits with 429 and ``retry_after`` seconds.

        Real Discord sends a ``Via`` header, so discord.py waits and retries by itself;
        without it discord.py takes the 429 for Cloudflare's and raises it at once.
        """
        self._edit_limits.extend([(retry_after, via_header)] * count)

    def fail_sends(self, count: int, *, after: int = 0, status: int = 503) -> None:
        """Let ``after`` more messages be created, then fail the next ``count`` with
        ``status`` (503: discord.py raises it at once rather than retrying itself)."""
        self._send_failures.extend([None] * after + [status] * count)

    def send_message(
        self,
        channel_id: int,
        author: FakeUser,
        content: str,
        *,
        mentions: tuple[FakeUser, ...] = (),
        reply_to: int | None = None,
        type_: int = 0,
        attachments: tuple[dict[str, Any], ...] = (),
    ) -> int:
        """Dispatch MESSAGE_CREATE as Discord would to a bot without message_content.

        ``attachments``: payloads from ``add_attachment``.
        """
        message = self._user_message(channel_id, author, content, mentions, reply_to, type_)
        message["attachments"] = list(attachments)
        message = self._visible(message)
        self._dispatched[int(message["id"])] = message
        self.dispatch("MESSAGE_CREATE", message)
        return int(message["id"])

    def add_attachment(
        self, filename: str, data: bytes, content_type: str | None = None, *,
        size: int | None = None, host: str = "127.0.0.1",
    ) -> dict[str, Any]:
        """A file on the fake's CDN, and the attachment payload for ``send_message``.

        ``size`` is what the payload declares (default: the true size); ``host`` names
        the URL's host (another name for loopback makes a URL off the file hosts that
        would still reach this fake).
        """
        attachment_id = str(next(self._ids))
        self._files[attachment_id] = (filename, data, content_type or "application/octet-stream")
        url = f"http://{host}:{self.port}/attachments/{attachment_id}/{quote(filename)}?ex=1&is=1&hm=fake"
        payload: dict[str, Any] = {"id": attachment_id, "filename": filename,
                                   "size": len(data) if size is None else size, "url": url, "proxy_url": url}
        if content_type is not None:
            payload["content_type"] = content_type
        return payload

    async def release_ready(self) -> None:
        """Stop withholding READY, and send it (and GUILD_CREATE) to the sessions that waited."""
        self.withhold_ready = False
        withheld, self._withheld = self._withheld, []
        for ws, shard in withheld:
            await ws.send_json({"op": 0, "t": "READY", "s": next(self._seq), "d": self._ready(shard)})
            await ws.send_json({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq), "d": _guild()})

    def add_history(
        self, channel_id: int, author: FakeUser, content: str, *,
        mentions: tuple[FakeUser, ...] = (), reply_to: int | None = None,
        attachments: tuple[dict[str, Any], ...] = (),
    ) -> int:
        """A message said earlier and not sent to the bot; it can fetch it. Returns its id."""
        message = self._user_message(channel_id, author, content, mentions, reply_to, 0)
        message["attachments"] = list(attachments)
        return int(message["id"])

    def send_message_command(
        self, channel_id: int, user: FakeUser, target: int, name: str = "Ask chatwright"
    ) -> int:
        """Dispatch INTERACTION_CREATE for a message command (type 3) on message ``target``;
        the target comes whole, content included, as Discord sends it. Returns the
        interaction id."""
        interaction_id = next(self._ids)
        payload = self._interaction(interaction_id, channel_id, user, name, [])
        message = self._user_messages.get(target) or self._bot_message_payload(self.messages[target])
        payload["data"] = {"id": str(next(self._ids)), "name": name, "type": 3, "target_id": str(target),
                           "resolved": {"messages": {str(target): message}}}
        self._interactions[interaction_id] = payload
        self.dispatch("INTERACTION_CREATE", payload)
        return interaction_id

    def replay_interaction(self, interaction_id: int) -> None:
        """Dispatch the same INTERACTION_CREATE again, as after a gateway resume."""
        self.dispatch("INTERACTION_CREATE", self._interactions[interaction_id])

    def interaction_responses(self, interaction_id: int) -> list[Recorded]:
        """The callback and webhook requests made for one interaction, in order."""
        token = f"itoken-{interaction_id}"
        return [r for r in self.requests if token in r.path]

    def replay_message(self, message_id: int) -> None:
        """Dispatch the same MESSAGE_CREATE again, as after a gateway resume."""
        self.dispatch("MESSAGE_CREATE", self._dispatched[message_id])

    def send_command(
        self, channel_id: int, user: FakeUser, name: str, options: list[dict[str, Any]] | None = None
    ) -> int:
        """Dispatch INTERACTION_CREATE for a slash command; returns the interaction id."""
        interaction_id = next(self._ids)
        self.dispatch("INTERACTION_CREATE", self._interaction(interaction_id, channel_id, user, name, options or []))
        return interaction_id

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        payload = {"op": 0, "t": event, "s": next(self._seq), "d": data}
        for ws in self._sockets:
            asyncio.get_running_loop().create_task(ws.send_json(payload))

    # -- gateway ---------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45_000}})
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                break
            await self._on_gateway_frame(ws, json.loads(frame.data))
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws

    async def _on_gateway_frame(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        if frame["op"] == 1:
            self.heartbeats += 1
            await ws.send_json({"op": 11})
        elif frame["op"] == 2:
            await self._identify(ws, frame["d"])
        await self._notify()

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        if data["intents"] & _PRIVILEGED_INTENTS:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self._sockets.append(ws)
        if self.withhold_ready:
            self._withheld.append((ws, data.get("shard", [0, 1])))
            return
        shard = data.get("shard", [0, 1])
        await ws.send_json({"op": 0, "t": "READY", "s": next(self._seq), "d": self._ready(shard)})
        await ws.send_json({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq), "d": _guild()})

    def _ready(self, shard: list[int]) -> dict[str, Any]:
        return {
            "v": 10, "user": BOT.payload(), "session_id": "fake-session", "shard": shard,
            "resume_gateway_url": self.gateway_url, "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "application": {"id": str(BOT.id), "flags": 0},
        }

    # -- the CDN ---------------------------------------------------------------------------
    async def _attachment(self, request: web.Request) -> web.Response:
        found = self._files.get(request.match_info["id"])
        if found is None:
            return web.Response(status=404, text="This content is no longer available.")
        filename, data, content_type = found
        self.files_served.append(filename)
        self.bytes_served += len(data)
        await self._notify()
        return web.Response(body=data, headers={"Content-Type": content_type})

    # -- REST ------------------------------------------------------------------------------
    @web.middleware
    async def _record(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if request.path.startswith(_API_PREFIX):
            body = await request.json() if request.can_read_body else None
            path = request.path[len(_API_PREFIX):]
            request[_BODY] = body
            self.requests.append(Recorded(request.method, path, body, time.monotonic()))
        return await handler(request)

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        parts = request.path[len(_API_PREFIX):].strip("/").split("/")
        # Interaction callbacks and webhooks authenticate by the token in their URL.
        by_url = parts[0] in ("interactions", "webhooks")
        if not by_url and request.headers.get("Authorization") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        response = self._route(request.method, parts, request[_BODY] or {})
        await self._notify()
        return response

    def _route(self, method: str, parts: list[str], body: Any) -> web.Response:
        for (route_method, pattern), handler in _ROUTES.items():
            if route_method == method and _matches(pattern, parts):
                return handler(self, parts, body)
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    def _users_me(self, parts: list[str], body: Any) -> web.Response:
        return _json(BOT.payload())

    def _application(self, parts: list[str], body: Any) -> web.Response:
        return _json({
            "id": str(BOT.id), "name": BOT.name, "description": "", "icon": None, "bot_public": True,
            "bot_require_code_grant": False, "owner": ADMIN.payload(), "verify_key": "0" * 64, "flags": 0,
        })

    def _gateway_bot(self, parts: list[str], body: Any) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    def _create_message(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        failure = self._send_failures.pop(0) if self._send_failures else None
        if failure is not None:
            return _json({"message": "Service Unavailable", "code": 0}, status=failure)
        channel_id = int(parts[1])
        reference = (body.get("message_reference") or {}).get("message_id")
        sent = self._record_sent(channel_id, body, int(reference) if reference else None)
        return _json(self._bot_message_payload(sent))

    def _edit_message(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        if self._edit_limits:
            retry_after, via = self._edit_limits.pop(0)
            headers = {"Retry-After": str(retry_after)}
            if via:
                headers["Via"] = "1.1 google"
            data = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
            return _json(data, status=429, headers=headers)
        sent = self.messages[int(parts[3])]
        sent.payloads.append(body)
        if "content" in body:
            sent.content = body["content"]
            sent.edits.append(body["content"])
        return _json(self._bot_message_payload(sent))

    def _get_message(self, parts: list[str], body: Any) -> web.Response:
        message_id = int(parts[3])
        if message_id in self.messages:
            return _json(self._bot_message_payload(self.messages[message_id]))
        message = self._user_messages.get(message_id)
        if message is None or message["channel_id"] != parts[1]:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json(_without_member(self._visible(message)))

    def _get_member(self, parts: list[str], body: Any) -> web.Response:
        user = _MEMBERS.get(int(parts[3]))
        if user is None:
            return _json({"message": "Unknown Member", "code": 10007}, status=404)
        return _json(user.member())

    def _typing(self, parts: list[str], body: Any) -> web.Response:
        self.typing.append(int(parts[1]))
        if self.typing_forbidden:
            return _json({"message": "Missing Permissions", "code": 50013}, status=403)
        return web.Response(status=204)

    def _sync_commands(self, parts: list[str], body: list[dict[str, Any]]) -> web.Response:
        self.synced_commands = body
        created = [
            # Discord answers a context menu (sent without one) with an empty description.
            {"id": str(next(self._ids)), "application_id": str(BOT.id), "version": "1", "type": 1,
             "description": "", **c}
            for c in body
        ]
        return _json(created)

    def _callback(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        self.callbacks.append(body)
        data = body.get("data") or {}
        interaction: dict[str, Any] = {"id": parts[1], "type": 2,
                                       "response_message_loading": body["type"] == 5,
                                       "response_message_ephemeral": bool(data.get("flags", 0) & _EPHEMERAL)}
        resource: dict[str, Any] = {"type": body["type"]}
        if body["type"] == 4:
            sent = self._record_sent(0, data, None)
            interaction["response_message_id"] = str(sent.id)
            resource["message"] = self._bot_message_payload(sent)
        return _json({"interaction": interaction, "resource": resource})

    def _followup(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        sent = self._record_sent(0, body, None)
        return _json(self._bot_message_payload(sent))

    def _edit_original(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        sent = self._record_sent(0, body, None)
        return _json(self._bot_message_payload(sent))

    # -- payloads --------------------------------------------------------------------------
    def _record_sent(self, channel_id: int, body: dict[str, Any], reference: int | None) -> SentMessage:
        sent = SentMessage(next(self._ids), channel_id, body.get("content") or "",
                           body.get("flags") or 0, reference, payloads=[body])
        self.messages[sent.id] = sent
        return sent

    def _bot_message_payload(self, sent: SentMessage) -> dict[str, Any]:
        message = _message(sent.id, sent.channel_id or GENERAL, BOT, sent.content, flags=sent.flags)
        if sent.reference is not None:
            message["message_reference"] = {"message_id": str(sent.reference),
                                            "channel_id": str(sent.channel_id or GENERAL)}
        return message

    def _user_message(
        self, channel_id: int, author: FakeUser, content: str,
        mentions: tuple[FakeUser, ...], reply_to: int | None, type_: int,
    ) -> dict[str, Any]:
        message = _message(next(self._ids), channel_id, author, content, mentions=mentions, type_=type_)
        if reply_to is not None:
            message["type"] = 19
            message["message_reference"] = {"message_id": str(reply_to), "channel_id": str(channel_id)}
            message["referenced_message"] = self._referenced(reply_to)
        self._user_messages[int(message["id"])] = message
        return message

    def _referenced(self, message_id: int) -> dict[str, Any] | None:
        if message_id in self.messages:
            return self._bot_message_payload(self.messages[message_id])
        return self._user_messages.get(message_id)

    def _interaction(
        self, interaction_id: int, channel_id: int, user: FakeUser, name: str, options: list[dict[str, Any]]
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(BOT.id), "type": 2, "version": 1,
            "token": f"itoken-{interaction_id}", "locale": "en-US", "attachment_size_limit": 8_388_608,
            "app_permissions": str(_EVERYONE_PERMISSIONS), "entitlements": [],
            "data": {"id": str(next(self._ids)), "name": name, "type": 1, "options": options},
            "channel_id": str(channel_id), "channel": _channel_payload(channel_id),
        }
        if channel_id == DM_CHANNEL:
            payload["user"] = user.payload()
            payload["context"] = 1
        else:
            payload["guild_id"] = str(GUILD_ID)
            payload["context"] = 0
            permissions = _EVERYONE_PERMISSIONS | (MANAGE_GUILD if _ADMIN_ROLE in user.roles else 0)
            payload["member"] = {**user.member(), "permissions": str(permissions)}
        return payload

    def _visible(self, message: dict[str, Any]) -> dict[str, Any]:
        """``message`` as a bot without the message_content intent receives it."""
        replied = message.get("referenced_message")
        if replied:
            message = {**message, "referenced_message": self._visible(replied)}
        in_dm = message["channel_id"] == str(DM_CHANNEL)
        mentioned = any(u["id"] == str(BOT.id) for u in message["mentions"])
        own = message["author"]["id"] == str(BOT.id)
        if in_dm or mentioned or own or (self.intents or 0) & _MESSAGE_CONTENT_INTENT:
            return message
        return {**message, "content": "", "attachments": []}

    async def _notify(self) -> None:
        await self.changed()


_ROUTES: dict[tuple[str, tuple[str, ...]], Callable[[FakeDiscord, list[str], Any], web.Response]] = {
    ("GET", ("users", "@me")): FakeDiscord._users_me,
    ("GET", ("oauth2", "applications", "@me")): FakeDiscord._application,
    ("GET", ("applications", "@me")): FakeDiscord._application,
    ("GET", ("gateway", "bot")): FakeDiscord._gateway_bot,
    ("POST", ("channels", "*", "messages")): FakeDiscord._create_message,
    ("PATCH", ("channels", "*", "messages", "*")): FakeDiscord._edit_message,
    ("POST", ("channels", "*", "typing")): FakeDiscord._typing,
    ("GET", ("channels", "*", "messages", "*")): FakeDiscord._get_message,
    ("GET", ("guilds", "*", "members", "*")): FakeDiscord._get_member,
    ("PUT", ("applications", "*", "commands")): FakeDiscord._sync_commands,
    ("PUT", ("applications", "*", "guilds", "*", "commands")): FakeDiscord._sync_commands,
    ("POST", ("interactions", "*", "*", "callback")): FakeDiscord._callback,
    ("POST", ("webhooks", "*", "*")): FakeDiscord._followup,
    ("PATCH", ("webhooks", "*", "*", "messages", "@original")): FakeDiscord._edit_original,
    ("PATCH", ("webhooks", "*", "*", "messages", "*")): FakeDiscord._edit_original,
}


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly application/json.
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


def _without_member(message: dict[str, Any]) -> dict[str, Any]:
    """A message as REST returns it: without the member data the gateway adds."""
    rest = {k: v for k, v in message.items() if k != "member"}
    if rest.get("referenced_message"):
        rest["referenced_message"] = _without_member(rest["referenced_message"])
    return rest


def _matches(pattern: tuple[str, ...], parts: list[str]) -> bool:
    return len(pattern) == len(parts) and all(p in ("*", part) for p, part in zip(pattern, parts))


def _message(
    message_id: int, channel_id: int, author: FakeUser, content: str, *,
    mentions: tuple[FakeUser, ...] = (), type_: int = 0, flags: int = 0,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": str(message_id), "channel_id": str(channel_id), "author": author.payload(),
        "content": content, "type": type_, "timestamp": "2024-01-01T00:00:00+00:00",
        "edited_timestamp": None, "tts": False, "mention_everyone": False, "pinned": False,
        "mentions": [u.payload() for u in mentions], "mention_roles": [], "attachments": [],
        "embeds": [], "flags": flags,
    }
    if channel_id != DM_CHANNEL:
        message["guild_id"] = str(GUILD_ID)
        message["member"] = {k: v for k, v in author.member().items() if k != "user"}
    return message


def _channel_payload(channel_id: int) -> dict[str, Any]:
    if channel_id == DM_CHANNEL:
        return {"id": str(DM_CHANNEL), "type": 1, "recipients": [MEMBER.payload()]}
    if channel_id == THREAD:
        return {"id": str(THREAD), "type": 11, "name": "a-thread", "guild_id": str(GUILD_ID),
                "parent_id": str(GENERAL), "owner_id": str(MEMBER.id), "message_count": 0,
                "member_count": 1, "thread_metadata": {
                    "archived": False, "auto_archive_duration": 1440, "locked": False,
                    "archive_timestamp": "2024-01-01T00:00:00+00:00"}}
    return {"id": str(channel_id), "type": 0, "name": "general", "position": 0,
            "guild_id": str(GUILD_ID), "permission_overwrites": [], "nsfw": False}


def _guild() -> dict[str, Any]:
    everyone = {"id": str(GUILD_ID), "name": "@everyone", "permissions": str(_EVERYONE_PERMISSIONS), "position": 0}
    admins = {"id": str(_ADMIN_ROLE), "name": "admins", "permissions": str(MANAGE_GUILD), "position": 1}
    return {
        "id": str(GUILD_ID), "name": "Fake Guild", "owner_id": str(OTHER_BOT.id), "unavailable": False,
        "member_count": 4, "large": False, "features": [], "emojis": [], "stickers": [],
        "roles": [everyone, admins], "channels": [_channel_payload(GENERAL)],
        "threads": [_channel_payload(THREAD)],
        "members": [u.member() for u in (BOT, ADMIN, MEMBER, OTHER_BOT)],
        "voice_states": [], "presences": [],
    }
