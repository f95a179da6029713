"""A stateful fake OpenAI-compatible chat API on loopback, for end-to-end tests.

It serves ``POST /v1/chat/completions`` (SSE stream or JSON) and ``GET /v1/models`` on
127.0.0.1 at a free port, records what it receives, and answers each request with the
next scripted reply or, when the script is empty, with ``responder`` (an echo)::

    async with FakeOpenAIServer() as server:
        server.script(Fail(429, headers={"Retry-After": "0"}), Answer("hello"))
        model = OpenAIChatModel(base_url=server.base_url, api_key="test-key")

Replies: ``Answer`` (text, streamed in chunks), ``CallTools`` (tool calls, their
arguments streamed in pieces), ``Fail`` (an HTTP error), ``Malformed`` (a non-JSON data
line), ``CutOff`` (connection closed before ``[DONE]``) and ``Hang`` (no answer until
``stop()``). Waits use asyncio, so requests are served concurrently;
``wait_for(lambda: server.requests)`` wakes when a request arrives. ``requests`` holds
each request's JSON body, so tests can check the ``tools`` offered and the tool
messages sent back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

__all__ = [
    "Answer",
    "CallTools",
    "Fail",
    "Malformed",
    "CutOff",
    "Hang",
    "Reply",
    "FakeOpenAIServer",
    "echo",
]


@dataclass
class Answer:
    """A normal answer."""

    text: str
    delay: float = 0.0  # seconds before the first byte (a slow model)
    chunk_size: int = 8  # characters per SSE chunk
    chunk_delay: float = 0.0  # seconds between chunks (a model that writes slowly)
    usage: tuple[int, int] | None = None  # (prompt, completion); None = about len // 4 + 1


@dataclass
class CallTools:
    """An answer that calls tools; ``calls`` are (id, name, arguments as JSON text).

    Streamed as OpenAI does it: ``text`` first, then each call's first piece (its index,
    id and name), then its arguments ``chunk_size`` characters a piece; the pieces of
    several calls interleave, and the stream ends with finish_reason "tool_calls".
    """

    calls: Sequence[tuple[str, str, str]]
    text: str = ""
    chunk_size: int = 8  # characters of text or arguments per SSE chunk
    usage: tuple[int, int] | None = None  # (prompt, completion); None = about len // 4 + 1


@dataclass
class Fail:
    """An HTTP error response; ``body`` is a JSON error object or raw text."""

    status: int
    body: dict[str, Any] | str = ""
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Retry-After": "1"}


@dataclass
class Malformed:
    """Some valid chunks, then a data line that is not JSON."""

    text_before: str = "partial"


@dataclass
class CutOff:
    """Some valid chunks, then the connection closes without ``[DONE]``."""

    text_before: str = "partial"


@dataclass
class Hang:
    """Never answers (for timeout tests); released when the server stops."""


Reply = Answer | CallTools | Fail | Malformed | CutOff | Hang
# A reply that writes a body of its own (not an HTTP error, not a hang).
_Written = Answer | CallTools | Malformed | CutOff


def echo(body: dict[str, Any]) -> Reply:
    """The default responder: ``echo: <last user message>``."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return Answer(f"echo: {users[-1].get('content', '') if users else ''}")


