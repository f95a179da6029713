"""``OpenAIChatModel`` over ``httpx.MockTransport``: the wire format, retries, errors.

One routing function (``MockAPI.__call__``) answers each request with the next scripted
response; sleep and clock are injected, so retries take no real time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.errors import (
    AuthenticationError,
    ChatModelError,
    ConfigurationError,
    ContextTooLongError,
    MalformedResponseError,
    ModelUnavailableError,
    RequestRejectedError,
    RateLimitedError,
)
from core.model.openai import OpenAIChatModel
from core.types import ChatMessage, ChatParams, Usage
from tests.core.model.mock_api import BASE, SECRET, FakeTime, MockAPI, make_model, sse

MESSAGES = [ChatMessage("system", "be brief"), ChatMessage("user", "hello")]
PARAMS = ChatParams("gpt-test")


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def answer(*texts: str, usage: tuple[int, int] | None = (12, 3)) -> httpx.Response:
    payloads: list[dict[str, Any]] = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    payloads += [chunk(text) for text in texts] + [chunk(finish="stop")]
    if usage:
        counts = {"prompt_tokens": usage[0], "completion_tokens": usage[1]}
        payloads.append({"choices": [], "usage": counts})
    return sse(*payloads)


def error(
    status: int, message: str = "", code: str | None = None, **headers: str
) -> httpx.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    names = {name.replace("_", "-"): value for name, value in headers.items()}
    return httpx.Response(status, json=body, headers=names)


async def collect(model: OpenAIChatModel, params: ChatParams = PARAMS) -> list[str | Usage]:
    return [item async for item in model.stream(MESSAGES, params)]


async def collect_until_error(model: OpenAIChatModel) -> tuple[list[str | Usage], Exception]:
    items: list[str | Usage] = []
    with pytest.raises(ChatModelError) as caught:
        async for item in model.stream(MESSAGES, PARAMS):
            items.append(item)
    return items, caught.value


# -- the happy path and the wire format -------------------------------------------------------


async def test_stream_yields_deltas_then_usage_last(time: FakeTime) -> None:
    api = MockAPI(answer("Hel", "", "lo!"))
    # The whole body comes in one read: its events make one delta.
    assert await collect(make_model(api, time)) == ["Hello!", Usage(12, 3)]


async def test_each_read_is_one_delta(time: FakeTime) -> None:
    class OneEventPerRead(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            body = answer("Hel", "", "lo", "!").content
            for event in body.split(b"\n\n")[:-1]:
                yield event + b"\n\n"

    api = MockAPI(httpx.Response(200, stream=OneEventPerRead()))
    assert await collect(make_model(api, time)) == ["Hel", "lo", "!", Usage(12, 3)]


async def test_stream_without_usage_yields_only_text(time: FakeTime) -> None:
    api = MockAPI(answer("hi", usage=None))
    assert await collect(make_model(api, time)) == ["hi"]


async def test_request_body_and_url(time: FakeTime) -> None:
    api = MockAPI(answer("x"))
    extra = {"top_p": 0.9, "stream": False}
    params = ChatParams("gpt-x", temperature=0.2, max_tokens=50, extra=extra)
    await collect(make_model(api, time), params)
    assert str(api.requests[0].url) == f"{BASE}/chat/completions"
    assert api.body() == {
        "model": "gpt-x",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello"},
        ],
        "temperature": 0.2,
        "max_tokens": 50,
        "top_p": 0.9,
        "stream": True,  # ``extra`` cannot turn streaming off under the stream reader
        "stream_options": {"include_usage": True},
    }


async def test_unset_sampling_parameters_are_left_out(time: FakeTime) -> None:
    api = MockAPI(answer("x"))
    await collect(make_model(api, time))
    assert "temperature" not in api.body() and "max_tokens" not in api.body()


async def test_model_default_fills_an_empty_model(time: FakeTime) -> None:
    api = MockAPI(answer("x"))
    await collect(make_model(api, time, model_default="gpt-default"), ChatParams(""))
    assert api.body()["model"] == "gpt-default"


async def test_no_model_at_all_is_a_configuration_error(time: FakeTime) -> None:
    api = MockAPI()
    with pytest.raises(ConfigurationError, match="OPENAI_MODEL"):
        await collect(make_model(api, time), ChatParams(""))
    assert api.requests == []


async def test_openai_auth_is_a_bearer_header(time: FakeTime) -> None:
    api = MockAPI(answer("x"))
    await collect(make_model(api, time))
    request = api.requests[0]
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert "api-key" not in request.headers and request.url.query == b""


async def test_azure_sends_api_key_header_and_api_version(time: FakeTime) -> None:
    api = MockAPI(answer("x"), httpx.Response(200, json={"data": []}))
    model = make_model(api, time, api_type="azure", api_version="2024-06-01")
    await collect(model)
    await model.list_models()
    for request in api.requests:
        assert request.headers["api-key"] == SECRET
        assert "authorization" not in request.headers
        assert request.url.params["api-version"] == "2024-06-01"


@pytest.mark.parametrize("key", [None, ""])
async def test_local_servers_without_key_get_no_auth_header(
    time: FakeTime, key: str | None
) -> None:
    api = MockAPI(answer("x"))
    await collect(make_model(api, time, api_key=key))
    assert "authorization" not in api.requests[0].headers
    assert "api-key" not in api.requests[0].headers


async def test_timeout_is_passed_down_and_capped_by_the_deadline(time: FakeTime) -> None:
    api = MockAPI(answer("x"))
    model = make_model(api, time, timeout=httpx.Timeout(30.0, connect=5.0), deadline=20.0)
    await collect(model)
    assert api.requests[0].extensions["timeout"] == {
        "connect": 5.0, "read": 20.0, "write": 20.0, "pool": 20.0,
    }


async def test_complete_is_not_streamed(time: FakeTime) -> None:
    reply = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    }
    api = MockAPI(httpx.Response(200, json=reply))
    assert await make_model(api, time).complete(MESSAGES, PARAMS) == ("whole", Usage(5, 1))
    assert api.body()["stream"] is False and "stream_options" not in api.body()


async def test_list_models(time: FakeTime) -> None:
    api = MockAPI(httpx.Response(200, json={"data": [{"id": "a"}, {"id": "b"}]}))
    assert await make_model(api, time).list_models() == ["a", "b"]
    assert api.requests[0].method == "GET" and str(api.requests[0].url) == f"{BASE}/models"


async def test_azure_first_chunk_without_choices_content_is_fine(time: FakeTime) -> None:
    api = MockAPI(sse({"choices": [], "prompt_filter_results": []}, chunk("ok", "stop")))
    assert await collect(make_model(api, time)) == ["ok"]


# -- retries ----------------------------------------------------------------------------------


async def test_429_waits_for_retry_after_then_succeeds(time: FakeTime) -> None:
    api = MockAPI(error(429, "slow down", retry_after="7"), answer("ok"))
    assert await collect(make_model(api, time)) == ["ok", Usage(12, 3)]
    assert time.sleeps == [7.0] and len(api.requests) == 2


async def test_retry_after_ms_is_more_precise(time: FakeTime) -> None:
    api = MockAPI(error(429, retry_after="2", retry_after_ms="1250"), answer("ok"))
    await collect(make_model(api, time))
    assert time.sleeps == [1.25]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_retried_with_exponential_backoff(time: FakeTime, status: int) -> None:
    api = MockAPI(error(status), error(status), answer("ok"))
    assert await collect(make_model(api, time)) == ["ok", Usage(12, 3)]
    assert time.sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
)
async def test_connection_failures_are_retried(time: FakeTime, failure: Exception) -> None:
    api = MockAPI(failure, answer("ok"))
    assert await collect(make_model(api, time)) == ["ok", Usage(12, 3)]
    assert len(api.requests) == 2


async def test_persistent_5xx_gives_up_as_unavailable(time: FakeTime) -> None:
    api = MockAPI(*[error(503, "overloaded")] * 3)
    with pytest.raises(ModelUnavailableError, match="overloaded"):
        await collect(make_model(api, time, max_attempts=3))
    assert len(api.requests) == 3 and len(time.sleeps) == 2


async def test_persistent_429_gives_up_with_retry_after(time: FakeTime) -> None:
    api = MockAPI(*[error(429, "busy", retry_after="2")] * 2)
    with pytest.raises(RateLimitedError) as caught:
        await collect(make_model(api, time, max_attempts=2))
    assert caught.value.retry_after == 2.0 and len(api.requests) == 2


async def test_retry_after_beyond_the_deadline_gives_up_at_once(time: FakeTime) -> None:
    api = MockAPI(error(429, "busy", retry_after="120"))
    with pytest.raises(RateLimitedError) as caught:
        await collect(make_model(api, time, deadline=30.0))
    assert caught.value.retry_after == 120.0
    assert time.sleeps == [] and len(api.requests) == 1


async def test_deadline_stops_retries_before_attempts_run_out(time: FakeTime) -> None:
    def slow_failure(request: httpx.Request) -> httpx.Response:
        time.now += 4.0  # each attempt takes 4 s of the 10 s deadline
        return error(503)

    api = MockAPI(*[slow_failure] * 10)
    with pytest.raises(ModelUnavailableError):
        await collect(make_model(api, time, max_attempts=10, deadline=9.0))
    # 4 s + 0.5 s wait + 4 s = 8.5 s: the next 1 s wait would end past the 9 s deadline.
    assert time.sleeps == [0.5] and len(api.requests) == 2


async def test_persistent_connect_error_is_unavailable_with_its_cause(time: FakeTime) -> None:
    api = MockAPI(*[httpx.ConnectError("refused")] * 3)
    with pytest.raises(ModelUnavailableError) as caught:
        await collect(make_model(api, time))
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert "refused" in str(caught.value)


async def test_a_failure_after_the_first_delta_is_never_retried(time: FakeTime) -> None:
    async def broken_body() -> AsyncIterator[bytes]:
        yield b'data: {"choices": [{"index": 0, "delta": {"content": "half"}}]}\n\n'
        raise httpx.ReadError("connection reset")

    api = MockAPI(httpx.Response(200, content=broken_body()), answer("never"))
    items, exc = await collect_until_error(make_model(api, time))
    assert items == ["half"] and isinstance(exc, MalformedResponseError)
    assert len(api.requests) == 1 and time.sleeps == []


async def test_a_timeout_mid_stream_is_unavailable(time: FakeTime) -> None:
    async def stalled_body() -> AsyncIterator[bytes]:
        yield b'data: {"choices": [{"index": 0, "delta": {"content": "half"}}]}\n\n'
        raise httpx.ReadTimeout("stalled")

    api = MockAPI(httpx.Response(200, content=stalled_body()))
    items, exc = await collect_until_error(make_model(api, time))
    assert items == ["half"] and isinstance(exc, ModelUnavailableError)


# -- error translation ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_key_is_an_authentication_error_without_retry(
    time: FakeTime, status: int
) -> None:
    api = MockAPI(error(status, "Incorrect API key provided", "invalid_api_key"))
    with pytest.raises(AuthenticationError, match="Incorrect API key"):
        await collect(make_model(api, time))
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    "response",
    [
        error(400, "too many tokens", "context_length_exceeded"),
        error(400, "This model's maximum context length is 8192 tokens."),
        error(413, "prompt exceeds the context window"),
        httpx.Response(400, text="context length exceeded"),
    ],
)
async def test_context_errors(time: FakeTime, response: httpx.Response) -> None:
    with pytest.raises(ContextTooLongError):
        await collect(make_model(MockAPI(response), time))


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (error(400, "Invalid value for 'temperature'"), "Invalid value for 'temperature'"),
        (error(404, "The model `nope` does not exist"), "The model `nope` does not exist"),
        (httpx.Response(422, text="plain text complaint"), "plain text complaint"),
        (httpx.Response(400, json={"error": "flat string error"}), "flat string error"),
        (httpx.Response(400, json={"detail": "fastapi style"}), "fastapi style"),
    ],
)
async def test_other_4xx_is_a_rejected_request_with_the_servers_message(
    time: FakeTime, response: httpx.Response, message: str
) -> None:
    api = MockAPI(response)
    with pytest.raises(ChatModelError) as caught:
        await collect(make_model(api, time))
    assert type(caught.value) is RequestRejectedError
    assert message in str(caught.value) and len(api.requests) == 1


async def test_501_is_unavailable_and_not_retried(time: FakeTime) -> None:
    api = MockAPI(error(501, "not implemented"))
    with pytest.raises(ModelUnavailableError):
        await collect(make_model(api, time))
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    "response",
    [
        sse(chunk("a"), "{not json"),
        sse(chunk("a"), {"id": "no choices here"}),
        sse(chunk("a"), {"choices": "not a list"}),
        sse("[1, 2]"),
        sse(chunk("a"), done=False),
        httpx.Response(200, content=b""),
    ],
    ids=["invalid-json", "no-choices", "bad-choices", "not-object", "no-done", "empty"],
)
async def test_malformed_streams(time: FakeTime, response: httpx.Response) -> None:
    with pytest.raises(MalformedResponseError):
        await collect(make_model(MockAPI(response), time))


async def test_a_finish_reason_without_done_is_a_complete_answer(time: FakeTime) -> None:
    api = MockAPI(sse(chunk("all"), chunk(finish="stop"), done=False))
    assert await collect(make_model(api, time)) == ["all"]


async def test_an_error_object_in_the_stream_raises(time: FakeTime) -> None:
    api = MockAPI(sse(chunk("a"), {"error": {"message": "backend exploded"}}))
    items, exc = await collect_until_error(make_model(api, time))
    assert items == ["a"] and "backend exploded" in str(exc)


async def test_complete_with_invalid_json_is_malformed(time: FakeTime) -> None:
    api = MockAPI(httpx.Response(200, text="<html>proxy error</html>"))
    with pytest.raises(MalformedResponseError):
        await make_model(api, time).complete(MESSAGES, PARAMS)


@pytest.mark.parametrize("url", ["localhost:11434/v1", "ftp://example.test/v1", "http://[::1"])
def test_a_bad_base_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_BASE_URL"):
        OpenAIChatModel(base_url=url, api_key=None)


async def test_unsupported_url_is_not_retried(time: FakeTime) -> None:
    api = MockAPI(httpx.UnsupportedProtocol("no scheme"))
    with pytest.raises(ChatModelError) as caught:
        await collect(make_model(api, time))
    assert type(caught.value) is ChatModelError and len(api.requests) == 1


# -- the key stays secret -------------------------------------------------------------------


async def test_the_key_never_appears_in_errors_reprs_or_logs(
    time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    # A careless proxy that echoes the key in every error it sends.
    echoed = f"bad key {SECRET}"
    api = MockAPI(
        error(401, echoed),
        error(500, echoed), error(500, echoed), error(500, echoed),
        error(400, echoed),
        httpx.ConnectError(echoed), httpx.ConnectError(echoed), httpx.ConnectError(echoed),
        sse(f"not json {SECRET}"),
        sse({"error": {"message": echoed}}),
    )
    model = make_model(api, time)
    caplog.set_level(logging.DEBUG)
    errors = []
    for _ in range(6):
        with pytest.raises(ChatModelError) as caught:
            await collect(model)
        errors.append(caught.value)
    assert [type(e) for e in errors] == [
        AuthenticationError, ModelUnavailableError, RequestRejectedError,
        ModelUnavailableError, MalformedResponseError, ChatModelError,
    ]
    shown = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(model)]
    shown += [record.getMessage() for record in caplog.records]
    assert caplog.records, "the retries should have been logged"
    assert all("[redacted]" in str(e) for e in errors)
    assert not [text for text in shown if SECRET in text]


# -- lifecycle ------------------------------------------------------------------------------


async def test_aclose_twice_and_leaves_an_injected_client_open(time: FakeTime) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(MockAPI()))
    model = make_model(MockAPI(), time, client=client)
    await model.aclose()
    await model.aclose()
    assert not client.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await collect(model)


async def test_context_manager_closes_a_client_it_created() -> None:
    async with OpenAIChatModel(base_url=BASE, api_key=None) as model:
        client = model._client
    assert client.is_closed


async def test_leaving_the_stream_early_closes_the_response(time: FakeTime) -> None:
    class EndlessBody(httpx.AsyncByteStream):
        closed = False

        async def __aiter__(self) -> AsyncIterator[bytes]:
            while True:
                yield b'data: {"choices": [{"index": 0, "delta": {"content": "more"}}]}\n\n'

        async def aclose(self) -> None:
            self.closed = True

    body = EndlessBody()
    model = make_model(MockAPI(httpx.Response(200, stream=body)), time)
    stream = model.stream(MESSAGES, PARAMS)
    assert await anext(stream) == "more"
    assert not body.closed
    await stream.aclose()
    assert body.closed
