"""What a tool step costs beyond the tool itself (prints figures; not a test).

The real engine answers on a real store (SQLite, cached as ``chatwright run`` uses it, or
the in-memory store) with a model that answers at once: each question is answered once
in words only, and once after a step that calls an instant tool. The difference is the
engine's own cost of a step: the second model request's context, storing the call and
its result, running the call, the status shown while it runs.

    .venv/bin/python bench/tool_step_bench.py [--answers 300] [--calls 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.engine import Engine, EngineConfig  # noqa: E402
from core.model.fake import Calls, ScriptedChatModel  # noqa: E402
from core.store import open_store  # noqa: E402
from core.store.memory import InMemoryStore  # noqa: E402
from core.tokens import EstimatingCounter  # noqa: E402
from core.tools import ToolRegistry  # noqa: E402
from core.tools.policy import ToolLimits  # noqa: E402
from core.tools.registry import ToolInfo  # noqa: E402
from core.types import ConversationRef, IncomingMessage, Persona, ToolCall  # noqa: E402

__all__ = ["main"]


class _Instant:
    info = ToolInfo("lookup", "Looks something up.", {"type": "object", "properties": {}})

    async def call(self, arguments: dict) -> str:
        return "found it"


def _script(calls: int):
    def answer(messages, params):
        # A step with tools when the question is fresh, then words.
        if params.tools and messages[-1].role == "user" and messages[-1].content.startswith("tool"):
            return Calls([ToolCall(f"c{i}", "lookup", "{}") for i in range(calls)])
        return "the answer"
    return answer


async def _median_ms(store, answers: int, calls: int, with_tool: bool) -> float:
    engine = Engine(store=store, model=ScriptedChatModel(_script(calls)),
                    config=EngineConfig(default_persona=Persona("You help."), model="m",
                                        tools=ToolLimits(default=frozenset({"lookup"}))),
                    counter=EstimatingCounter(), today=lambda: date(2026, 11, 30),
                    tools=ToolRegistry([_Instant()]))
    times = []
    kind = "tool" if with_tool else "words"
    for i in range(answers):
        conversation = ConversationRef("bench", "W", f"{kind}-{i % 20}")
        message = IncomingMessage(conversation, "U", "u", f"{kind} question {i}", event_id=f"{kind}{i}")
        started = time.perf_counter()
        async with engine.reply(message) as reply:
            async for _ in reply:
                pass
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def _run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        stores = {
            "in-memory store": InMemoryStore(),
            "SQLite (cached, as `chatwright run`)": open_store(f"sqlite:///{folder}/bench.db", single_writer=True),
        }
        print(f"{'store':<38} {'words only':>11} {'with a step':>12} {'a step costs':>13}")
        for label, store in stores.items():
            await store.open()
            try:
                await _median_ms(store, 50, args.calls, True)  # warm up
                words = await _median_ms(store, args.answers, args.calls, False)
                tool = await _median_ms(store, args.answers, args.calls, True)
            finally:
                await store.aclose()
            print(f"{label:<38} {words:>8.2f} ms {tool:>9.2f} ms {tool - words:>10.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--calls", type=int, default=1, help="tool calls in the step")
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
