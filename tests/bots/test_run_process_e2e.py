"""``chatwright run`` as it is deployed: its own process, configured by the environment,
answering a signed Slack mention over HTTP and stopping cleanly on SIGTERM."""

from __future__ import annotations

import re
import sys

import pytest

from tests.adapters.slack.harness import mention
from tests.bot_process import BotProcess, slack_http_environment
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI, SignedSender

pytestmark = pytest.mark.e2e

KEY = "sk-process-test-key"


async def test_run_answers_a_mention_and_stops_cleanly_on_sigterm(tmp_path):
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        env = slack_http_environment(slack.base_url, model.base_url, KEY, tmp_path)
        env.update(OPENAI_MODEL="fake-model", TIKTOKEN_CACHE_DIR=str(tmp_path / "no-tiktoken"))
        async with BotProcess(env, tmp_path) as bot:
            await slack.wait_for(lambda: slack.calls_of("auth.test"), timeout=30)
            async with SignedSender(bot.events_url) as sender:
                sent = await sender.event(mention("hello from a process", "1700000000.000100", channel="C1"))
            assert sent.status == 200
            await slack.wait_for(
                lambda: any("hello from a process" in t for t in slack.bot_texts("C1", "1700000000.000100")),
                timeout=30,
            )
            code = await bot.stop()

    log = bot.log_path.read_text()
    assert code == 0, log
    loop = "asyncio" if sys.platform == "win32" else "uvloop"
    assert f"running on the {loop} event loop" in log
    # The collector was tuned once startup was done (bots/gc_tuning.py).
    frozen = re.search(r"\((\d+) startup objects left out of garbage collection\)", log)
    assert frozen and int(frozen.group(1)) > 10_000, log
    assert KEY not in log and BOT_TOKEN not in log and SIGNING_SECRET not in log
    assert "Traceback" not in log
