"""A scripted chat API behind ``httpx.MockTransport``, for the chat client's tests.

``MockAPI`` is the one routing function: it records each request and answers it with
the next scripted response (or raises the next scripted exception). Sleep and clock are
injected through ``FakeTime``, so retries take no real time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from core.model.openai import OpenAIChatModel
from core.model.retry import RetryPolicy

__all__ = ["BASE", "SECRET", "FakeTime", "MockAPI", "Scripted", "make_model", "sse"]

BASE = "https://api.example.test/v1"
SECRET = "sk-very-secret-0123456789"

Scripted = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class MockAPI:
    """Records requests; answers each with the next scripted response or exception."""

    def __init__(self, *replies: Scripted) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply if isinstance(reply, httpx.Response) else reply(request)

    def body(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index].content)


class FakeTime:
    """Clock and sleep for the retry policy: sleeping moves the clock, instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_model(api: MockAPI, time: FakeTime, **options: Any) -> OpenAIChatModel:
    retry = RetryPolicy(
        max_attempts=options.pop("max_attempts", 3), base_delay=0.5, max_delay=4.0,
        deadline=options.pop("deadline", 60.0), jitter="none", sleep=time.sleep, clock=time.clock,
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(api))
    options = {"base_url": BASE, "api_key": SECRET, "retry": retry, "client": client} | options
    return OpenAIChatModel(**options)


def sse(*payloads: dict[str, Any] | str, done: bool = True) -> httpx.Response:
    lines = [p if isinstance(p, str) else json.dumps(p) for p in payloads]
    lines += ["[DONE]"] if done else []
    body = "".join(f"data: {line}\n\n" for line in lines).encode()
    return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
