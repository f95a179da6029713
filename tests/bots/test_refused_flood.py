"""``chatwright run`` under a flood of refused requests: its memory stays bounded.

Anyone on the internet can post junk to ``/slack/events``. Each 2 MB post used to leave
the megabyte read so far in a reference cycle that only the (tuned, rarely running)
cycle collector frees: 300 of them grew the bot from 60 MB to 1 GB. The bot runs in its
own process with its collector tuned as in production (``bots/gc_tuning.py``); the bound
is generous, this is not a benchmark (``bench/refused_flood.py`` is).
"""

from __future__ import annotations

import pytest

from tests.adapters.slack.harness import mention
from tests.bot_process import BotProcess, slack_http_environment
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import FakeSlackAPI, SignedSender
from tests.flood import post_refused, rss_bytes

pytestmark = pytest.mark.e2e

KEY = "sk-flood-test-key"
POSTS = 300
BODY = 2_000_000
MAX_GROWTH = 300 * 1024 * 1024


async def test_refused_posts_leave_the_bot_memory_bounded_and_serving(tmp_path):
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        env = slack_http_environment(slack.base_url, model.base_url, KEY, tmp_path)
        env.update(OPENAI_MODEL="fake-model", TIKTOKEN_CACHE_DIR=str(tmp_path / "no-tiktoken"))
        async with BotProcess(env, tmp_path) as bot:
            await slack.wait_for(lambda: slack.calls_of("auth.test"), timeout=30)
            before = rss_bytes(bot.pid)
            statuses = await post_refused(bot.events_url, POSTS, BODY)
            growth = rss_bytes(bot.pid) - before

            assert statuses == {413: POSTS}
            assert growth < MAX_GROWTH, f"RSS grew by {growth / 2**20:.0f} MB"
            async with SignedSender(bot.events_url) as sender:
                assert (await sender.event(mention("after the flood", "1700000000.000100"))).status == 200
            await slack.wait_for(lambda: slack.bot_texts("C1", "1700000000.000100"), timeout=30)

    log = bot.log_path.read_text()
    assert "Traceback" not in log and " ERROR " not in log
