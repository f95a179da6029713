"""End to end: Discord's app commands built from the table, typed — a plugin's command
in the sync, /tools, and help written Discord's way."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from adapters.protocol import Adapter
from bots.app import running_engine
from bots.discord_wiring import build_discord
from bots.settings import Settings
from core.engine import Engine
from core.types import ChannelRef
from tests.adapters.discord.conftest import FAST
from tests.core.commands.deploy_plugin import deploy
from tests.fakes.discord_server import ADMIN, DM_CHANNEL, GENERAL, GUILD_ID, MEMBER, FakeDiscord
from tests.fakes.tools import FunctionTool

pytestmark = pytest.mark.e2e

_STRING, _BOOLEAN = 3, 5


@asynccontextmanager
async def bot_with_plugin(settings: Settings) -> AsyncIterator[tuple[Engine, Adapter]]:
    """The bot as the wiring leaves it once plugins are loaded: a plugin's command in the
    table and a tool in the registry before the adapter starts (and syncs)."""
    async with running_engine(settings) as engine:
        engine.commands.add(deploy.spec)
        engine.tools.add(FunctionTool("time", lambda args: "noon"))
        adapter = build_discord(settings, engine, **FAST)
        await adapter.start()
        try:
            yield engine, adapter
        finally:
            await adapter.stop()


@pytest.fixture
async def bot(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[Engine, Adapter]]:
    async with bot_with_plugin(make_settings()) as running:
        yield running


async def _result(fake: FakeDiscord, before: int) -> str:
    followups = await fake.wait_for(lambda: [m for m in fake.bot_messages(0)][before:])
    assert followups[0].ephemeral
    return followups[0].content


async def test_the_sync_has_the_plugins_command_with_typed_options(bot, discord_fake: FakeDiscord) -> None:
    commands = {c["name"]: c for c in discord_fake.synced_commands if c["type"] == 1}  # slash commands
    assert list(commands) == ["persona", "model", "tools", "forget", "usage", "help", "deploy"]
    deploy_ = commands["deploy"]
    assert deploy_["description"] == "Deploy a service"
    assert str(deploy_["default_member_permissions"]) == "32"  # admin=True: offered to managers
    options = {o["name"]: o for o in deploy_["options"]}
    assert [o["name"] for o in deploy_["options"]] == ["service", "env", "dry_run"]  # required first
    assert (options["service"]["type"], options["service"]["required"]) == (_STRING, True)
    assert options["env"]["type"] == _STRING and not options["env"].get("required", False)
    assert [c["value"] for c in options["env"]["choices"]] == ["staging", "prod"]
    assert options["dry_run"]["type"] == _BOOLEAN


async def test_the_plugins_command_runs_with_typed_options(bot, discord_fake: FakeDiscord) -> None:
    options = [{"type": _STRING, "name": "service", "value": "api"}, {"type": _STRING, "name": "env", "value": "prod"},
               {"type": _BOOLEAN, "name": "dry_run", "value": True}]
    discord_fake.send_command(GENERAL, ADMIN, "deploy", options)
    assert await _result(discord_fake, 0) == "Would deploy api to prod for alice-admin on discord."
    discord_fake.send_command(GENERAL, MEMBER, "deploy", options[:1])
    assert await _result(discord_fake, 1) == "Only admins can use /deploy."


def _sub(subcommand: str, **values: Any) -> list[dict[str, Any]]:
    options = [{"type": _STRING, "name": k, "value": v} for k, v in values.items()]
    return [{"type": 1, "name": subcommand, "options": options}]


async def test_tools_for_admins_only_in_a_server_and_in_a_dm(bot, discord_fake: FakeDiscord) -> None:
    engine, _ = bot
    discord_fake.send_command(GENERAL, MEMBER, "tools", _sub("enable", name="time"))
    assert await _result(discord_fake, 0) == "Only admins can change the tools here."
    discord_fake.send_command(DM_CHANNEL, MEMBER, "tools", _sub("enable", name="time"))
    assert await _result(discord_fake, 1) == "Only admins can change the tools here."
    assert await engine.store.get_channel_tools(ChannelRef("discord", "", str(DM_CHANNEL))) is None

    discord_fake.send_command(GENERAL, ADMIN, "tools", _sub("enable", name="time"))
    assert await _result(discord_fake, 2) == "Enabled here: time. Tools here now: time."
    channel = ChannelRef("discord", str(GUILD_ID), str(GENERAL))
    assert await engine.store.get_channel_tools(channel) == {"time"}
    discord_fake.send_command(GENERAL, MEMBER, "tools", _sub("list"))
    assert "on   time" in await _result(discord_fake, 3)


async def test_help_lists_the_table_as_discord_shows_options(bot, discord_fake: FakeDiscord) -> None:
    discord_fake.send_command(GENERAL, MEMBER, "help")
    text = await _result(discord_fake, 0)
    assert "/persona set [workspace] <text>" in text and "--workspace" not in text
    assert "/deploy <service> [staging|prod] [dry_run]" in text and "/help" in text
