"""What a failed chat API call is worth: a spent quota is not a rate limit, the server's
``x-should-retry`` hint wins over the status, and every retry is counted by reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from core.errors import ModelUnavailableError, QuotaExhaustedError, RateLimitedError
from core.types import ChatMessage, ChatParams
from tests.core.model.mock_api import FakeTime, MockAPI, make_model, sse

MESSAGES = [ChatMessage("user", "hello")]
PARAMS = ChatParams("gpt-test")


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def ok() -> httpx.Response:
    return sse({"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]})


def failure(status: int, error: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    names = {name.replace("_", "-"): value for name, value in headers.items()}
    return httpx.Response(status, json={"error": error or {"message": "no"}}, headers=names)


def retries(reason: str) -> float:
    return REGISTRY.get_sample_value("chatwright_model_retries_total", {"reason": reason}) or 0.0


async def text(model: Any) -> str:
    return "".join([item async for item in model.stream(MESSAGES, PARAMS) if isinstance(item, str)])


# OpenAI's own body for a spent quota (type and code both say it).
QUOTA = {
    "message": "You exceeded your current quota, please check your plan and billing details.",
    "type": "insufficient_quota", "param": None, "code": "insufficient_quota",
}


@pytest.mark.parametrize(
    "error",
    [QUOTA, {"message": "quota", "type": "insufficient_quota", "code": None},
     {"message": "You exceeded your current quota, please check your plan.", "code": None}],
    ids=["openai", "type-only", "message-only"],
)
async def test_a_spent_quota_is_reported_as_such_and_not_retried(
    time: FakeTime, error: dict[str, Any]
) -> None:
    api = MockAPI(failure(429, error, retry_after="1"), ok())
    with pytest.raises(QuotaExhaustedError) as caught:
        await text(make_model(api, time))
    assert len(api.requests) == 1 and time.sleeps == []
    assert "admin" in caught.value.user_message() and "busy" not in caught.value.user_message()


async def test_a_spent_quota_is_not_retried_even_when_the_server_says_retry(time: FakeTime) -> None:
    api = MockAPI(failure(429, QUOTA, x_should_retry="true"), ok())
    with pytest.raises(QuotaExhaustedError):
        await text(make_model(api, time))
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("status", "error"), [(503, ModelUnavailableError), (429, RateLimitedError)]
)
async def test_x_should_retry_false_stops_a_retry_the_status_would_allow(
    time: FakeTime, status: int, error: type[Exception]
) -> None:
    api = MockAPI(failure(status, x_should_retry="false"), ok())
    with pytest.raises(error):
        await text(make_model(api, time))
    assert len(api.requests) == 1 and time.sleeps == []


async def test_x_should_retry_true_retries_a_status_that_would_not_be(time: FakeTime) -> None:
    before = retries("server_asked")
    api = MockAPI(failure(409, {"message": "conflict"}, x_should_retry="true"), ok())
    assert await text(make_model(api, time)) == "hi"
    assert len(api.requests) == 2
    assert retries("server_asked") == before + 1


async def test_each_retry_is_counted_by_its_reason(time: FakeTime) -> None:
    before = {reason: retries(reason) for reason in ("rate_limited", "unavailable", "network")}
    api = MockAPI(
        failure(429, {"message": "slow down"}), failure(502), httpx.ConnectError("refused"), ok()
    )
    assert await text(make_model(api, time, max_attempts=4)) == "hi"
    assert {reason: retries(reason) - before[reason] for reason in before} == {
        "rate_limited": 1, "unavailable": 1, "network": 1,
    }


async def test_a_failure_that_is_not_retried_is_not_counted(time: FakeTime) -> None:
    before = retries("rate_limited")
    api = MockAPI(failure(429, QUOTA))
    with pytest.raises(QuotaExhaustedError):
        await text(make_model(api, time))
    assert retries("rate_limited") == before
