"""The console reads command lines with core's parser: built-ins and a plugin's command."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest

from adapters.console.adapter import CONSOLE_HELP, ConsoleAdapter, ConsoleConfig
from core.engine import Engine, EngineConfig
from core.model.fake import ScriptedChatModel
from core.store.memory import InMemoryStore
from core.types import ChannelRef, Persona
from tests.core.commands.deploy_plugin import deploy


@pytest.fixture
async def memory_store() -> AsyncIterator[InMemoryStore]:
    store = InMemoryStore()
    await store.open()
    yield store
    await store.aclose()


@pytest.fixture
def engine(memory_store) -> Engine:
    engine = Engine(store=memory_store, model=ScriptedChatModel([]),
                    config=EngineConfig(default_persona=Persona("Default."), model="m"))
    engine.commands.add(deploy.spec)
    return engine


async def _console(engine: Engine, *lines: str, admin: bool = True) -> str:
    queue = [line + "\n" for line in lines]

    async def read_line() -> str:
        return queue.pop(0) if queue else ""

    out = io.StringIO()
    await ConsoleAdapter(engine, ConsoleConfig(is_admin=admin), read_line, out).run()
    return out.getvalue()


async def test_a_plugins_command_from_a_line(engine):
    out = await _console(engine, "/deploy api prod --dry_run", "/deploy")
    assert out.splitlines() == [
        "Would deploy api to prod for you on console.",
        "Usage: /deploy <service> [staging|prod] [--dry_run]",
    ]


async def test_built_ins_with_flags_and_refusals(engine, memory_store):
    out = await _console(engine, "/persona set --workspace House style.", "/tools enable time", admin=False)
    # The console's channel is "local/console": not a DM, so these are for admins.
    assert "Only admins can change the persona here in a shared channel." in out
    assert "Only admins can change the tools here." in out
    assert await memory_store.get_persona(ChannelRef("console", "local", "*")) is None


async def test_help_lists_the_table_and_the_consoles_own(engine):
    out = await _console(engine, "/help")
    assert "/deploy <service> [staging|prod] [--dry_run]" in out and "/persona set [--workspace] <text>" in out
    assert out.rstrip().endswith(CONSOLE_HELP)


async def _console_with_tool(memory_store, *, interactive: bool) -> str:
    from core.model.fake import Calls
    from core.tools import ToolRegistry
    from core.tools.policy import ToolLimits
    from core.types import ToolCall
    from tests.fakes.tools import FunctionTool

    model = ScriptedChatModel([Calls([ToolCall("c1", "time", "{}")]), "It is noon."])
    engine = Engine(store=memory_store, model=model, tools=ToolRegistry([FunctionTool("time", lambda a: "12:00")]),
                    config=EngineConfig(default_persona=Persona("Default."), model="m",
                                        tools=ToolLimits(default=frozenset({"time"}))))
    queue = ["what time is it?\n"]

    async def read_line() -> str:
        return queue.pop(0) if queue else ""

    out = io.StringIO()
    await ConsoleAdapter(engine, ConsoleConfig(interactive=interactive), read_line, out).run()
    return out.getvalue()


async def test_in_a_terminal_a_running_tool_shows_as_a_dimmed_line(memory_store):
    out = await _console_with_tool(memory_store, interactive=True)
    assert "bot> \x1b[2m(Running time…)\x1b[0m\n" in out and "\nIt is noon.\n" in out


async def test_piped_output_is_the_answer_alone(memory_store):
    out = await _console_with_tool(memory_store, interactive=False)
    assert out == "It is noon.\n"
