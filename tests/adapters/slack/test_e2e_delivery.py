"""End to end: retries, signatures, long and Markdown answers, failures, Slack 429s."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from prometheus_client import REGISTRY

from adapters.slack.adapter import API_CONNECTIONS
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.replies import MESSAGE_LIMIT, THINKING
from tests.adapters.slack.harness import dm, mention, settled, slack_stack
from tests.adapters.slack.test_e2e_conversations import _sentinel
from tests.fakes.openai_server import Answer, Fail
from tests.fakes.slack_api import FakeSlackAPI

pytestmark = pytest.mark.e2e


async def test_retried_event_is_answered_once_also_after_a_restart(tmp_path):
    event = mention("once please", "600.000001")
    slack = FakeSlackAPI()
    async with slack:
        async with slack_stack(tmp_path, slack=slack) as stack:
            await stack.send(event, event_id="EvSAME")
            await stack.answer_in("C1", "600.000001")
            for retry in (1, 2):
                assert (await stack.send(event, event_id="EvSAME", retry_num=retry)).status == 200
            await _sentinel(stack)
        async with slack_stack(tmp_path, slack=slack) as restarted:
            await restarted.send(event, event_id="EvSAME", retry_num=3)
            await _sentinel(restarted)
            assert [r["messages"][-1]["content"] for r in restarted.model.requests] == ["sentinel"]
        assert slack.bot_texts("C1", "600.000001") == ["echo: u1: once please"]


@pytest.mark.parametrize("forgery", ["wrong secret", "stale timestamp"])
async def test_forged_and_stale_signatures_are_rejected(tmp_path, forgery):
    async with slack_stack(tmp_path) as stack:
        options = {"secret": "not-the-secret"} if forgery == "wrong secret" else {"timestamp": time.time() - 600}
        sent = await stack.send(dm("let me in", "700.000001"), **options)
        command = await stack.sender.command("/persona", "set evil", secret="not-the-secret")
        assert (sent.status, command.status) == (401, 401)
        await _sentinel(stack)
        assert stack.slack.bot_texts("D1") == []
        assert len(stack.model.requests) == 1


async def test_unsigned_request_is_rejected(tmp_path):
    async with slack_stack(tmp_path) as stack, aiohttp.ClientSession() as session:
        body = stack.sender.envelope(dm("no signature", "700.000002"))
        async with session.post(stack.events_url, json=body) as response:
            assert response.status == 401


async def test_long_answer_with_code_block_arrives_whole_and_split(tmp_path):
    code = "```python\n" + "\n".join(f"print('line {i}')" for i in range(120)) + "\n```"
    prose = " ".join(f"word{i}" for i in range(4000))
    answer = f"{prose}\n\n{code}\n\n{prose}"[:50_000].rsplit(" ", 1)[0]
    assert len(answer) > 45_000
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Answer(answer, chunk_size=2000))
        await stack.send(mention("write a lot", "800.000001"))
        texts = await stack.answer_in("C1", "800.000001", count=14, timeout=10)

        assert all(len(text) <= MESSAGE_LIMIT for text in texts)
        assert _squash("".join(texts)) == _squash(to_mrkdwn(answer))
        with_code = [t for t in texts if "```" in t]
        assert len(with_code) == 1 and with_code[0].count("```") == 2
        assert "print('line 0')" in with_code[0] and "print('line 119')" in with_code[0]


async def test_markdown_is_converted_to_mrkdwn(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Answer("# Plan\n**bold**, *it*, ~~no~~, [docs](https://x.dev) and `a<b`\n- one"))
        await stack.send(dm("format", "810.000001"))
        [text] = await stack.answer_in("D1", None)
        assert text == "*Plan*\n*bold*, _it_, ~no~, <https://x.dev|docs> and `a&lt;b`\n• one"


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (Fail(429, headers={"Retry-After": "7"}), "The language model is busy right now. Please try again in 7 s."),
        (Fail(503, body={"error": {"message": "overloaded"}}), "The language model is unavailable right now."),
        (Fail(400, body={"error": {"code": "context_length_exceeded", "message": "too long"}}), "Use /forget"),
    ],
)
async def test_model_failure_becomes_a_short_friendly_message(tmp_path, failure, expected):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(failure)
        await stack.send(mention("hi", "820.000001"))
        [text] = await stack.answer_in("C1", "820.000001")
        assert text.startswith(":warning: ") and expected in text
        assert "Traceback" not in text


async def test_slack_429_on_update_is_waited_out(tmp_path):
    async with slack_stack(tmp_path) as stack:
        # Slow enough to be posted as a placeholder first, which the answer then updates.
        stack.model.script(Answer("slow hi", delay=0.6))
        stack.slack.fail("chat.update", times=2, retry_after=1)
        await stack.send(mention("hi", "830.000001"))
        assert await stack.answer_in("C1", "830.000001", timeout=6) == ["slow hi"]
        updates = stack.slack.calls_of("chat.update")
        assert len(updates) == 3
        assert updates[2].at - updates[1].at >= 0.95  # Retry-After honoured


async def test_web_api_calls_share_a_bounded_pool_of_connections(tmp_path):
    calls = API_CONNECTIONS + 40
    async with slack_stack(tmp_path) as stack:
        client = stack.adapter.client
        await asyncio.gather(*(client.chat_postMessage(channel=f"C{i}", text="hi") for i in range(calls)))
        peers = {call.peer for call in stack.slack.calls_of("chat.postMessage")}
    assert len(stack.slack.calls_of("chat.postMessage")) == calls
    assert 1 < len(peers) <= API_CONNECTIONS


async def test_one_failing_event_does_not_stop_the_app(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.slack.fail("chat.postMessage", times=1, status=500, error="fatal_error")
        await stack.send(dm("this one breaks", "840.000001"))
        await stack.send(dm("this one works", "840.000002", channel="D2"))
        assert await stack.answer_in("D2", None) == ["echo: this one works"]


async def test_events_are_counted_in_metrics(tmp_path):
    before = REGISTRY.get_sample_value("chatwright_events_received_total", {"platform": "slack"}) or 0
    async with slack_stack(tmp_path) as stack, aiohttp.ClientSession() as session:
        await stack.send(dm("count me", "850.000001"))
        await stack.answer_in("D1", None)
        async with session.get(f"http://127.0.0.1:{stack.server.port}/metrics") as response:
            body = await response.text()
    assert 'chatwright_events_received_total{platform="slack"}' in body
    after = REGISTRY.get_sample_value("chatwright_events_received_total", {"platform": "slack"})
    assert after >= before + 1


def _squash(text: str) -> str:
    return "".join(text.split())


async def test_a_final_edit_failing_once_with_500_is_retried(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Answer("slow answer", delay=0.6))
        stack.slack.fail("chat.update", times=1, status=500, error="internal_error")
        await stack.send(mention("hi", "850.000001"))
        assert await stack.answer_in("C1", "850.000001") == ["slow answer"]
        assert stack.slack.thread("C1", "850.000001")[0].history == [THINKING, "slow answer"]
        assert len(stack.slack.calls_of("chat.update")) == 2


async def test_a_final_edit_that_keeps_failing_is_posted_as_a_new_message(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Answer("slow answer", delay=0.6))
        stack.slack.fail("chat.update", times=10, status=500, error="internal_error")
        await stack.send(mention("hi", "850.000002"))
        # The placeholder never shows the answer: it is posted anew and the
        # "thinking" message is removed, so the thread shows the answer once.
        assert await stack.answer_in("C1", "850.000002") == ["slow answer"]
        assert [m.history for m in stack.slack.thread("C1", "850.000002")] == [["slow answer"]]
        assert len(stack.slack.calls_of("chat.delete")) == 1
        await settled(stack.adapter.pipeline)
        record = await stack.engine.store.get_answer(("slack", "C1:850.000002"))
        assert record is not None and record.state == "delivered"


async def test_an_answer_slack_refuses_for_good_is_recorded_as_failed(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.slack.fail("chat.postMessage", times=1, status=200, error="channel_not_found")
        await stack.send(dm("into the void", "850.000003"))
        await stack.send(dm("sentinel", "850.000004", channel="D2"))
        await stack.answer_in("D2", None)
        await settled(stack.adapter.pipeline)
        record = await stack.engine.store.get_answer(("slack", "D1:850.000003"))
        assert record is not None and record.state == "failed"
