"""``/tools list|enable|disable|reset|history``: per-channel tools, admins only, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from core.commands import Commands
from core.errors import CommandError, PermissionDenied
from core.tools.policy import ToolLimits, enabled_tools
from core.tools.registry import ToolInfo, ToolRegistry
from core.types import ChannelRef, CommandRequest, ConversationRef, Persona

CHANNEL = ConversationRef("test", "W1", "C1")
DM = ConversationRef("test", "W1", "D1")
DEFAULT = Persona("Default.")


@dataclass
class _Tool:
    info: ToolInfo

    async def call(self, arguments: dict[str, Any]) -> str:  # pragma: no cover - never called here
        return ""


def _tool(name: str, source: str, description: str = "") -> _Tool:
    return _Tool(ToolInfo(name, description or f"The {name} tool.", {"type": "object"}, source))


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry([
        _tool("time", "built-in", "The current time"),
        _tool("fetch_url", "plugins.example", "Fetch a web page"),
        _tool("github.search_issues", "mcp:github", "Search issues"),
        _tool("github.create_issue", "mcp:github", "Open an issue"),
    ])


@pytest.fixture
def personas() -> dict[ChannelRef, Persona]:
    return {}


@pytest.fixture
def commands(memory_store, registry, personas) -> Commands:
    async def persona_for(channel: ChannelRef) -> tuple[Persona, str]:
        return personas.get(channel, DEFAULT), "test"

    async def forget(request: CommandRequest) -> int:  # pragma: no cover - not used here
        return 0

    return Commands(memory_store, {}, persona_for, forget, lambda: date(2026, 11, 22), 100,
                    tools=registry, tool_limits=ToolLimits(default=frozenset({"time"})))


def tools(args: str, *, admin: bool = False, where: ConversationRef = CHANNEL) -> CommandRequest:
    return CommandRequest(where, "U1", "Alice", "tools", args, is_dm=where is DM, is_admin=admin)


async def _enabled(store, registry, where=CHANNEL, persona=DEFAULT) -> frozenset[str]:
    return await enabled_tools(store, registry, where.channel_ref, persona, ToolLimits(default=frozenset({"time"})))


async def test_list_shows_each_source_and_what_is_on_here_by_default(commands):
    text = (await commands.run(tools("list"))).text
    lines = text.splitlines()
    assert lines[0] == "Tools (on = the model may call it here; the default (TOOLS_ENABLED)):"
    assert lines[1:] == [
        "Built-in:",
        "  on   time: The current time",
        "Plugin plugins.example:",
        "  off  fetch_url: Fetch a web page",
        "MCP server github:",
        "  off  github.create_issue: Open an issue",
        "  off  github.search_issues: Search issues",
    ]
    # A bare /tools lists too.
    assert (await commands.run(tools(""))).text == text


async def test_list_says_when_the_persona_chose(commands, personas):
    personas[CHANNEL.channel_ref] = Persona("Researcher.", name="researcher", tools=("fetch_url",))
    text = (await commands.run(tools("list"))).text
    assert "the 'researcher' persona's choice" in text
    assert "  on   fetch_url" in text and "  off  time" in text


async def test_admin_enables_from_the_set_in_force_and_it_is_audited(commands, memory_store, registry):
    result = await commands.run(tools("enable github__search_issues", admin=True))  # the model's name works too
    assert result.changed
    assert result.text == "Enabled here: github.search_issues. Tools here now: github.search_issues, time."
    assert await memory_store.get_channel_tools(CHANNEL.channel_ref) == {"time", "github.search_issues"}
    assert await _enabled(memory_store, registry) == {"time", "github.search_issues"}
    [change] = await memory_store.tools_history(CHANNEL.channel_ref, 10)
    assert (change.actor_id, change.actor_name, change.before, change.after) == (
        "U1", "Alice", None, frozenset({"time", "github.search_issues"}))
    text = (await commands.run(tools("list"))).text
    assert "chosen for this channel" in text and "  on   github.search_issues" in text


async def test_disable_then_history_then_reset(commands, memory_store, registry):
    await commands.run(tools("enable fetch_url, github.create_issue", admin=True))
    result = await commands.run(tools("disable time", admin=True))
    assert result.text == "Disabled here: time. Tools here now: fetch_url, github.create_issue."
    history = (await commands.run(tools("history"))).text.splitlines()
    assert history[0] == "Tools changes, newest first:"
    assert history[1].endswith("by Alice: fetch_url, github.create_issue, time → fetch_url, github.create_issue")
    assert history[2].endswith("by Alice: default → fetch_url, github.create_issue, time")

    reset = await commands.run(tools("reset", admin=True))
    assert reset.changed and reset.text == "Tools of this channel reset: the default (TOOLS_ENABLED) applies (time)."
    assert await memory_store.get_channel_tools(CHANNEL.channel_ref) is None
    assert len(await memory_store.tools_history(CHANNEL.channel_ref, 10)) == 3
    again = await commands.run(tools("reset", admin=True))
    assert not again.changed and "no choice of tools of its own" in again.text
    assert len(await memory_store.tools_history(CHANNEL.channel_ref, 10)) == 3


async def test_enable_all_and_disable_from_all(commands, memory_store, registry):
    await commands.run(tools("enable ALL", admin=True))
    assert await memory_store.get_channel_tools(CHANNEL.channel_ref) == {"all"}
    assert await _enabled(memory_store, registry) == set(registry.names())
    result = await commands.run(tools("disable fetch_url", admin=True))
    assert await memory_store.get_channel_tools(CHANNEL.channel_ref) == set(registry.names()) - {"fetch_url"}
    assert "Disabled here: fetch_url." in result.text
    await commands.run(tools("disable all", admin=True))
    assert await memory_store.get_channel_tools(CHANNEL.channel_ref) == frozenset()
    assert "  on " not in (await commands.run(tools("list"))).text


async def test_nothing_to_change_writes_nothing(commands, memory_store):
    assert (await commands.run(tools("enable time", admin=True))).text == "Already enabled here: time."
    assert (await commands.run(tools("disable fetch_url", admin=True))).text == "Not enabled here: fetch_url."
    assert await memory_store.tools_history(CHANNEL.channel_ref, 10) == []


@pytest.mark.parametrize("where", [CHANNEL, DM])
@pytest.mark.parametrize("args", ["enable fetch_url", "disable time", "reset"])
async def test_non_admins_cannot_change_tools_in_a_channel_or_a_dm(commands, memory_store, where, args):
    with pytest.raises(PermissionDenied, match=r"^Only admins can change the tools here\.$"):
        await commands.run(tools(args, where=where))
    assert await memory_store.get_channel_tools(where.channel_ref) is None
    assert await memory_store.tools_history(where.channel_ref, 10) == []


async def test_anyone_may_list_and_read_the_history(commands):
    assert "Built-in:" in (await commands.run(tools("list", where=DM))).text
    assert (await commands.run(tools("history"))).text == "The tools here have never been changed."


async def test_an_admin_in_a_dm_changes_that_dm_only(commands, memory_store, registry):
    await commands.run(tools("enable fetch_url", admin=True, where=DM))
    assert await _enabled(memory_store, registry, DM) == {"time", "fetch_url"}
    assert await _enabled(memory_store, registry, CHANNEL) == {"time"}


@pytest.mark.parametrize(("name", "message"), [
    ("fetch-url", "No tool called 'fetch-url'. Did you mean fetch_url? See /tools list."),
    ("github.search", "No tool called 'github.search'. Did you mean github.search_issues? See /tools list."),
    ("weather", "No tool called 'weather'. See /tools list."),
    ("TIME,FETCH", "No tool called 'FETCH'. Did you mean fetch_url? See /tools list."),
])
async def test_unknown_names_are_refused_with_close_matches(commands, memory_store, name, message):
    with pytest.raises(CommandError) as raised:
        await commands.run(tools(f"enable {name}", admin=True))
    assert str(raised.value) == message
    assert await memory_store.tools_history(CHANNEL.channel_ref, 10) == []


async def test_a_tool_in_force_that_is_gone_shows_and_may_be_disabled(commands, memory_store, registry):
    await commands.run(tools("enable github.create_issue", admin=True))
    registry.remove_source("mcp:github")  # the server went down
    text = (await commands.run(tools("list"))).text
    assert "MCP server github" not in text
    assert text.endswith("Enabled but not available now: github.create_issue.")
    await commands.run(tools("disable github.create_issue", admin=True))
    assert await memory_store.get_channel_tools(CHANNEL.channel_ref) == {"time"}


async def test_all_must_stand_alone(commands):
    with pytest.raises(CommandError, match="Use 'all' on its own"):
        await commands.run(tools("enable all time", admin=True))


async def test_no_tools_installed(memory_store):
    async def persona_for(channel):
        return DEFAULT, "test"

    bare = Commands(memory_store, {}, persona_for, None, date.today, 100)  # type: ignore[arg-type]
    assert "No tools are installed" in (await bare.run(tools("list"))).text
    with pytest.raises(CommandError, match="No tool called 'time'"):
        await bare.run(tools("enable time", admin=True))
