"""``AiohttpTransport``: the real chat client over aiohttp, against ``FakeOpenAIServer``.

The chat client's policy (retries, timeouts, errors) is httpx's and core's; these tests
pin that it works the same when aiohttp moves the bytes.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web

from bots.aiohttp_transport import AiohttpTransport, _translated
from core.errors import MalformedResponseError, ModelUnavailableError
from core.model.openai import OpenAIChatModel
from core.model.retry import RetryPolicy
from core.types import ChatMessage, ChatParams, Usage
from tests.fakes.loopback import LoopbackServer
from tests.fakes.openai_server import Answer, CutOff, Fail, FakeOpenAIServer, Hang
from tests.fakes.sleep import RecordedSleep

pytestmark = pytest.mark.e2e

MESSAGES = [ChatMessage("user", "ping")]
PARAMS = ChatParams("fake-model")


@asynccontextmanager
async def chat_model(base_url: str, sleep: RecordedSleep | None = None, **options: Any) -> AsyncIterator[OpenAIChatModel]:
    retry = RetryPolicy(max_attempts=options.pop("max_attempts", 2), base_delay=0.01, deadline=5.0,
                        sleep=sleep or RecordedSleep())
    client = httpx.AsyncClient(transport=AiohttpTransport())
    options = {"base_url": base_url, "api_key": "test-key", "retry": retry, "client": client} | options
    async with client, OpenAIChatModel(**options) as model:
        yield model


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as running:
        yield running


async def collect(model: OpenAIChatModel) -> list[str | Usage]:
    return [item async for item in model.stream(MESSAGES, PARAMS)]


async def test_streaming_answer_arrives_with_usage_and_the_key(server):
    server.script(Answer("Hello there, world!", chunk_size=5, usage=(11, 7)))
    async with chat_model(server.base_url) as model:
        items = await collect(model)
    assert "".join(items[:-1]) == "Hello there, world!" and items[-1] == Usage(11, 7)
    assert server.requests[0]["messages"] == [{"role": "user", "content": "ping"}]
    assert server.headers_seen[0]["authorization"] == "Bearer test-key"


async def test_429_is_retried_after_its_retry_after(server):
    sleep = RecordedSleep()
    server.script(Fail(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}), Answer("finally"))
    async with chat_model(server.base_url, sleep) as model:
        assert (await collect(model))[0] == "finally"
    assert sleep.waits == [1.0]


async def test_hanging_server_is_a_read_timeout(server):
    server.responder = lambda body: Hang()
    async with chat_model(server.base_url, timeout=0.2) as model:
        with pytest.raises(ModelUnavailableError, match="ReadTimeout"):
            await collect(model)
    assert len(server.requests) == 2  # retried, as a timeout is worth another try


async def test_cut_off_stream_is_never_a_quiet_half_answer(server):
    server.script(CutOff("the first half of"))
    seen: list[str | Usage] = []
    async with chat_model(server.base_url) as model:
        with pytest.raises(MalformedResponseError, match="cut off"):
            async for item in model.stream(MESSAGES, PARAMS):
                seen.append(item)
    assert "".join(str(item) for item in seen) == "the first half of"


async def test_unreachable_server_is_a_connect_error():
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with chat_model(f"http://127.0.0.1:{port}/v1") as model:
        with pytest.raises(ModelUnavailableError, match="ConnectError"):
            await collect(model)


async def test_query_parameters_and_azure_key_reach_the_server(server):
    server.script(Answer("all at once", usage=(9, 3)))
    async with chat_model(server.base_url, api_type="azure") as model:
        assert await model.complete(MESSAGES, PARAMS) == ("all at once", Usage(9, 3))
    assert server.headers_seen[0]["api-key"] == "test-key"


async def test_a_stream_left_early_frees_its_connection_for_the_next_request(server):
    server.script(Answer("one two three four", chunk_size=4))
    async with chat_model(server.base_url) as model:
        async for _ in model.stream(MESSAGES, PARAMS):
            break
        items = await collect(model)
    assert "".join(items[:-1]) == "echo: ping" and items[-1] == Usage(2, 3)


async def test_the_environments_proxy_is_used_unless_no_proxy_lists_the_host(server, monkeypatch):
    # The fake answers whatever URL it is asked for, as a forwarding proxy would.
    for name in ("http_proxy", "NO_PROXY", "no_proxy"):  # lower case would win over ours
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    async with chat_model("http://chat.invalid/v1") as model:
        assert "".join(i for i in await collect(model) if isinstance(i, str)) == "echo: ping"
    monkeypatch.setenv("NO_PROXY", "chat.invalid")
    async with chat_model("http://chat.invalid/v1", max_attempts=1) as model:
        with pytest.raises(ModelUnavailableError, match="ConnectError"):
            await collect(model)


class _GzipModels(LoopbackServer):
    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        return app

    async def _models(self, request: web.Request) -> web.Response:
        body = gzip.compress(json.dumps({"data": [{"id": "zipped-model"}]}).encode())
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})


async def test_compressed_response_is_decoded_once():
    async with _GzipModels() as zipped, chat_model(f"http://127.0.0.1:{zipped.port}/v1") as model:
        assert await model.list_models() == ["zipped-model"]


async def test_closing_twice_is_harmless_and_a_closed_transport_says_so():
    transport = AiohttpTransport()
    await transport.aclose()
    await transport.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:1/"))


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("incomplete"), httpx.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
        (aiohttp.NonHttpUrlClientError("ftp://x"), httpx.UnsupportedProtocol),
        (aiohttp.ClientError("other"), httpx.TransportError),
    ],
)
def test_aiohttp_failures_become_the_httpx_errors_the_client_expects(failure, expected):
    translated = _translated(failure, httpx.Request("POST", "http://127.0.0.1/v1/chat/completions"))
    assert type(translated) is expected


async def test_many_answers_stream_at_once(server):
    server.responder = lambda body: Answer("slow", delay=0.3)
    async with chat_model(server.base_url) as model:
        answers = await asyncio.gather(*(collect(model) for _ in range(50)))
    assert all(answer[0] == "slow" for answer in answers)
