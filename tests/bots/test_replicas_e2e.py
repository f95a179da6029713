"""Three ``chatwright run`` processes on one PostgreSQL database, Slack in HTTP mode.

Each replica is a real bot process on its own port; the fake Slack and model run in this
process and are shared, as the real ones would be. Events go to a random replica and
their retries to the others; one thread's messages are spread over all three; one
replica is killed mid-answer; commands through one replica are seen by the others.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.adapters.slack.harness import dm, mention
from tests.bot_process import BotProcess, slack_http_environment
from tests.fakes.openai_server import Answer, FakeOpenAIServer
from tests.fakes.slack_api import FakeSlackAPI, SignedSender

pytestmark = pytest.mark.e2e

KEY = "sk-replica-test-key"
REPLICAS = 3
WAIT = 30.0
# U1, who sends the events, as the model reads them in a channel: "u1: text" (the name the
# fake users.info gives U1, which has no profile; see core/speakers.py).
SPEAKER = "u1"


@asynccontextmanager
async def replicas(
    tmp_path: Path, postgres_url: str, slack: FakeSlackAPI, model: FakeOpenAIServer, **settings: str
) -> AsyncIterator[list[tuple[BotProcess, SignedSender]]]:
    """Three bots on one database, each with a sender of signed events to it."""
    async with AsyncExitStack() as stack:
        started = []
        for n in range(REPLICAS):
            workdir = tmp_path / f"replica-{n}"
            workdir.mkdir()
            env = slack_http_environment(slack.base_url, model.base_url, KEY, workdir)
            env.update(DATABASE_URL=postgres_url, OPENAI_MODEL="fake-model", OPENAI_MAX_RETRIES="0",
                       TIKTOKEN_CACHE_DIR=str(tmp_path / "no-tiktoken"), ADMIN_USER_IDS="slack:U1",
                       USER_MESSAGES_PER_MINUTE="0", **settings)
            bot = await stack.enter_async_context(BotProcess(env, workdir))
            sender = await stack.enter_async_context(SignedSender(bot.events_url))
            started.append((bot, sender))
        await slack.wait_for(lambda: len(slack.calls_of("auth.test")) >= REPLICAS, timeout=WAIT)
        yield started
        password = urlsplit(postgres_url).password
        for bot, _ in started:
            log = bot.log()
            assert "Traceback" not in log, log
            assert KEY not in log and (not password or password not in log), log


def _user_turns(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "user"]


async def test_each_event_is_answered_once_whichever_replica_gets_it_and_its_retries(tmp_path, postgres_url):
    rng = random.Random(7)
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        async with replicas(tmp_path, postgres_url, slack, model) as bots:
            for n in range(12):
                event = mention(f"question {n}", f"1700000100.{n:06d}", channel=f"C{n}")
                order = rng.sample(bots, REPLICAS)
                statuses = [(await order[0][1].event(event, event_id=f"Ev{n}")).status]
                for retry, (_, sender) in enumerate(order[1:], start=1):
                    statuses.append((await sender.event(event, event_id=f"Ev{n}", retry_num=retry)).status)
                assert statuses == [200] * REPLICAS
            for n in range(12):
                ts = f"1700000100.{n:06d}"
                await slack.wait_for(
                    lambda: slack.bot_texts(f"C{n}", ts) == [f"echo: {SPEAKER}: question {n}"], timeout=WAIT)
        assert len(model.requests) == 12


async def test_one_thread_spread_over_replicas_is_answered_in_order_each_seeing_all_before(tmp_path, postgres_url):
    rng = random.Random(11)
    count = 50
    thread = "1700000200.000000"
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        async with replicas(tmp_path, postgres_url, slack, model) as bots:
            for n in range(count):
                ts = thread if n == 0 else f"1700000200.{n:06d}"
                event = mention(f"m{n}", ts, channel="CT", thread_ts=None if n == 0 else thread)
                _, sender = rng.choice(bots)
                assert (await sender.event(event)).status == 200
            await slack.wait_for(lambda: len(slack.bot_texts("CT", thread)) >= count, timeout=WAIT * 2)
        assert slack.bot_texts("CT", thread) == [f"echo: {SPEAKER}: m{n}" for n in range(count)]
        # Each answer was asked after every earlier one was stored: it saw them all, in order.
        for n, request in enumerate(model.requests):
            assert _user_turns(request) == [f"{SPEAKER}: m{i}" for i in range(n + 1)]
            assistant = [m["content"] for m in request["messages"] if m["role"] == "assistant"]
            assert assistant == [f"echo: {SPEAKER}: m{i}" for i in range(n)]


async def test_a_replica_killed_mid_answer_is_finished_by_another_within_the_lease(tmp_path, postgres_url):
    lease = 2.0
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        async with replicas(tmp_path, postgres_url, slack, model, ANSWER_LEASE_SECONDS=str(lease)) as bots:
            words = " ".join(f"word{n}" for n in range(60))
            model.script(Answer(words, chunk_size=8, chunk_delay=0.12))
            victim, sender = bots[0]
            ts = "1700000300.000001"
            await sender.event(mention("who finishes this?", ts, channel="CK"))
            placeholder = await slack.wait_for(
                lambda: (ms := slack.thread("CK", ts)) and len(ms[0].history) > 1 and ms[0], timeout=WAIT)
            await victim.kill()
            killed_at = time.monotonic()
            await slack.wait_for(
                lambda: slack.bot_texts("CK", ts) == [f"echo: {SPEAKER}: who finishes this?"], timeout=WAIT)
            # Within the lease, plus the survivors' next look (half a lease apart) and the answer.
            assert time.monotonic() - killed_at < 3 * lease + 2
            [message] = slack.thread("CK", ts)
            assert message.ts == placeholder.ts
            resumed = model.requests[-1]
            assert _user_turns(resumed).count(f"{SPEAKER}: who finishes this?") == 1


async def test_persona_and_forget_through_one_replica_hold_on_the_others(tmp_path, postgres_url):
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        async with replicas(tmp_path, postgres_url, slack, model) as bots:
            (_, first), (_, second), (_, third) = bots
            set_ = await first.command("/persona", "set You are a pirate.", user_id="U1", channel_id="CP")
            assert set_.status == 200
            await second.event(mention("ahoy?", "1700000400.000001", channel="CP"))
            await slack.wait_for(lambda: slack.bot_texts("CP", "1700000400.000001"), timeout=WAIT)
            assert model.requests[-1]["messages"][0] == {"role": "system", "content": "You are a pirate."}

            await first.event(dm("remember the password swordfish", "1700000400.000002"))
            await slack.wait_for(lambda: len(slack.bot_texts("D1")) == 1, timeout=WAIT)
            forget = await second.command("/forget", "", user_id="U1", channel_id="D1")
            assert forget.status == 200
            await third.event(dm("what was the password?", "1700000400.000003"))
            await slack.wait_for(lambda: len(slack.bot_texts("D1")) == 2, timeout=WAIT)
            assert _user_turns(model.requests[-1]) == ["what was the password?"]


