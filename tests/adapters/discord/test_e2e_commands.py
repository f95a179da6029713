"""End to end: slash commands through discord.py's CommandTree and the real engine."""

from __future__ import annotations

import pytest

from core.types import ChannelRef
from tests.fakes.discord_server import ADMIN, BOT, DM_CHANNEL, GENERAL, GUILD_ID, MEMBER, FakeDiscord

pytestmark = pytest.mark.e2e

_DEFERRED = 5
_EPHEMERAL = 64


def _set(text: str) -> list[dict]:
    return [{"type": 1, "name": "set", "options": [{"type": 3, "name": "text", "value": text}]}]


async def _result(fake: FakeDiscord, before: int) -> str:
    """The text of the follow-up sent after the ``before`` earlier ones."""
    followups = await fake.wait_for(lambda: [m for m in fake.bot_messages(0)][before:])
    assert followups[0].ephemeral
    return followups[0].content


async def test_commands_are_synced_with_the_admin_hint(bot, discord_fake: FakeDiscord) -> None:
    commands = {c["name"]: c for c in discord_fake.synced_commands if c["type"] == 1}  # slash commands
    assert set(commands) == {"persona", "model", "tools", "forget", "usage", "help"}
    assert str(commands["persona"]["default_member_permissions"]) == "32"  # manage_guild
    assert str(commands["forget"]["default_member_permissions"]) == "32"
    assert str(commands["tools"]["default_member_permissions"]) == "32"
    assert commands["usage"].get("default_member_permissions") is None
    assert {o["name"] for o in commands["persona"]["options"]} == {"show", "set", "use", "reset", "list", "history"}
    assert {o["name"] for o in commands["tools"]["options"]} == {"list", "enable", "disable", "reset", "history"}


async def test_options_are_typed_not_text_lines(bot, discord_fake: FakeDiscord) -> None:
    persona = next(c for c in discord_fake.synced_commands if c["name"] == "persona")
    subcommands = {o["name"]: o for o in persona["options"]}
    assert all(o["type"] == 1 for o in subcommands.values())  # SUB_COMMAND
    typed = {o["name"]: (o["type"], o.get("required", False)) for o in subcommands["set"]["options"]}
    assert typed == {"text": (3, True), "workspace": (5, False)}  # STRING, BOOLEAN
    [preset] = [o for o in subcommands["use"]["options"] if o["name"] == "preset"]
    assert preset["type"] == 3 and preset["required"] and "teacher" in {c["value"] for c in preset["choices"]}


async def test_admin_sets_the_channel_persona_and_the_model_gets_it(bot, discord_fake: FakeDiscord, model_fake) -> None:
    engine, _ = bot
    discord_fake.send_command(GENERAL, ADMIN, "persona", _set("Talk like a pirate."))
    text = await _result(discord_fake, 0)
    assert text.startswith("Persona of this channel set")
    assert discord_fake.callbacks[0] == {"type": _DEFERRED, "data": {"flags": _EPHEMERAL}}
    persona = await engine.store.get_persona(ChannelRef("discord", str(GUILD_ID), str(GENERAL)))
    assert persona is not None and persona.system_prompt == "Talk like a pirate."

    discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> ahoy", mentions=(BOT,))
    await discord_fake.wait_for(lambda: model_fake.requests)
    assert model_fake.requests[0]["messages"][0] == {"role": "system", "content": "Talk like a pirate."}


async def test_non_admin_cannot_set_the_channel_persona(bot, discord_fake: FakeDiscord) -> None:
    engine, _ = bot
    discord_fake.send_command(GENERAL, MEMBER, "persona", _set("Be rude."))
    text = await _result(discord_fake, 0)
    assert text == "Only admins can change the persona here in a shared channel."
    assert await engine.store.get_persona(ChannelRef("discord", str(GUILD_ID), str(GENERAL))) is None


async def test_in_a_dm_the_user_sets_their_own_persona(bot, discord_fake: FakeDiscord) -> None:
    engine, _ = bot
    discord_fake.send_command(DM_CHANNEL, MEMBER, "persona", _set("Be brief."))
    assert (await _result(discord_fake, 0)).startswith("Persona of this channel set")
    persona = await engine.store.get_persona(ChannelRef("discord", "", str(DM_CHANNEL)))
    assert persona is not None and persona.system_prompt == "Be brief."


async def test_workspace_flag_sets_the_guild_default(bot, discord_fake: FakeDiscord) -> None:
    engine, _ = bot
    options = _set("Server voice.")
    options[0]["options"].append({"type": 5, "name": "workspace", "value": True})
    discord_fake.send_command(GENERAL, ADMIN, "persona", options)
    assert "workspace default" in await _result(discord_fake, 0)
    persona = await engine.store.get_persona(ChannelRef("discord", str(GUILD_ID), "*"))
    assert persona is not None and persona.system_prompt == "Server voice."


async def test_usage_help_and_forget(bot, discord_fake: FakeDiscord) -> None:
    discord_fake.send_command(GENERAL, MEMBER, "usage")
    assert "tokens today" in await _result(discord_fake, 0)
    discord_fake.send_command(GENERAL, MEMBER, "help")
    assert "/persona show" in await _result(discord_fake, 1)
    discord_fake.send_command(GENERAL, MEMBER, "forget")
    assert "Only admins" in await _result(discord_fake, 2)
    discord_fake.send_command(GENERAL, ADMIN, "forget")
    assert (await _result(discord_fake, 3)).startswith("Forgotten")
    discord_fake.send_command(GENERAL, MEMBER, "persona", [{"type": 1, "name": "list", "options": []}])
    assert "Preset personas" in await _result(discord_fake, 4)
