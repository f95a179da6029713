"""A stateful fake Slack Web API on loopback, and a sender of signed Slack requests.

``FakeSlackAPI`` serves the Web API methods chatwright uses on 127.0.0.1 at a free port,
keeps the messages it was sent (so ``conversations.replies`` shows them), records every
call, and fails on demand::

    async with FakeSlackAPI(admins={"UADMIN"}) as slack:
        slack.fail("chat.update", times=2, status=429, retry_after=1)
        ...                                    # point SLACK_API_URL at slack.base_url
        await slack.wait_for(lambda: slack.thread("C1", "1.0001"), timeout=5)

It serves uploaded files too, at the ``url_private_download`` of the Slack file object
``add_file`` returns, to the bot token only; ``files_read = False`` answers like Slack
does for a token without the ``files:read`` scope (its HTML sign-in page). Each download
is recorded in ``downloads`` with the bytes actually sent::

    file = slack.add_file("big.bin", size=50 * 1024 * 1024)   # made as it is sent
    await stack.send({**mention("look", ts), "files": [file]})

``SignedSender`` posts Events API and slash-command requests with valid (or, on
request, forged or stale) ``v0`` signatures into a running HTTP endpoint.
Tests wait on state through ``wait_for``, never on sleeps.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web

from tests.fakes.loopback import LoopbackServer

__all__ = ["Call", "Download", "Failure", "FakeSlackAPI", "SignedSender", "SentRequest", "sign"]

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "test-signing-secret"


@dataclass(frozen=True)
class Call:
    """One Web API call as received."""

    method: str
    params: dict[str, Any]
    at: float
    peer: Any = None  # the caller's (host, port): one per connection


@dataclass
class Failure:
    status: int = 429
    retry_after: float = 1.0
    error: str = "ratelimited"


@dataclass
class Download:
    """One request for a file: what was answered, and how much of the body went out."""

    file_id: str
    status: int
    authorized: bool
    bytes_sent: int = 0
    complete: bool = False  # the whole body was sent
    done: bool = False  # answered: whole, or the bot hung up


@dataclass
class _File:
    id: str
    name: str
    mimetype: str
    data: bytes | None  # None: ``size`` filler bytes, made while sending
    size: int
    content_length: bool  # send Content-Length (else the body is chunked)


# The page Slack serves for a file to a token without files:read (status 200).
SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"
_CHUNK = 64 * 1024


@dataclass
class _Message:
    channel: str
    ts: str
    text: str
    user: str
    thread_ts: str | None = None
    streaming: bool = False
    history: list[str] = field(default_factory=list)
    # Block Kit blocks, when the message was posted or updated with some (None: text only).
    blocks: list[dict[str, Any]] | None = None
    # Seeded messages (``add_message``): their files, another bot's id, a subtype.
    files: list[dict[str, Any]] | None = None
    bot_id: str | None = None
    subtype: str | None = None


class FakeSlackAPI(LoopbackServer):
    """The fake Web API. ``calls`` holds every call; ``messages`` every message posted."""

    def __init__(
        self,
        *,
        team_id: str = "T1",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        admins: set[str] | frozenset[str] = frozenset(),
        owners: set[str] | frozenset[str] = frozenset(),
        token: str = BOT_TOKEN,
    ) -> None:
        super().__init__()
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.admins = set(admins)
        self.owners = set(owners)
        self.token = token
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], _Message] = {}
        self.reactions: set[tuple[str, str, str]] = set()
        self.statuses: list[dict[str, Any]] = []
        # ``users.info`` profiles by user id (``display_name``, ``real_name``); without one
        # a user is known only by the handle ``u1`` for ``U1``.
        self.profiles: dict[str, dict[str, Any]] = {}
        # assistant.threads.setSuggestedPrompts calls, and chat.postEphemeral messages, as sent.
        self.suggested_prompts: list[dict[str, Any]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self._failures: dict[str, list[Failure]] = {}
        self._ts = itertools.count(1)
        self.files: dict[str, _File] = {}
        self.downloads: list[Download] = []
        # False: the token lacks files:read, and files are answered with the sign-in page.
        self.files_read = True
        self._file_ids = itertools.count(1)

    # -- test controls ---------------------------------------------------------------------
    def fail(self, method: str, times: int = 1, status: int = 429, retry_after: float = 1.0, error: str = "ratelimited") -> None:
        """The next ``times`` calls of ``method`` fail (429 sends ``Retry-After``)."""
        self._failures.setdefault(method, []).extend(Failure(status, retry_after, error) for _ in range(times))

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def thread(self, channel: str, thread_ts: str) -> list[_Message]:
        """Messages in a thread (the parent excluded), oldest first."""
        found = [m for m in self.messages.values() if m.channel == channel and m.thread_ts == thread_ts]
        return sorted(found, key=lambda m: float(m.ts))

    def channel(self, channel: str) -> list[_Message]:
        """Top-level messages of a channel, oldest first."""
        found = [m for m in self.messages.values() if m.channel == channel and not m.thread_ts]
        return sorted(found, key=lambda m: float(m.ts))

    def bot_texts(self, channel: str, thread_ts: str | None = None) -> list[str]:
        messages = self.thread(channel, thread_ts) if thread_ts else self.channel(channel)
        return [m.text for m in messages if m.user == self.bot_user_id]

    def new_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def add_file(
        self,
        name: str,
        data: bytes | None = None,
        mimetype: str = "application/octet-stream",
        *,
        size: int | None = None,
        declared_size: int | None = None,
        content_length: bool = True,
    ) -> dict[str, Any]:
        """Host a file; its Slack file object, to put in an event's ``files``.

        ``data=None`` serves ``size`` bytes made while sending (a 50 MB file costs no
        memory). ``declared_size`` is the size the file object claims (default: the
        real one); ``content_length=False`` sends the body chunked, with no length.
        """
        assert self.port, "start the fake before adding files: their URLs carry its port"
        real_size = len(data) if data is not None else (size or 0)
        file = _File(f"F{next(self._file_ids):08d}", name, mimetype, data, real_size, content_length)
        self.files[file.id] = file
        url = f"http://127.0.0.1:{self.port}/files-pri/{self.team_id}-{file.id}/download/{name}"
        return {
            "id": file.id, "name": name, "title": name, "mimetype": mimetype,
            "filetype": name.rpartition(".")[2], "size": real_size if declared_size is None else declared_size,
            "mode": "hosted", "is_external": False, "file_access": "visible",
            "url_private": url.replace("/download/", "/"), "url_private_download": url,
        }

    def downloads_of(self, file: dict[str, Any]) -> list[Download]:
        return [d for d in self.downloads if d.file_id == file["id"]]

    # -- lifecycle ---------------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._dispatch)
        # slack_sdk reads some methods (users.info, conversations.*) with GET.
        app.router.add_get("/api/{method}", self._dispatch)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._download)
        return app

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # -- the API -------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.calls.append(Call(method, params, time.monotonic(), peer))
        try:
            return self._respond(request, method, params)
        finally:
            await self.changed()

    def _respond(self, request: web.Request, method: str, params: dict[str, Any]) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}" and params.get("token") != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        failures = self._failures.get(method)
        if failures:
            return _failure(failures.pop(0))
        handler = _METHODS.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(self, params))

    # -- files ---------------------------------------------------------------------------------
    async def _download(self, request: web.Request) -> web.StreamResponse:
        file = self.files.get(request.match_info["team_file"].rpartition("-")[2])
        authorized = request.headers.get("Authorization") == f"Bearer {self.token}"
        download = Download(file.id if file else "", 200, authorized)
        self.downloads.append(download)
        try:
            if file is None:
                download.status = 404
                return web.Response(status=404, text="file not found")
            if not authorized:
                # Slack sends a request without the token to its sign-in page.
                download.status = 302
                return web.Response(status=302, headers={"Location": "/signin"})
            if not self.files_read:
                return web.Response(body=SIGN_IN_PAGE, content_type="text/html")
            return await self._send_file(request, file, download)
        finally:
            download.done = True
            await self.changed()

    async def _send_file(self, request: web.Request, file: _File, download: Download) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": file.mimetype})
        if file.content_length:
            response.content_length = file.size
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for offset in range(0, file.size, _CHUNK):
                chunk = file.data[offset:offset + _CHUNK] if file.data is not None else _filler(min(_CHUNK, file.size - offset))
                await response.write(chunk)
                download.bytes_sent += len(chunk)
            await response.write_eof()
            download.complete = True
        except (ConnectionError, RuntimeError):
            pass  # the bot stopped reading and closed the connection
        return response

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "chatwright",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id}

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, text = params.get("channel"), params.get("text", "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        message = _Message(channel, self.new_ts(), text, self.bot_user_id, params.get("thread_ts") or None,
                           history=[text], blocks=_blocks(params))
        self.messages[(channel, message.ts)] = message
        return {"ok": True, "channel": channel, "ts": message.ts, "message": _wire(message)}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((params.get("channel", ""), params.get("ts", "")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = params.get("text", "")
        message.history.append(message.text)
        if "blocks" in params:  # Slack keeps a message's blocks unless an update sends new ones
            message.blocks = _blocks(params)
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    def _delete(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.pop((params.get("channel", ""), params.get("ts", "")), None)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _start_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("thread_ts"):
            return {"ok": False, "error": "invalid_arguments"}
        text = params.get("markdown_text", "")
        message = _Message(params["channel"], self.new_ts(), text, self.bot_user_id, params["thread_ts"], True, [text])
        self.messages[(message.channel, message.ts)] = message
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _append_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((params.get("channel", ""), params.get("ts", "")))
        if message is None or not message.streaming:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        message.text += params.get("markdown_text", "")
        message.history.append(message.text)
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _stop_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        result = self._append_stream(params)
        if result["ok"]:
            message = self.messages[(params["channel"], params["ts"])]
            message.streaming = False
            if "blocks" in params:
                message.blocks = _blocks(params)
        return result

    def add_message(
        self, channel: str, text: str, *, user: str = "", thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None, bot_id: str | None = None, subtype: str | None = None,
    ) -> str:
        """Seed a message someone else wrote (a thread the bot has not seen); its ts."""
        ts = self.new_ts()
        self.messages[(channel, ts)] = _Message(channel, ts, text, user, thread_ts, files=files, bot_id=bot_id,
                                                subtype=subtype)
        return ts

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """Like Slack: the parent first, then replies oldest first; ``latest`` (exclusive
        unless ``inclusive``), ``limit`` and ``cursor`` paging honoured."""
        channel, ts = params.get("channel", ""), params.get("ts", "")
        parent = self.messages.get((channel, ts))
        messages = ([parent] if parent else []) + self.thread(channel, ts)
        latest = params.get("latest")
        if latest:
            inclusive = str(params.get("inclusive", "")).lower() in {"1", "true"}
            messages = [m for m in messages if float(m.ts) < float(latest) or (inclusive and m.ts == latest)]
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 1000)
        page = messages[start:start + limit]
        more = start + limit < len(messages)
        return {"ok": True, "messages": [_wire(m) for m in page], "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        messages = self.channel(params.get("channel", ""))[::-1]
        return {"ok": True, "messages": [_wire(m) for m in messages], "has_more": False}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user", "")
        if not user:
            return {"ok": False, "error": "user_not_found"}
        profile = self.profiles.get(user, {})
        return {"ok": True, "user": {"id": user, "team_id": self.team_id, "name": user.lower(), "profile": profile,
                "real_name": profile.get("real_name", ""),
                "is_admin": user in self.admins or user in self.owners, "is_owner": user in self.owners,
                "is_primary_owner": False, "is_bot": False}}

    def _reaction(self, params: dict[str, Any], add: bool) -> dict[str, Any]:
        key = (params.get("channel", ""), params.get("timestamp", ""), params.get("name", ""))
        if (key in self.reactions) == add:
            return {"ok": False, "error": "already_reacted" if add else "no_reaction"}
        (self.reactions.add if add else self.reactions.discard)(key)
        return {"ok": True}

    def _set_status(self, params: dict[str, Any]) -> dict[str, Any]:
        self.statuses.append(params)
        return {"ok": True}

    def _set_suggested_prompts(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel_id") or not isinstance(params.get("prompts"), list):
            return {"ok": False, "error": "invalid_arguments"}
        self.suggested_prompts.append(params)
        return {"ok": True}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel") or not params.get("user"):
            return {"ok": False, "error": "invalid_arguments"}
        self.ephemerals.append(params)
        return {"ok": True, "message_ts": self.new_ts()}


_METHODS: dict[str, Callable[[FakeSlackAPI, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": FakeSlackAPI._auth_test,
    "chat.postMessage": FakeSlackAPI._post_message,
    "chat.update": FakeSlackAPI._update,
    "chat.delete": FakeSlackAPI._delete,
    "chat.startStream": FakeSlackAPI._start_stream,
    "chat.appendStream": FakeSlackAPI._append_stream,
    "chat.stopStream": FakeSlackAPI._stop_stream,
    "conversations.replies": FakeSlackAPI._replies,
    "conversations.history": FakeSlackAPI._history,
    "users.info": FakeSlackAPI._users_info,
    "reactions.add": lambda api, params: api._reaction(params, True),
    "reactions.remove": lambda api, params: api._reaction(params, False),
    "assistant.threads.setStatus": FakeSlackAPI._set_status,
    "assistant.threads.setSuggestedPrompts": FakeSlackAPI._set_suggested_prompts,
    "chat.postEphemeral": FakeSlackAPI._post_ephemeral,
}


def _blocks(params: dict[str, Any]) -> list[dict[str, Any]] | None:
    """``blocks`` as sent: a list in JSON bodies, JSON text in form bodies."""
    blocks = params.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else blocks


async def _params(request: web.Request) -> dict[str, Any]:
    """slack_sdk sends JSON for some methods and form data for others; accept both."""
    body = await request.text()
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json" and body:
        params.update(json.loads(body))
    elif body:
        params.update(parse_qsl(body, keep_blank_values=True))
    return params


def _filler(size: int) -> bytes:
    return b"chatwright " * (size // 11) + b"x" * (size % 11)


def _failure(failure: Failure) -> web.Response:
    headers = {"Retry-After": str(int(failure.retry_after)) if failure.retry_after == int(failure.retry_after) else str(failure.retry_after)}
    return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)


def _wire(message: _Message) -> dict[str, Any]:
    wire = {"type": "message", "ts": message.ts, "text": message.text, "user": message.user}
    if message.thread_ts:
        wire["thread_ts"] = message.thread_ts
    if message.blocks is not None:
        wire["blocks"] = message.blocks
    for name in ("files", "bot_id", "subtype"):
        if getattr(message, name) is not None:
            wire[name] = getattr(message, name)
    return wire


# -- signed requests into the app --------------------------------------------------------------
def sign(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SentRequest:
    status: int
    body: str
    # Seconds from sending to the complete HTTP response (the ack).
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SignedSender:
    """Sends Events API and slash-command requests signed like Slack signs them."""

    def __init__(self, url: str, secret: str = SIGNING_SECRET, team_id: str = "T1", bot_user_id: str = "UBOT") -> None:
        self.url = url
        self.secret = secret
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> Self:
        # No connection limit: a benchmark burst opens hundreds at once.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def event(self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None,
                    secret: str | None = None, timestamp: float | None = None) -> SentRequest:
        """Send an ``event_callback`` carrying ``event``; ``retry_num`` marks a redelivery."""
        body = json.dumps(self.envelope(event, event_id))
        headers = {"Content-Type": "application/json"}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return await self._send(body, headers, secret, timestamp)

    def envelope(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "legacy-unused", "team_id": self.team_id, "api_app_id": "A1", "type": "event_callback",
            "event": event, "event_id": event_id or f"Ev{next(self._ids):08d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team_id, "user_id": self.bot_user_id, "is_bot": True}],
        }

    async def command(self, command: str, text: str = "", *, user_id: str = "U1", channel_id: str = "C1",
                      secret: str | None = None) -> SentRequest:
        form = {"command": command, "text": text, "user_id": user_id, "user_name": user_id.lower(),
                "channel_id": channel_id, "channel_name": "directmessage" if channel_id.startswith("D") else "general",
                "team_id": self.team_id, "team_domain": "fake", "api_app_id": "A1",
                "response_url": "https://hooks.invalid/commands/1", "trigger_id": "1.2.3"}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return await self._send(urlencode(form), headers, secret, None)

    async def interaction(self, payload: dict[str, Any], *, secret: str | None = None) -> SentRequest:
        """Send an interactivity request (``block_actions``, ``message_action``…) as Slack
        does: a form with the JSON ``payload``."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return await self._send(urlencode({"payload": json.dumps(payload)}), headers, secret, None)

    def block_action(self, action_id: str, value: str, *, channel: str, message_ts: str, user: str = "U1",
                     thread_ts: str | None = None, action_type: str = "feedback_buttons") -> dict[str, Any]:
        """A ``block_actions`` payload: ``user`` clicked ``action_id`` (``value``) on a message."""
        message: dict[str, Any] = {"type": "message", "ts": message_ts, "user": self.bot_user_id}
        if thread_ts:
            message["thread_ts"] = thread_ts
        return {
            "type": "block_actions", "team": {"id": self.team_id, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id},
            "api_app_id": "A1", "token": "legacy-unused", "trigger_id": f"{next(self._ids)}.1.abc",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
            "channel": {"id": channel, "name": "general"}, "message": message,
            "response_url": "https://hooks.invalid/actions/1",
            "actions": [{"type": action_type, "action_id": action_id, "block_id": "b1", "value": value,
                         "action_ts": f"{time.time():.6f}"}],
        }

    def message_action(
        self, callback_id: str, *, channel: str, message: dict[str, Any], user: str = "U1"
    ) -> dict[str, Any]:
        """A ``message_action`` payload: ``user`` chose shortcut ``callback_id`` on ``message``."""
        return {
            "type": "message_action", "callback_id": callback_id, "trigger_id": f"{next(self._ids)}.1.def",
            "team": {"id": self.team_id, "domain": "fake"}, "channel": {"id": channel, "name": "general"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id},
            "api_app_id": "A1", "token": "legacy-unused", "message_ts": message["ts"], "message": message,
            "response_url": "https://hooks.invalid/actions/2",
        }

    async def _send(self, body: str, headers: dict[str, str], secret: str | None, timestamp: float | None) -> SentRequest:
        assert self._session is not None, "use SignedSender as an async context manager"
        stamp = str(int(timestamp if timestamp is not None else time.time()))
        headers = {**headers, "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": sign(secret or self.secret, stamp, body)}
        started = time.perf_counter()
        async with self._session.post(self.url, data=body.encode(), headers=headers) as response:
            text = await response.text()
        return SentRequest(response.status, text, time.perf_counter() - started)
