from __future__ import annotations

from datetime import date

import pytest

from core.engine import Engine, EngineConfig
from core.errors import CommandError, PermissionDenied
from core.model.fake import ScriptedChatModel
from core.tokens import EstimatingCounter
from core.types import CommandRequest, ConversationRef, Persona, Usage, NewTurn
from tests.core.conftest import CHANNEL

PRESETS = {
    "concise": Persona("Be brief.", name="concise", description="Short answers."),
    "pirate": Persona("Talk like a pirate.", name="pirate", temperature=0.9),
}
DM = ConversationRef("test", "W1", "D1")


@pytest.fixture
def engine(memory_store) -> Engine:
    config = EngineConfig(default_persona=Persona("Default prompt."), model="m", max_persona_chars=50)
    return Engine(
        store=memory_store, model=ScriptedChatModel([]), config=config, presets=PRESETS,
        counter=EstimatingCounter(), today=lambda: date(2026, 11, 22),
    )


def cmd(name: str, args: str = "", *, admin: bool = False, dm: bool = False, where=CHANNEL) -> CommandRequest:
    return CommandRequest(where, "U1", "Alice", name, args, is_dm=dm, is_admin=admin)


async def test_non_admin_cannot_set_a_shared_channel_persona(engine, memory_store):
    with pytest.raises(PermissionDenied, match="Only admins"):
        await engine.run_command(cmd("persona", "set Be evil."))
    assert await memory_store.get_persona(CHANNEL.channel_ref) is None
    assert await memory_store.persona_history(CHANNEL.channel_ref, 10) == []


async def test_admin_sets_persona_and_the_change_is_audited(engine, memory_store):
    result = await engine.run_command(cmd("persona", "set Be kind.", admin=True))
    assert result.changed and "Be kind." in result.text
    assert await memory_store.get_persona(CHANNEL.channel_ref) == Persona("Be kind.")
    [change] = await memory_store.persona_history(CHANNEL.channel_ref, 10)
    assert (change.actor_id, change.actor_name, change.before, change.after) == ("U1", "Alice", None, Persona("Be kind."))


async def test_in_a_dm_the_user_may_change_their_own_persona(engine, memory_store):
    await engine.run_command(cmd("persona", "set Be mine.", dm=True, where=DM))
    assert await memory_store.get_persona(DM.channel_ref) == Persona("Be mine.")


async def test_persona_text_is_bounded(engine, memory_store):
    with pytest.raises(CommandError, match="limit is 50"):
        await engine.run_command(cmd("persona", "set " + "x" * 51, admin=True))
    assert await memory_store.get_persona(CHANNEL.channel_ref) is None


async def test_set_needs_text(engine):
    with pytest.raises(CommandError, match="Usage: /persona set"):
        await engine.run_command(cmd("persona", "set", admin=True))


async def test_use_a_preset_then_reset(engine, memory_store):
    await engine.run_command(cmd("persona", "use pirate", admin=True))
    assert (await memory_store.get_persona(CHANNEL.channel_ref)).name == "pirate"
    shown = await engine.run_command(cmd("persona", "show"))
    assert "Talk like a pirate." in shown.text and "temperature: 0.9" in shown.text
    await engine.run_command(cmd("persona", "reset", admin=True))
    assert await memory_store.get_persona(CHANNEL.channel_ref) is None
    shown = await engine.run_command(cmd("persona"))
    assert "Default prompt." in shown.text and "built-in default" in shown.text


async def test_unknown_preset_is_a_clear_error(engine):
    with pytest.raises(CommandError, match="No preset called 'ninja'"):
        await engine.run_command(cmd("persona", "use ninja", admin=True))


async def test_list_shows_presets_with_descriptions(engine):
    text = (await engine.run_command(cmd("persona", "list"))).text
    assert "concise: Short answers." in text and "pirate: Talk like a pirate." in text