class FakeOpenAIServer(LoopbackServer):
    """The fake API. ``requests`` and ``headers_seen`` hold one entry per chat request.

    Header names in ``headers_seen`` are lower-cased (``"authorization"``, ``"api-key"``).
    ``api_key=None`` accepts any key or none; otherwise a wrong or missing key gets 401.
    """

    def __init__(
        self, api_key: str | None = "test-key", models: Sequence[str] = ("fake-model",)
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.models = list(models)
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self.responder: Callable[[dict[str, Any]], Reply] = echo
        self._script: deque[Reply] = deque()
        self._stopping = asyncio.Event()

    def script(self, *replies: Reply) -> None:
        """The next requests get these replies in order; then ``responder`` answers again."""
        self._script.extend(replies)

    # -- lifecycle -------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._stopping = asyncio.Event()
        return app

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def before_stop(self) -> None:
        # Releases hanging and delayed handlers, so shutdown does not wait for them.
        self._stopping.set()

    # -- handlers ----------------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers_seen.append({name.lower(): value for name, value in request.headers.items()})
        await self.changed()
        if not self._authorized(request):
            return _unauthorized()
        reply = self._script.popleft() if self._script else self.responder(body)
        if isinstance(reply, Fail):
            return _failure(reply)
        if isinstance(reply, Hang):
            await self._stopping.wait()
            return web.Response(status=503, text="the fake server stopped")
        if body.get("stream"):
            return await self._stream(request, body, reply)
        return await self._json(request, body, reply)

    async def _models(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    def _authorized(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        bearer = request.headers.get("Authorization") == f"Bearer {self.api_key}"
        return bearer or request.headers.get("api-key") == self.api_key

    async def _pause(self, seconds: float) -> None:
        # An asyncio wait, not a sleep in a thread: concurrent requests overlap, and
        # stop() cuts the wait short.
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._stopping.wait()

    # -- streaming answers -----------------------------------------------------------------

    async def _stream(
        self, request: web.Request, body: dict[str, Any], reply: _Written
    ) -> web.StreamResponse:
        if isinstance(reply, Answer):
            await self._pause(reply.delay)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        text = reply.text if isinstance(reply, Answer | CallTools) else reply.text_before
        size = reply.chunk_size if isinstance(reply, Answer | CallTools) else 8
        await _send(response, _chunk({"role": "assistant", "content": ""}))
        for start in range(0, len(text), max(1, size)):
            if start and isinstance(reply, Answer):
                await self._pause(reply.chunk_delay)
            await _send(response, _chunk({"content": text[start : start + size]}))
        if isinstance(reply, CallTools):
            for piece in _tool_call_pieces(reply):
                await _send(response, _chunk({"tool_calls": [piece]}))
        if isinstance(reply, CutOff):
            return _cut_off(request, response)
        if isinstance(reply, Malformed):
            await response.write(b'data: {"choices": [{"delta": {"content": "bro\n\n')
        else:
            await self._finish_stream(response, body, reply)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _finish_stream(
        self, response: web.StreamResponse, body: dict[str, Any], reply: Answer | CallTools
    ) -> None:
        finish = "tool_calls" if isinstance(reply, CallTools) else "stop"
        await _send(response, _chunk({}, finish_reason=finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = _usage(body, reply)
            await _send(response, _chunk({}) | {"choices": [], "usage": usage})

    # -- non-streaming answers --------------------------------------------------------------

    async def _json(
        self, request: web.Request, body: dict[str, Any], reply: _Written
    ) -> web.StreamResponse:
        if isinstance(reply, Malformed):
            return web.Response(text="this is not JSON", content_type="application/json")
        if isinstance(reply, CutOff):
            response = web.StreamResponse(headers={"Content-Length": "1000"})
            await response.prepare(request)
            await response.write(b'{"choices": [')
            return _cut_off(request, response)
        if isinstance(reply, Answer):
            await self._pause(reply.delay)
        return web.json_response(_completion(body, reply))


def _cut_off(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    # Closing the transport (after flushing what was written) ends the body before its
    # end: the client sees an incomplete chunked (or short) body, as when a proxy dies.
    assert request.transport is not None
    request.transport.close()
    return response


async def _send(response: web.StreamResponse, payload: dict[str, Any]) -> None:
    await response.write(f"data: {json.dumps(payload)}\n\n".encode())


def _chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    # With include_usage, OpenAI sends "usage": null on every chunk but the last.
    return {
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
        "model": "fake-model", "choices": [choice], "usage": None,
    }


def _tool_call_pieces(reply: CallTools) -> Iterator[dict[str, Any]]:
    """The ``delta.tool_calls`` pieces of the calls, the calls' pieces taken in turn."""
    size = max(1, reply.chunk_size)
    per_call = []
    for index, (call_id, name, arguments) in enumerate(reply.calls):
        first = {"index": index, "id": call_id, "type": "function",
                 "function": {"name": name, "arguments": ""}}
        rest = [{"index": index, "function": {"arguments": arguments[start : start + size]}}
                for start in range(0, len(arguments), size)]
        per_call.append([first, *rest])
    for pieces in itertools.zip_longest(*per_call):
        yield from (piece for piece in pieces if piece is not None)


def _usage(body: dict[str, Any], reply: Answer | CallTools) -> dict[str, int]:
    if reply.usage is not None:
        prompt, completion = reply.usage
    else:
        chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
        written = len(reply.text)
        if isinstance(reply, CallTools):
            written += sum(len(arguments) for _, _, arguments in reply.calls)
        prompt, completion = chars // 4 + 1, written // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _completion(body: dict[str, Any], reply: Answer | CallTools) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    finish = "stop"
    if isinstance(reply, CallTools):
        message["content"] = reply.text or None
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            for call_id, name, arguments in reply.calls
        ]
        finish = "tool_calls"
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
        "model": body.get("model", "fake-model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(body, reply),
    }


def _failure(reply: Fail) -> web.Response:
    if isinstance(reply.body, dict):
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)
    return web.Response(status=reply.status, text=reply.body, headers=reply.headers)


def _unauthorized() -> web.Response:
    error = {
        "message": "Incorrect API key provided.", "type": "invalid_request_error",
        "param": None, "code": "invalid_api_key",
    }
    return web.json_response({"error": error}, status=401)
