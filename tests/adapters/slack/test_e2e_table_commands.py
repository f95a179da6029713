"""End to end: the table's commands in Slack — /tools, Slack's own help, a plugin's command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from adapters.slack.mrkdwn import escape
from bots.settings import Settings
from core.engine import Engine
from core.types import ChannelRef
from tests.adapters.slack import harness
from tests.adapters.slack.harness import mention, slack_stack
from tests.core.commands.deploy_plugin import deploy
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.tools import FunctionTool

pytestmark = pytest.mark.e2e

_CHANNEL = ChannelRef("slack", "T1", "C1")
_DM = ChannelRef("slack", "T1", "D1")


@pytest.fixture(autouse=True)
def with_plugin(monkeypatch) -> None:
    """The engine as the wiring leaves it once plugins are loaded: a plugin's command in
    its table and a tool in its registry, before the Slack app is built."""
    real = harness.running_engine

    @asynccontextmanager
    async def running_engine(settings: Settings, **options: Any) -> AsyncIterator[Engine]:
        async with real(settings, **options) as engine:
            engine.commands.add(deploy.spec)
            engine.tools.add(FunctionTool("time", lambda args: "noon"))
            yield engine

    monkeypatch.setattr(harness, "running_engine", running_engine)


async def test_a_plugins_command_is_a_slash_command(tmp_path):
    async with FakeSlackAPI(admins={"UADMIN"}) as slack, slack_stack(tmp_path, slack=slack) as stack:
        sent = await stack.sender.command("/deploy", "api prod --dry_run", user_id="UADMIN")
        assert sent.json() == {"response_type": "ephemeral", "text": "Would deploy api to prod for uadmin on slack."}
        refused = await stack.sender.command("/deploy", "api", user_id="UNOBODY")
        assert refused.json()["text"] == "Only admins can use /deploy."


@pytest.mark.parametrize("channel", ["C1", "D1"])
async def test_non_admins_cannot_change_tools_in_a_channel_or_a_dm(tmp_path, channel):
    async with slack_stack(tmp_path) as stack:
        sent = await stack.sender.command("/tools", "enable time", user_id="UNOBODY", channel_id=channel)
        assert sent.json() == {"response_type": "ephemeral", "text": "Only admins can change the tools here."}
        where = _CHANNEL if channel == "C1" else _DM
        assert await stack.engine.store.get_channel_tools(where) is None
        listed = await stack.sender.command("/tools", "", user_id="UNOBODY", channel_id=channel)
        assert "off  time" in listed.json()["text"]


async def test_an_admin_enables_a_tool_for_the_channel(tmp_path):
    async with FakeSlackAPI(admins={"UADMIN"}) as slack, slack_stack(tmp_path, slack=slack) as stack:
        sent = await stack.sender.command("/tools", "enable time", user_id="UADMIN")
        assert sent.json() == {"response_type": "in_channel", "text": "Enabled here: time. Tools here now: time."}
        assert await stack.engine.store.get_channel_tools(_CHANNEL) == {"time"}
        [change] = await stack.engine.store.tools_history(_CHANNEL, 10)
        assert (change.actor_id, change.after) == ("UADMIN", frozenset({"time"}))


async def test_help_in_slack_is_persona_help_or_a_mention(tmp_path):
    async with slack_stack(tmp_path) as stack:
        sent = await stack.sender.command("/persona", "help")
        text = sent.json()["text"]
        assert sent.json()["response_type"] == "ephemeral"
        assert escape("/deploy <service> [staging|prod] [--dry_run]") in text and "  /help " not in text
        assert text.endswith("Slack keeps /help for itself: for this text, use /persona help, or mention me with help.")
        await stack.send(mention("help", "930.000001"))
        [posted] = await stack.answer_in("C1", "930.000001")
        assert posted == text
        assert not stack.model.requests  # help is not a question for the model
