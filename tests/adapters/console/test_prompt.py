"""The console's prompt, driven through prompt_toolkit's pipe input as keys from a terminal."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator

import pytest
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from adapters.console.adapter import ConsoleAdapter, ConsoleConfig
from adapters.console.prompt import PrivateFileHistory, PromptReader
from core.engine import Engine, EngineConfig
from core.model.fake import ScriptedChatModel
from core.store.memory import InMemoryStore
from core.types import Persona

UP, LEFT = "\x1b[A", "\x1b[D"
CTRL_C, CTRL_D, ENTER, ALT_ENTER = "\x03", "\x04", "\r", "\x1b\r"


def paste(text: str) -> str:
    """A bracketed paste, as terminals send it."""
    return f"\x1b[200~{text}\x1b[201~"


@pytest.fixture
def keys() -> Iterator:
    with create_pipe_input() as pipe:
        yield pipe


def reader(keys, history=None) -> PromptReader:
    return PromptReader(history or InMemoryHistory(), input=keys, output=DummyOutput(), log_handlers=[])


async def typed(keys, read: PromptReader, text: str) -> str:
    """What one prompt returns for ``text`` typed at it (keys sent ahead of a prompt wait
    for it as a terminal's typeahead would, before its history is loaded)."""
    keys.send_text(text)
    return await read()


async def test_a_pasted_block_of_lines_is_one_message(keys):
    keys.send_text(paste("first line\r\nsecond line\nthird line") + ENTER)
    assert await reader(keys)() == "first line\nsecond line\nthird line\n"


async def test_alt_enter_starts_a_new_line_and_enter_sends(keys):
    keys.send_text("dear bot," + ALT_ENTER + "hello" + ENTER)
    assert await reader(keys)() == "dear bot,\nhello\n"


async def test_arrow_keys_edit_the_line_instead_of_typing_escape_codes(keys):
    keys.send_text("helo" + LEFT + LEFT + "l" + ENTER)
    assert await reader(keys)() == "hello\n"


async def test_up_brings_back_earlier_messages(keys):
    read = reader(keys)
    assert [await typed(keys, read, "first" + ENTER), await typed(keys, read, "second" + ENTER)] == ["first\n", "second\n"]
    assert await typed(keys, read, UP + UP + ENTER) == "first\n"


async def test_ctrl_c_clears_the_line_and_ctrl_d_leaves(keys):
    read = reader(keys)
    keys.send_text("half a thought" + CTRL_C + "a whole one" + ENTER + CTRL_D)
    assert await read() == "a whole one\n"
    assert await read() == ""


async def test_the_history_file_is_kept_across_runs_and_private(keys, tmp_path):
    path = tmp_path / "history"
    keys.send_text("remember" + ENTER)
    await reader(keys, PrivateFileHistory(path))()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    keys.send_text(UP + ENTER)
    assert await reader(keys, PrivateFileHistory(path))() == "remember\n"


async def test_an_unwritable_history_file_warns_once_and_the_console_goes_on(keys, tmp_path, caplog):
    history = PrivateFileHistory(tmp_path / "missing-dir" / "history")
    read = reader(keys, history)
    for text in ("one", "two"):
        await typed(keys, read, text + ENTER)
    assert await typed(keys, read, UP + UP + ENTER) == "one\n"
    warnings = [r.getMessage() for r in caplog.records if "history" in r.getMessage()]
    assert len(warnings) == 1 and "missing-dir" in warnings[0]


async def test_typed_at_the_prompt_the_model_gets_one_clean_question_per_message(keys):
    store = InMemoryStore()
    await store.open()
    model = ScriptedChatModel(lambda messages, params: "ok")
    engine = Engine(store=store, model=model, config=EngineConfig(default_persona=Persona("Default."), model="m"))
    keys.send_text(paste("line one\nline two\nline three") + ENTER + "wat" + LEFT + LEFT + "h" + ENTER + CTRL_D)
    out = io.StringIO()
    await ConsoleAdapter(engine, ConsoleConfig(interactive=True), reader(keys), out, log_handlers=[]).run()
    await store.aclose()

    assert [call[0][-1].content for call in model.calls] == ["line one\nline two\nline three", "what"]
    assert out.getvalue() == "bot> ok\nbot> ok\n\n"
