"""``/model show|list|use|history``: the model per channel, admins only in shared channels, audited."""

from __future__ import annotations

from datetime import date

import pytest

from core.commands import Commands
from core.errors import CommandError, PermissionDenied
from core.model.catalog import ModelCatalog, ModelInfo, Prices, Provider
from core.types import ChannelRef, CommandRequest, ConversationRef, Persona

CHANNEL = ConversationRef("test", "W1", "C1")
DM = ConversationRef("test", "W1", "D1")
DEFAULT = Persona("Default.")
PROVIDERS = {"default": Provider("default", "http://a/v1"), "local": Provider("local", "http://b/v1")}
CATALOG = ModelCatalog(PROVIDERS, {
    "gpt-4o-mini": ModelInfo("gpt-4o-mini", context_window=128_000, vision=True, prices=Prices(0.15, 0.6)),
    "llama": ModelInfo("llama", "local", "llama3.2:3b", context_window=4096, max_reply_tokens=512,
                       vision=False, tools=False),
}, default_model="gpt-4o-mini", named_only=True)
CONCISE = Persona("Be concise.", name="concise")
CODER = Persona("You review code.", name="coder", model="llama", temperature=0.2)


def commands_for(store, catalog: ModelCatalog = CATALOG) -> Commands:
    async def persona_for(channel: ChannelRef) -> tuple[Persona, str]:  # as the engine's
        persona = await store.get_persona(channel)
        if persona is not None:
            return persona, "set for this channel"
        persona = await store.get_persona(channel.workspace_default)
        if persona is not None:
            return persona, "the workspace default"
        return DEFAULT, "the built-in default"

    async def forget(request: CommandRequest) -> int:  # pragma: no cover - not used here
        return 0

    presets = {"coder": CODER, "concise": CONCISE}
    return Commands(store, presets, persona_for, forget, lambda: date(2026, 11, 22), 100, models=catalog)


@pytest.fixture
def commands(memory_store) -> Commands:
    return commands_for(memory_store)


def request(name: str, args: str, *, admin: bool = True, where: ConversationRef = CHANNEL) -> CommandRequest:
    return CommandRequest(where, "U1", "Alice", name, args, is_dm=where is DM, is_admin=admin)


async def run(commands: Commands, args: str, **kwargs) -> str:
    return (await commands.run(request("model", args, **kwargs))).text


async def test_show_says_the_default_model_and_what_it_takes(commands):
    assert await run(commands, "") == (
        "Model here: gpt-4o-mini (the default).\n"
        "provider default, 128,000-token window, sees images, tools, $0.15 in / $0.6 out per million tokens"
    )


async def test_use_switches_this_channel_keeps_its_persona_and_is_audited(commands, memory_store):
    await memory_store.set_persona(CHANNEL.channel_ref, Persona("Be brief.", temperature=0.1), "U9", "Bob")

    result = await commands.run(request("model", "use llama"))

    assert result.changed and result.text == "This channel now uses llama."
    assert await memory_store.get_persona(CHANNEL.channel_ref) == Persona("Be brief.", model="llama", temperature=0.1)
    assert await run(commands, "show") == (
        "Model here: llama (set for this channel).\n"
        "provider local, 4,096-token window, replies up to 512 tokens, no images, no tools"
    )
    history = await run(commands, "history")
    assert history.splitlines()[1].endswith("by Alice: default (gpt-4o-mini) → llama")
    persona_history = (await commands.run(request("persona", "history"))).text
    assert persona_history.splitlines()[1].endswith('by Alice: "Be brief." → "Be brief." (model llama)')


async def test_use_in_a_channel_without_its_own_persona_stores_the_one_in_force(commands, memory_store):
    workspace = CHANNEL.channel_ref.workspace_default
    await memory_store.set_persona(workspace, Persona("House style."), "U9", "Bob")

    await commands.run(request("model", "use llama"))

    assert await memory_store.get_persona(CHANNEL.channel_ref) == Persona("House style.", model="llama")
    assert await memory_store.get_persona(workspace) == Persona("House style.")


