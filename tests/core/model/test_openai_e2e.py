"""The real ``OpenAIChatModel`` and httpx stack against ``FakeOpenAIServer`` on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from core.errors import (
    AuthenticationError,
    ChatModelError,
    MalformedResponseError,
    ModelUnavailableError,
)
from core.model.openai import OpenAIChatModel
from core.model.retry import RetryPolicy
from core.types import ChatMessage, ChatParams, Usage
from tests.fakes.openai_server import (
    Answer,
    CutOff,
    Fail,
    FakeOpenAIServer,
    Hang,
    Malformed,
)
from tests.fakes.sleep import RecordedSleep

pytestmark = pytest.mark.e2e

MESSAGES = [ChatMessage("system", "be brief"), ChatMessage("user", "ping")]
PARAMS = ChatParams("fake-model")


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(models=["fake-model", "fake-large"]) as running:
        yield running


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


def make_model(server: FakeOpenAIServer, sleep: RecordedSleep, **options: Any) -> OpenAIChatModel:
    retry = RetryPolicy(
        max_attempts=options.pop("max_attempts", 3), base_delay=0.01, max_delay=0.05,
        deadline=5.0, sleep=sleep,
    )
    options = {"base_url": server.base_url, "api_key": "test-key", "retry": retry} | options
    return OpenAIChatModel(**options)


@pytest.fixture
async def model(server: FakeOpenAIServer, sleep: RecordedSleep) -> AsyncIterator[OpenAIChatModel]:
    async with make_model(server, sleep) as client:
        yield client


async def collect(model: OpenAIChatModel) -> list[str | Usage]:
    return [item async for item in model.stream(MESSAGES, PARAMS)]


async def answer_text(model: OpenAIChatModel) -> str:
    return "".join(item for item in await collect(model) if isinstance(item, str))


async def test_streaming_answer_with_usage(
    server: FakeOpenAIServer, model: OpenAIChatModel
) -> None:
    server.script(Answer("Hello there, world!", chunk_size=5, usage=(11, 7)))
    items = await collect(model)
    # Deltas follow the reads (events that arrive together come as one).
    assert "".join(items[:-1]) == "Hello there, world!" and all(items[:-1])
    assert items[-1] == Usage(11, 7)
    assert server.requests[0]["stream"] is True
    assert server.requests[0]["stream_options"] == {"include_usage": True}
    assert server.headers_seen[0]["authorization"] == "Bearer test-key"


async def test_default_responder_echoes_with_estimated_usage(
    server: FakeOpenAIServer, model: OpenAIChatModel
) -> None:
    items = await collect(model)
    assert "".join(i for i in items if isinstance(i, str)) == "echo: ping"
    # (8 + 4) // 4 + 1 prompt tokens; len("echo: ping") // 4 + 1 completion tokens.
    assert items[-1] == Usage(4, 3)


async def test_429_with_retry_after_then_success(
    server: FakeOpenAIServer, model: OpenAIChatModel, sleep: RecordedSleep
) -> None:
    busy = {"error": {"message": "Rate limit reached", "type": "requests", "code": None}}
    server.script(Fail(429, busy, {"Retry-After": "1"}), Answer("finally"))
    assert await collect(model) == ["finally", Usage(4, 2)]
    assert sleep.waits == [1.0] and len(server.requests) == 2


async def test_500_then_success(
    server: FakeOpenAIServer, model: OpenAIChatModel, sleep: RecordedSleep
) -> None:
    server.script(Fail(500, "Internal Server Error"), Answer("recovered"))
    assert await answer_text(model) == "recovered"
    assert len(sleep.waits) == 1 and 0 <= sleep.waits[0] <= 0.01


async def test_persistent_500_is_unavailable(
    server: FakeOpenAIServer, model: OpenAIChatModel
) -> None:
    server.responder = lambda body: Fail(500, {"error": {"message": "The server had an error"}})
    with pytest.raises(ModelUnavailableError, match="The server had an error"):
        await collect(model)
    assert len(server.requests) == 3


async def test_hanging_server_times_out_as_unavailable(
    server: FakeOpenAIServer, sleep: RecordedSleep
) -> None:
    server.responder = lambda body: Hang()
    started = time.monotonic()
    async with make_model(server, sleep, timeout=0.2, max_attempts=2) as model:
        with pytest.raises(ModelUnavailableError, match="ReadTimeout"):
            await collect(model)
    assert len(server.requests) == 2
    assert time.monotonic() - started < 2.0


async def test_malformed_stream_raises(server: FakeOpenAIServer, model: OpenAIChatModel) -> None:
    server.script(Malformed("partial"))
    seen: list[str | Usage] = []
    with pytest.raises(MalformedResponseError, match="not valid JSON"):
        async for item in model.stream(MESSAGES, PARAMS):
            seen.append(item)
    assert seen == ["partial"]


async def test_cut_off_stream_raises_and_is_never_a_quiet_half_answer(
    server: FakeOpenAIServer, model: OpenAIChatModel
) -> None:
    server.script(CutOff("the first half of"))
    seen: list[str | Usage] = []
    with pytest.raises(MalformedResponseError, match="cut off"):
        async for item in model.stream(MESSAGES, PARAMS):
            seen.append(item)
    assert "".join(str(i) for i in seen) == "the first half of"
    assert len(server.requests) == 1  # text was out: no retry


async def test_wrong_key_is_an_authentication_error(
    server: FakeOpenAIServer, sleep: RecordedSleep
) -> None:
    async with make_model(server, sleep, api_key="wrong-key") as model:
        with pytest.raises(AuthenticationError, match="Incorrect API key") as caught:
            await collect(model)
    assert "wrong-key" not in str(caught.value)
    assert len(server.requests) == 1


async def test_azure_style_key_header(server: FakeOpenAIServer, sleep: RecordedSleep) -> None:
    async with make_model(server, sleep, api_type="azure") as model:
        assert await answer_text(model) == "echo: ping"
    assert server.headers_seen[0]["api-key"] == "test-key"
    assert "authorization" not in server.headers_seen[0]


async def test_keyless_local_server(sleep: RecordedSleep) -> None:
    async with FakeOpenAIServer(api_key=None) as local:
        async with make_model(local, sleep, api_key=None) as model:
            assert (await collect(model))[-1] == Usage(4, 3)
    assert "authorization" not in local.headers_seen[0]


async def test_list_models(model: OpenAIChatModel) -> None:
    assert await model.list_models() == ["fake-model", "fake-large"]


async def test_list_models_with_wrong_key(server: FakeOpenAIServer, sleep: RecordedSleep) -> None:
    async with make_model(server, sleep, api_key="nope") as model:
        with pytest.raises(AuthenticationError):
            await model.list_models()


async def test_non_streaming_complete(server: FakeOpenAIServer, model: OpenAIChatModel) -> None:
    server.script(Answer("all at once", usage=(9, 3)))
    assert await model.complete(MESSAGES, PARAMS) == ("all at once", Usage(9, 3))
    assert server.requests[0]["stream"] is False


async def test_non_streaming_malformed(server: FakeOpenAIServer, model: OpenAIChatModel) -> None:
    server.script(Malformed())
    with pytest.raises(MalformedResponseError):
        await model.complete(MESSAGES, PARAMS)


async def test_script_then_responder(server: FakeOpenAIServer, model: OpenAIChatModel) -> None:
    server.script(Answer("one"), Fail(400, {"error": {"message": "bad request"}}))
    assert await answer_text(model) == "one"
    with pytest.raises(ChatModelError, match="bad request"):
        await collect(model)
    assert await answer_text(model) == "echo: ping"


async def test_slow_answers_are_served_concurrently(server: FakeOpenAIServer) -> None:
    # aiohttp as the client: this measures the fake server, not a client's connection pool.
    server.responder = lambda body: Answer("slow", delay=0.5)
    headers = {"Authorization": "Bearer test-key"}
    body = {"model": "fake-model", "messages": [], "stream": False}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def ask() -> int:
            async with session.post(f"{server.base_url}/chat/completions", json=body) as reply:
                await reply.read()
                return reply.status

        started = time.monotonic()
        statuses = await asyncio.gather(*(ask() for _ in range(200)))
        elapsed = time.monotonic() - started
    assert statuses == [200] * 200
    assert 0.5 <= elapsed < 2.0  # one after another would take 100 s


async def test_stop_releases_a_hanging_request(sleep: RecordedSleep) -> None:
    server = FakeOpenAIServer()
    await server.start()
    server.script(Hang())
    async with make_model(server, sleep, max_attempts=1, timeout=10.0) as model:
        pending = asyncio.ensure_future(collect(model))
        while not server.requests:
            await asyncio.sleep(0.01)
        await server.stop()
        with pytest.raises(ChatModelError):
            await pending
