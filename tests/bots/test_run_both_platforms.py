"""``chatwright run``'s core: Slack and Discord together in one event loop."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bots.runner import Bot
from bots.settings import Settings
from core.errors import ConfigurationError
from tests.adapters.slack.harness import mention, test_settings as slack_settings
from tests.fakes.discord_server import DM_CHANNEL, MEMBER, FakeDiscord
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import FakeSlackAPI, SignedSender

pytestmark = pytest.mark.e2e


@pytest.fixture
async def fakes():
    async with FakeSlackAPI() as slack, FakeDiscord() as discord, FakeOpenAIServer() as model:
        yield slack, discord, model


def both(slack: FakeSlackAPI, discord: FakeDiscord, model: FakeOpenAIServer, tmp_path: Path, **discord_values: Any) -> Settings:
    settings = slack_settings(slack, model, tmp_path)
    values = {
        "discord_token": discord.token,
        "discord_api_url": discord.api_url,
        "discord_gateway_url": discord.gateway_url,
        **discord_values,
    }
    return rebuilt(settings, **values)


def rebuilt(settings: Settings, **values: Any) -> Settings:
    # model_copy would skip validation (a token would stay a plain string).
    return Settings(_env_file=None, **(settings.model_dump() | values))  # type: ignore[call-arg]


async def test_slack_and_discord_answer_side_by_side(fakes, tmp_path):
    slack, discord, model = fakes
    async with Bot(both(slack, discord, model, tmp_path)) as bot:
        assert sorted(a.name for a in bot.adapters) == ["discord", "slack"]
        async with SignedSender(f"http://127.0.0.1:{bot.http_port}/slack/events") as sender:
            await sender.event(mention("hello slack", "1700000000.000100", channel="C1"))
        discord.send_message(DM_CHANNEL, MEMBER, "hello discord")
        await slack.wait_for(lambda: any("echo:" in t for t in slack.bot_texts("C1", "1700000000.000100")))
        await discord.wait_for(lambda: any("echo: hello discord" in m.content for m in discord.bot_messages(DM_CHANNEL)))


async def test_discord_failing_to_connect_leaves_slack_running(fakes, tmp_path, caplog):
    slack, discord, model = fakes
    caplog.set_level(logging.ERROR)
    settings = both(slack, discord, model, tmp_path, discord_api_url="http://127.0.0.1:9/api/v10")
    async with Bot(settings) as bot:
        assert [a.name for a in bot.adapters] == ["slack"]
        async with SignedSender(f"http://127.0.0.1:{bot.http_port}/slack/events") as sender:
            await sender.event(mention("still there?", "1700000000.000200", channel="C2"))
        await slack.wait_for(lambda: any("echo:" in t for t in slack.bot_texts("C2", "1700000000.000200")))
    assert "discord failed to connect" in caplog.text
    assert "Traceback" not in caplog.text


async def test_nothing_connecting_is_a_clear_error(fakes, tmp_path):
    slack, discord, model = fakes
    settings = both(slack, discord, model, tmp_path, discord_api_url="http://127.0.0.1:9/api/v10")
    settings = rebuilt(settings, slack_bot_token=None)
    with pytest.raises(ConfigurationError, match="no platform could connect"):
        async with Bot(settings):
            pass
