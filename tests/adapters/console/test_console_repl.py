"""The console as a REPL: Ctrl-C stops an answer and the console goes on; log lines never
land inside an answer; failed answers are counted (piped input exits non-zero on them)."""

from __future__ import annotations

import asyncio
import io
import logging
import signal
from collections.abc import AsyncIterator

import pytest

from adapters.console.adapter import CONSOLE_HELP, CONSOLE_KEYS, STOPPED, ConsoleAdapter, ConsoleConfig
from adapters.console.terminal_logs import logs_after, logs_to
from core.engine import Engine, EngineConfig
from core.errors import ChatwrightError, ModelUnavailableError
from core.model.fake import ScriptedChatModel
from core.store.memory import InMemoryStore
from core.types import Persona, Usage

log = logging.getLogger("core.model.retry")


@pytest.fixture
async def store() -> AsyncIterator[InMemoryStore]:
    store = InMemoryStore()
    await store.open()
    yield store
    await store.aclose()


class StuckModel(ScriptedChatModel):
    """Writes "Partial " and then nothing more until cancelled; later calls answer "Short."."""

    def __init__(self) -> None:
        super().__init__(lambda messages, params: "Short.")
        self.writing = asyncio.Event()

    async def stream(self, messages, params):
        if self.calls:
            async for item in super().stream(messages, params):
                yield item
            return
        self.calls.append((list(messages), params))
        yield "Partial "
        self.writing.set()
        await asyncio.Event().wait()


def engine_with(store, model) -> Engine:
    return Engine(store=store, model=model, config=EngineConfig(default_persona=Persona("Default."), model="m"))


def lines(*texts: str):
    queue = [text + "\n" for text in texts]

    async def read_line() -> str:
        return queue.pop(0) if queue else ""

    return read_line


class MissedCtrlC:
    """Stands in for Python's SIGINT handler: a Ctrl-C the console failed to take must
    fail the test, not end the test run."""

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, signum, frame) -> None:
        self.seen += 1


@pytest.fixture
def missed_ctrl_c():
    missed = MissedCtrlC()
    previous = signal.signal(signal.SIGINT, missed)
    yield missed
    signal.signal(signal.SIGINT, previous)


async def test_ctrl_c_stops_the_answer_and_the_console_answers_the_next_line(store, missed_ctrl_c):
    model = StuckModel()
    out = io.StringIO()
    console = ConsoleAdapter(engine_with(store, model), ConsoleConfig(interactive=True),
                             lines("tell me everything", "and briefly?"), out, log_handlers=[])
    running = asyncio.create_task(console.run())
    async with asyncio.timeout(10):  # a guard only: the test waits on events
        await model.writing.wait()
        signal.raise_signal(signal.SIGINT)
        await running

    assert missed_ctrl_c.seen == 0  # the console's handler took it
    assert out.getvalue() == f"bot> Partial {STOPPED}\nbot> Short.\n\n"
    assert console.failed_answers == 0
    # The question stays in memory, unanswered; the part shown is not stored.
    turns = await store.recent_turns(console.conversation, 10)
    assert [(t.role, t.content) for t in turns] == [
        ("user", "tell me everything"), ("user", "and briefly?"), ("assistant", "Short."),
    ]
    # After the answer Ctrl-C is the program's again.
    assert signal.getsignal(signal.SIGINT) is missed_ctrl_c and console.interrupt() is False


async def test_piped_a_cancelled_console_is_not_taken_for_a_stopped_answer(store):
    model = StuckModel()
    console = ConsoleAdapter(engine_with(store, model), ConsoleConfig(), lines("hi", "never"), io.StringIO())
    running = asyncio.create_task(console.run())
    await model.writing.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert len(model.calls) == 1


async def test_a_log_line_during_an_answer_comes_after_it(store):
    class WarnsMidway(ScriptedChatModel):
        async def stream(self, messages, params):
            yield "one "
            log.warning("retrying after a 503")
            yield "two"
            yield Usage(1, 1)

    terminal = io.StringIO()
    handler = logging.StreamHandler(terminal)
    log.addHandler(handler)
    try:
        console = ConsoleAdapter(engine_with(store, WarnsMidway([])), ConsoleConfig(), lines("hi"), terminal,
                                 log_handlers=[handler])
        await console.run()
    finally:
        log.removeHandler(handler)
    assert terminal.getvalue() == "one two\nretrying after a 503\n"
    assert handler.stream is terminal


def test_logs_to_points_handlers_elsewhere_for_a_while():
    before, during = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(before)
    with logs_to(during, [handler]):
        handler.emit(logging.makeLogRecord({"msg": "above the prompt"}))
    handler.emit(logging.makeLogRecord({"msg": "after"}))
    assert (during.getvalue(), before.getvalue()) == ("above the prompt\n", "after\n")


def test_logs_after_holds_lines_even_when_the_block_fails():
    terminal = io.StringIO()
    handler = logging.StreamHandler(terminal)
    with pytest.raises(RuntimeError), logs_after([handler]):
        handler.emit(logging.makeLogRecord({"msg": "held"}))
        assert terminal.getvalue() == ""
        raise RuntimeError
    assert terminal.getvalue() == "held\n" and handler.stream is terminal


async def test_failed_answers_are_counted_and_each_is_one_line(store):
    model = ScriptedChatModel([ModelUnavailableError("down"), "fine", ValueError("a bug")])
    out = io.StringIO()
    console = ConsoleAdapter(engine_with(store, model), ConsoleConfig(), lines("a", "b", "c"), out)
    await console.run()
    assert out.getvalue().splitlines() == [
        f"[{ModelUnavailableError.user_text}]", "fine", f"[{ChatwrightError.user_text}]",
    ]
    assert console.failed_answers == 2


async def test_help_in_a_terminal_lists_quit_attach_and_the_keys(store):
    out = io.StringIO()
    await ConsoleAdapter(engine_with(store, ScriptedChatModel([])), ConsoleConfig(interactive=True),
                         lines("/help"), out, log_handlers=[]).run()
    text = out.getvalue()
    assert "/quit" in CONSOLE_HELP and "/attach PATH" in CONSOLE_HELP
    assert text.rstrip().endswith(CONSOLE_HELP + "\n" + CONSOLE_KEYS)
