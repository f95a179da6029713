"""End to end: bad input at ``POST /slack/events`` never costs a traceback, a 500 or an
answer in the channel, and the bot keeps serving (adapters/slack/http_guard.py).

Each case goes over HTTP into the real adapter on the shared server, with the fake
Slack API and the fake model behind it. Afterwards a normal signed mention must still be
answered, and the log must hold no ERROR, no traceback and no request body.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
import pytest

from adapters.common.log_limit import RateLimitedLog
from adapters.slack import http_guard
from tests.adapters.slack.harness import SlackStack, mention, slack_stack
from tests.fakes.slack_api import SIGNING_SECRET

pytestmark = pytest.mark.e2e

MARKER = "BODY-MARKER"  # in every bad body: it must never reach the log
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Case:
    body: bytes
    status: int
    signed: bool = False
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    stamp: str | None = None  # the timestamp signed and sent (default: now)


def nested(depth: int) -> bytes:
    return f'{{"type": "event_callback", "m": "{MARKER}", "deep": {"[" * depth}{"]" * depth}}}'.encode()


def envelope(event: object) -> bytes:
    return json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event": event}).encode()


BAD_REQUESTS = {
    "invalid JSON, unsigned": Case(b'{"m": "' + MARKER.encode() + b'", oops', 401),
    "invalid JSON, signed": Case(b'{"m": "' + MARKER.encode() + b'", oops', 400, signed=True),
    "invalid UTF-8, unsigned": Case(b'{"m": "' + MARKER.encode() + b'\xff\xfe"}', 400),
    "invalid UTF-8, signed": Case(b'{"m": "' + MARKER.encode() + b'\xff\xfe"}', 400, signed=True),
    "non-numeric timestamp": Case(envelope({"type": "app_mention", "text": MARKER}), 401,
                                  headers={"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}),
    "non-numeric timestamp, signed": Case(envelope({"type": "app_mention", "text": MARKER}), 401, signed=True, stamp="1e9"),
    "non-ASCII signature": Case(envelope({"type": "app_mention", "text": MARKER}), 401,
                                headers={"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=é"}),
    "deeply nested JSON, unsigned": Case(nested(100_000), 401),
    "deeply nested JSON, signed": Case(nested(100_000), 400, signed=True),
    "nested past the bound, signed": Case(nested(http_guard.MAX_DEPTH + 5), 400, signed=True),
    "JSON that is not an object, signed": Case(b'["' + MARKER.encode() + b'"]', 400, signed=True),
    "event that is not an object, signed": Case(envelope(MARKER), 400, signed=True),
    "authorizations of the wrong type, signed": Case(
        json.dumps({"type": "event_callback", "authorizations": MARKER, "event": {"type": "app_mention"}}).encode(), 400, signed=True),
    "payload form that is not JSON, signed": Case(f"payload=%7B{MARKER}".encode(), 400, signed=True, content_type=FORM),
    "bad signature": Case(envelope({"type": "app_mention", "text": MARKER}), 401,
                          headers={"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}),
    "stale timestamp, signed": Case(envelope({"type": "app_mention", "text": MARKER}), 401, signed=True,
                                    stamp=str(int(time.time()) - 3600)),
    "no headers at all": Case(envelope({"type": "app_mention", "text": MARKER}), 401),
    "oversized body": Case(b"{" + MARKER.encode() + b"x" * (2 * 1024 * 1024), 413),
    "oversized body, signed": Case(b"{" + MARKER.encode() + b"x" * (2 * 1024 * 1024), 413, signed=True),
}


def signature(secret: str, stamp: str, body: bytes) -> str:
    # Over the bytes, as Slack signs: also a body that is not UTF-8.
    return "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()


async def post(stack: SlackStack, case: Case) -> int:
    headers = {"Content-Type": case.content_type, **case.headers}
    if case.signed:
        stamp = case.stamp or str(int(time.time()))
        headers |= {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature(SIGNING_SECRET, stamp, case.body)}
    async with aiohttp.ClientSession() as session, session.post(stack.events_url, data=case.body, headers=headers) as response:
        await response.read()
        return response.status


@pytest.fixture
def refusals(monkeypatch) -> None:
    """A fresh, generous limit: every refusal is logged, so each can be counted."""
    monkeypatch.setattr(http_guard, "_refusals", RateLimitedLog(logging.getLogger(http_guard.__name__), lines=1000))


@pytest.fixture
def captured(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """No ERROR, no traceback, no request body in anything logged."""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    assert MARKER not in caplog.text


async def assert_still_answering(stack: SlackStack, ts: str = "900.000001") -> None:
    await stack.send(mention("still there?", ts, channel="CLAST"))
    assert await stack.answer_in("CLAST", ts) == ["echo: u1: still there?"]


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == http_guard.__name__ and r.levelno >= logging.INFO]


@pytest.mark.usefixtures("refusals")
async def test_each_bad_request_gets_its_status_and_one_short_line(tmp_path, captured):
    async with slack_stack(tmp_path) as stack:
        statuses = {name: await post(stack, case) for name, case in BAD_REQUESTS.items()}
        assert statuses == {name: case.status for name, case in BAD_REQUESTS.items()}

        lines = refusal_lines(captured)
        assert len(lines) == len(BAD_REQUESTS)
        assert all(len(line) < 200 and line.startswith("refused a request") for line in lines)
        assert stack.slack.messages == {}
        await assert_still_answering(stack)
    assert_quiet(captured)


async def test_a_flood_of_refusals_is_logged_at_a_bounded_rate(tmp_path, captured):
    async with slack_stack(tmp_path) as stack:
        unsigned = BAD_REQUESTS["invalid JSON, unsigned"]
        assert {await post(stack, unsigned) for _ in range(60)} == {401}
        assert len(refusal_lines(captured)) <= 10 + 1
        await assert_still_answering(stack)
    assert_quiet(captured)


@pytest.mark.usefixtures("refusals")
async def test_a_client_gone_in_mid_body_costs_no_traceback(tmp_path, captured):
    async with slack_stack(tmp_path) as stack:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.server.port)
        head = f"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: {JSON}\r\nContent-Length: 900000\r\n\r\n"
        writer.write(head.encode() + b"{" + MARKER.encode() + b"x" * 300_000)
        await writer.drain()
        writer.transport.abort()
        await wait_until(lambda: any("cut off" in line for line in refusal_lines(captured)))
        await assert_still_answering(stack)
    assert_quiet(captured)


async def wait_until(condition, timeout: float = 5.0) -> None:
    """Poll a condition the server's log will meet (there is no event to wait on)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.usefixtures("refusals")