async def test_history_lists_changes_newest_first(engine):
    await engine.run_command(cmd("persona", "set First.", admin=True))
    await engine.run_command(cmd("persona", "use concise", admin=True))
    text = (await engine.run_command(cmd("persona", "history"))).text
    lines = text.splitlines()
    assert "'concise' preset" in lines[1] and '"First."' in lines[1]
    assert "default →" in lines[2] and "by Alice" in lines[2]


async def test_workspace_flag_sets_the_default_for_every_channel(engine, memory_store):
    await engine.run_command(cmd("persona", "set --workspace House style.", admin=True))
    assert await memory_store.get_persona(CHANNEL.channel_ref.workspace_default) == Persona("House style.")
    elsewhere = ConversationRef("test", "W1", "C7")
    assert "House style." in (await engine.run_command(cmd("persona", "show", where=elsewhere))).text


async def test_workspace_flag_is_refused_in_a_dm(engine):
    with pytest.raises(CommandError, match="--workspace"):
        await engine.run_command(cmd("persona", "set --workspace x", dm=True, where=DM))


async def test_forget_is_admin_only_in_shared_channels(engine, memory_store):
    await memory_store.add_turn(CHANNEL, NewTurn("user", "secret", 2))
    with pytest.raises(PermissionDenied):
        await engine.run_command(cmd("forget"))
    assert len(await memory_store.recent_turns(CHANNEL, 5)) == 1
    result = await engine.run_command(cmd("forget", admin=True))
    assert "1 earlier messages" in result.text
    assert await memory_store.recent_turns(CHANNEL, 5) == []


async def test_usage_reports_today_and_total(engine, memory_store):
    turn = NewTurn("assistant", "a", 1)
    await memory_store.add_reply(CHANNEL, turn, Usage(1000, 234), date(2026, 11, 22))
    await memory_store.add_reply(CHANNEL, turn, Usage(4000, 444), date(2026, 11, 21))
    text = (await engine.run_command(cmd("usage"))).text
    assert "1,234 tokens today (1,000 prompt + 234 completion)" in text
    assert "5,678 in total" in text


async def test_usage_shows_cached_tokens_and_money_and_admins_the_workspace(engine, memory_store):
    turn = NewTurn("assistant", "a", 1)
    await memory_store.add_reply(CHANNEL, turn, Usage(1000, 234, cached_tokens=800, cost_usd=0.0031), date(2026, 11, 22))
    await memory_store.add_reply(CHANNEL, turn, Usage(4000, 444, cost_usd=1.5), date(2026, 11, 21))
    other = ConversationRef(CHANNEL.platform, CHANNEL.workspace, "C2")
    await memory_store.add_reply(other, turn, Usage(10, 10, cost_usd=2.0), date(2026, 11, 22))

    text = (await engine.run_command(cmd("usage"))).text
    assert "1,234 tokens today (1,000 prompt, 800 of them cached + 234 completion), $0.0031," in text
    assert "5,678 in total, $1.50." in text
    assert "workspace" not in text and "No prices" not in text

    admin = (await engine.run_command(cmd("usage", admin=True))).text
    assert "This workspace used 1,254 tokens today" in admin and "in total, $3.50." in admin


async def test_usage_without_prices_says_how_to_set_them(engine, memory_store):
    await memory_store.add_reply(CHANNEL, NewTurn("assistant", "a", 1), Usage(10, 5), date(2026, 11, 22))
    assert "No prices are set" in (await engine.run_command(cmd("usage"))).text


async def test_help_and_unknown_commands(engine):
    text = (await engine.run_command(cmd("help"))).text
    assert "/persona set [--workspace] <text>" in text and "/forget" in text and "/tools enable <name>" in text
    with pytest.raises(CommandError, match="Unknown command /dance"):
        await engine.run_command(cmd("dance"))
    with pytest.raises(CommandError, match="Unknown /persona action 'fly'"):
        await engine.run_command(cmd("persona", "fly"))