async def test_only_admins_change_the_model_in_a_shared_channel_anyone_in_their_dm(commands, memory_store):
    with pytest.raises(PermissionDenied, match="Only admins can change the model here in a shared channel"):
        await run(commands, "use llama", admin=False)
    assert await memory_store.get_persona(CHANNEL.channel_ref) is None

    assert await run(commands, "use llama", admin=False, where=DM) == "This channel now uses llama."
    assert (await memory_store.get_persona(DM.channel_ref)).model == "llama"


async def test_use_refuses_a_model_the_file_does_not_list_and_lists_them(commands, memory_store):
    with pytest.raises(CommandError, match=r"No model called 'gpt-5'\. The models: gpt-4o-mini, llama\."):
        await run(commands, "use gpt-5")
    assert await memory_store.get_persona(CHANNEL.channel_ref) is None


async def test_without_a_models_file_any_model_may_be_named(memory_store):
    commands = commands_for(memory_store, ModelCatalog(PROVIDERS, default_model="gpt-4o-mini"))

    assert await run(commands, "use gpt-4.1") == "This channel now uses gpt-4.1."
    assert await run(commands, "show") == "Model here: gpt-4.1 (set for this channel).\nprovider default, window not known, tools"
    assert await run(commands, "list") == (
        "The default model is gpt-4o-mini.\nThis channel uses gpt-4.1.\n"
        "Any model the API offers may be named: /model use NAME. "
        "(MODELS_FILE lists models, with their providers, windows and prices.)"
    )


async def test_use_default_follows_the_default_again_and_twice_is_said(commands, memory_store):
    await run(commands, "use llama")
    assert await run(commands, "use default") == "This channel now uses the default model (gpt-4o-mini)."
    assert (await memory_store.get_persona(CHANNEL.channel_ref)).model is None
    assert await run(commands, "use default") == "Already using the default model here."
    assert await run(commands, "use gpt-4o-mini") == "This channel now uses gpt-4o-mini."
    assert await run(commands, "use gpt-4o-mini") == "Already using gpt-4o-mini here."


async def test_list_marks_the_default_and_the_model_in_use_here(commands):
    await run(commands, "use llama")
    assert (await run(commands, "list")).splitlines() == [
        "Models (use with /model use NAME):",
        "  gpt-4o-mini (default): provider default, 128,000-token window, sees images, tools, "
        "$0.15 in / $0.6 out per million tokens",
        "  llama (in use here): provider local, 4,096-token window, replies up to 512 tokens, no images, no tools",
    ]


async def test_a_presets_model_is_shown_as_the_personas(commands, memory_store):
    await commands.run(request("persona", "use coder"))

    assert (await run(commands, "show")).splitlines()[0] == "Model here: llama (the 'coder' persona's, set for this channel)."
    # Switching keeps the preset's prompt and settings, only the model changes.
    await run(commands, "use gpt-4o-mini")
    stored = await memory_store.get_persona(CHANNEL.channel_ref)
    assert (stored.name, stored.system_prompt, stored.temperature, stored.model) == (
        "coder", "You review code.", 0.2, "gpt-4o-mini")


async def test_a_new_prompt_keeps_the_model_chosen_here(commands, memory_store):
    await run(commands, "use llama")
    await commands.run(request("persona", "set Be long."))
    await commands.run(request("persona", "use concise"))

    assert await memory_store.get_persona(CHANNEL.channel_ref) == Persona("Be concise.", name="concise", model="llama")
    await run(commands, "use gpt-4o-mini")
    await commands.run(request("persona", "use coder"))  # a preset naming its own model brings it
    assert (await memory_store.get_persona(CHANNEL.channel_ref)).model == "llama"


async def test_history_lists_only_the_changes_of_the_model(commands, memory_store):
    assert await run(commands, "history") == "The model here has never been changed."
    await commands.run(request("persona", "set Be brief."))
    await run(commands, "use llama")
    await commands.run(request("persona", "set Be long."))  # the prompt only: the model stays
    await commands.run(request("persona", "reset"))  # everything: back to the default

    lines = (await run(commands, "history")).splitlines()
    assert lines[0] == "Model changes, newest first:"
    assert [line.split(": ", 1)[1] for line in lines[1:]] == [
        "llama → default (gpt-4o-mini)", "default (gpt-4o-mini) → llama"]


def test_model_is_in_the_command_table_and_help(commands):
    spec = commands.table.get("model")
    assert spec is not None and [s.name for s in spec.subcommands] == ["show", "list", "use", "history"]