async def test_a_refused_body_is_left_in_no_reference_cycle(tmp_path):
    """The cause of the memory growth: a refusal that raised kept the body read so far in
    a cycle (exception → traceback → frame), freed only by the cycle collector."""
    async with slack_stack(tmp_path) as stack:
        gc.collect()
        gc.disable()
        try:
            for _ in range(3):
                assert await post(stack, BAD_REQUESTS["oversized body"]) == 413
                assert await post_chunked(stack, 2_500_000) == 413
                assert await post(stack, Case(b"{" + b"x" * 900_000, 401)) == 401
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            held = [value for frame in gc.garbage if type(frame).__name__ == "frame"
                    for value in frame.f_locals.values() if _size(value) > 100_000]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
        assert held == []


async def post_chunked(stack: SlackStack, size: int) -> int:
    """A body with no Content-Length: its size is known only once it has been read."""
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(size // 65536):
            yield b"x" * 65536

    async with aiohttp.ClientSession() as session, session.post(stack.events_url, data=chunks()) as response:
        return response.status


def _size(value: object) -> int:
    if isinstance(value, bytes | bytearray | str):
        return len(value)
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return sum(len(item) for item in value)
    return 0


# -- signed, authentic, but broken or unknown: 200 and nothing said ---------------------------

BROKEN_EVENTS = {
    "no channel": {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "1.0001"},
    "no ts": {"type": "app_mention", "channel": "C1", "user": "U1", "text": "<@UBOT> hi"},
    "text null": {"type": "app_mention", "channel": "C1", "user": "U1", "text": None, "ts": "1.0002"},
    "user an object": {"type": "app_mention", "channel": "C1", "user": {"id": "U1"}, "text": "<@UBOT> hi", "ts": "1.0003"},
    "thread_ts a list": {"type": "app_mention", "channel": "C1", "user": "U1", "text": "<@UBOT> hi", "ts": "1.0004", "thread_ts": ["1"]},
    "DM with subtype a list": {"type": "message", "channel_type": "im", "channel": "D1", "user": "U1", "text": "hi",
                               "ts": "1.0005", "subtype": []},
    "channel with a lone surrogate": {"type": "app_mention", "channel": "C\ud800", "user": "U1", "text": "<@UBOT> hi", "ts": "1.0006"},
    "unknown event type": {"type": "reaction_added", "user": "U1", "reaction": "thumbsup"},
    "event type a number": {"type": 5, "channel": "C1"},
}


async def test_signed_events_with_broken_fields_or_unknown_types_get_200_and_no_answer(tmp_path, captured):
    async with slack_stack(tmp_path) as stack:
        for event in BROKEN_EVENTS.values():
            assert (await stack.send(event)).status == 200
        await assert_still_answering(stack)
        assert [m.channel for m in stack.slack.messages.values()] == ["CLAST"]
        ignored = [r for r in captured.records if r.levelno == logging.DEBUG and r.getMessage().startswith("ignoring")]
        assert len(ignored) >= len(BROKEN_EVENTS)
    assert not [r for r in captured.records if r.levelno >= logging.WARNING and r.name.startswith(("slack_bolt", "adapters"))]
    assert_quiet(captured)


async def test_signed_slash_commands_with_missing_or_odd_fields_get_200_and_no_answer(tmp_path, captured):
    form = {"command": "/forget", "text": "", "channel_id": "C1", "team_id": "T1", "user_name": "u1"}  # no user_id
    as_json = {**form, "user_id": "U1", "text": {"not": "text"}}
    async with slack_stack(tmp_path) as stack:
        assert await post(stack, Case(urlencode(form).encode(), 200, signed=True, content_type=FORM)) == 200
        assert await post(stack, Case(json.dumps(as_json).encode(), 200, signed=True)) == 200
        await assert_still_answering(stack)
        assert [m.channel for m in stack.slack.messages.values()] == ["CLAST"]
    assert_quiet(captured)


async def test_a_lone_surrogate_in_a_question_is_replaced_and_answered(tmp_path, captured):
    async with slack_stack(tmp_path) as stack:
        await stack.send(mention("what is \ud800 this?", "800.000001"))
        assert await stack.answer_in("C1", "800.000001") == ["echo: u1: what is \ufffd this?"]
    assert_quiet(captured)
