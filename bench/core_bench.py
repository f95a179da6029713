"""The core's own cost per message: ``Engine.reply`` on a real SQLite store, instant model.

Run from the repository root::

    python bench/core_bench.py              # full run: 5,000 messages a scenario, 1,000,000 seeded turns
    python bench/core_bench.py --quick      # smoke run, a few seconds
    python bench/core_bench.py --plain      # the plain SQLiteStore, without the caching layer
    python bench/core_bench.py --database-url postgresql://…/empty_db   # PostgresStore

The store is the one ``chatwright run`` opens: ``CachedStore`` around ``SQLiteStore``,
holding the database's single-writer lock (``open_store(url, single_writer=True)``).

Every message goes the whole way through ``Engine.reply``: input and rate limits, the
channel's daily token budget (a usage query), persona lookup (channel, then workspace
default), history read page by page up to the token budget, the user turn stored, the
answer streamed from the model, the reply and its usage stored. The model answers at
once (two chunks and a ``Usage``), so the figures are the cost of the core and its store.

The process is pinned to one CPU: aiosqlite runs SQLite on a worker thread of its own, and
that thread shares the core with the event loop, as it would in a one-core container.

Scenarios, on the same database file:

    a  sequential: one message at a time, spread over ``--conversations`` conversations
    b  concurrent: ``--concurrency`` messages in flight over the same conversations
    c  a and b again after seeding ``--seed-turns`` turns (most in a few big
       conversations, and thousands in each measured one): the cost should be flat.

Before (a), each measured conversation gets ``--base-history`` turns, enough to fill the
context budget, so that (a) and (c) read the same amount of history per message and
differ only in how much is stored. See bench/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import resource
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.engine import Engine, EngineConfig  # noqa: E402
from core.model.protocol import StreamItem  # noqa: E402
from core.store import Store, open_store  # noqa: E402
from core.store.memory import InMemoryStore  # noqa: E402
from core.store.sqlite import SQLiteStore  # noqa: E402
from core.tokens import EstimatingCounter  # noqa: E402
from core.types import (  # noqa: E402
    ChatMessage,
    ChatParams,
    ConversationRef,
    IncomingMessage,
    NewTurn,
    Persona,
    Usage,
)

TARGET_MSGS_PER_S = 2000.0
TARGET_P99_MS = 5.0
# "Flat": after seeding, throughput and p99 within this fraction of the baseline.
FLAT_TOLERANCE = 0.15

PERSONA = Persona(system_prompt="You are a helpful assistant in a team chat. Answer briefly.")
USER_TEXT = (
    "Could you summarise what we decided about the release schedule yesterday, "
    "and who owns the follow-ups? #{n}"
)
ANSWER = ("We agreed to ship on Thursday after the freeze. ", "Dana owns the changelog, Lee the rollout.")
# Seeded turns: a few realistic sizes (chars), cycled.
SEED_SIZES = (60, 140, 90, 300, 120, 40, 220, 100)
COUNTER = EstimatingCounter()


class InstantModel:
    """A ``ChatModel`` that answers at once: two text chunks, then a fixed ``Usage``."""

    def __init__(self, chunks: Sequence[str] = ANSWER) -> None:
        self._chunks = tuple(chunks)
        self._usage = Usage(1500, sum(len(c) for c in self._chunks) // 4 + 1)

    async def stream(
        self, messages: Sequence[ChatMessage], params: ChatParams
    ) -> AsyncIterator[StreamItem]:
        for chunk in self._chunks:
            yield chunk
        yield self._usage

    async def list_models(self) -> list[str]:
        return ["instant"]

    async def aclose(self) -> None:
        pass


@dataclass
class Result:
    name: str
    messages: int
    seconds: float
    latencies: list[float]
    main_cpu: float  # seconds of CPU on the event-loop thread
    process_cpu: float  # seconds of CPU of the whole process (loop + aiosqlite thread)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


def bot_store(path: Path) -> Store:
    """The store of ``chatwright run`` on ``path``: cached, and holding the file's lock."""
    return open_store(f"sqlite:///{path}", single_writer=True)


def load_store_class(spec: str | None, plain: bool = False) -> Any:
    """What makes the store from a path: ``bot_store``, ``SQLiteStore`` (``plain``), or a
    candidate given as ``path/to/file.py:Class`` or ``module:Class``."""
    if spec is None:
        return SQLiteStore if plain else bot_store
    import importlib
    import importlib.util

    where, _, name = spec.rpartition(":")
    if where.endswith(".py"):
        path = Path(where).resolve()
        sys.path.insert(0, str(path.parent))  # its own helpers beside it
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    return getattr(module, name)


def make_engine(store: object) -> Engine:
    config = EngineConfig(
        default_persona=PERSONA,
        model="instant",
        context_token_budget=6000,  # the bot's default (CONTEXT_TOKEN_BUDGET)
        # Limits on, but never hit: the limiter and the usage query are on the path.
        user_messages_per_minute=1_000_000_000,
        channel_daily_token_budget=10**15,
    )
    return Engine(
        store=store,  # type: ignore[arg-type]
        model=InstantModel(),
        config=config,
        counter=COUNTER,
        today=lambda: date(2026, 1, 15),
    )


def conversations(count: int) -> list[ConversationRef]:
    # Channels across a few workspaces; threads in every other one.
    return [
        ConversationRef("bench", f"W{i % 5}", f"C{i}", f"T{i}" if i % 2 else "")
        for i in range(count)
    ]


def message(conv: ConversationRef, n: int) -> IncomingMessage:
    user = f"U{n % 37}-{conv.channel}"
    return IncomingMessage(conv, user, f"name-{user}", USER_TEXT.format(n=n), event_id=f"E{n}")


async def answer(engine: Engine, msg: IncomingMessage) -> float:
    started = time.perf_counter()
    async with engine.reply(msg) as reply:
        async for _ in reply:
            pass
    return time.perf_counter() - started


async def run_sequential(engine: Engine, convs: list[ConversationRef], n: int, start: int) -> list[float]:
    return [await answer(engine, message(convs[i % len(convs)], start + i)) for i in range(n)]


async def run_concurrent(
    engine: Engine, convs: list[ConversationRef], n: int, start: int, in_flight: int
) -> list[float]:
    latencies: list[float] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < n:
            i = next_index
            next_index += 1
            latencies.append(await answer(engine, message(convs[i % len(convs)], start + i)))

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return latencies


class Runner:
    def __init__(self, engine: Engine, convs: list[ConversationRef], warmup: int) -> None:
        self.engine = engine
        self.convs = convs
        self.warmup = warmup
        self.counter = 0  # message numbers keep increasing across scenarios

    async def measure(self, name: str, n: int, in_flight: int = 1) -> Result:
        async def batch(count: int) -> list[float]:
            start, self.counter = self.counter, self.counter + count
            if in_flight == 1:
                return await run_sequential(self.engine, self.convs, count, start)
            return await run_concurrent(self.engine, self.convs, count, start, in_flight)

        await batch(self.warmup)
        gc.collect()
        cpu0, main0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
        latencies = await batch(n)
        wall = time.perf_counter() - wall0
        return Result(name, n, wall, latencies, time.thread_time() - main0, time.process_time() - cpu0)


def seed_rows(count: int, offset: int = 0) -> list[NewTurn]:
    turns = []
    for i in range(offset, offset + count):
        size = SEED_SIZES[i % len(SEED_SIZES)]
        text = (f"turn {i} " + "lorem ipsum dolor sit amet " * (size // 27 + 1))[:size]
        role = "user" if i % 2 == 0 else "assistant"
        turns.append(NewTurn(role, text, COUNTER.count(text), "U1" if role == "user" else ""))
    return turns


def seed_iter(count: int) -> object:
    # One template per size: generating a million distinct strings would dominate the seed time.
    templates = seed_rows(len(SEED_SIZES))
    return (templates[i % len(templates)] for i in range(count))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def db_size_mib(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


async def database_size(store: Any, path: Path) -> float:
    # PostgreSQL's size is the server's to tell (``--database-url``).
    return await store.size_mib() if hasattr(store, "size_mib") else db_size_mib(path)


def turn_count(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM turns").fetchone()[0]


def print_table(results: list[Result]) -> None:
    head = (f"{'scenario':<44} {'msgs':>6} {'msg/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'max ms':>7} {'CPU us/msg loop+sqlite':>23}")
    print(head)
    print("-" * len(head))
    for r in results:
        loop_us = r.main_cpu / r.messages * 1e6
        other_us = (r.process_cpu - r.main_cpu) / r.messages * 1e6
        print(f"{r.name:<44} {r.messages:>6} {r.rate:>7.0f} {r.pct(0.50):>7.2f} {r.pct(0.99):>7.2f} "
              f"{max(r.latencies) * 1000:>7.2f} {loop_us:>11.0f} + {other_us:<9.0f}")


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


async def count_round_trips(engine: Engine, convs: list[ConversationRef], start: int, n: int = 200) -> float:
    """aiosqlite thread round-trips per message (each is a hop to the worker thread and back)."""
    import aiosqlite.core

    original = aiosqlite.core.Connection._execute
    calls = 0

    async def counting(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return await original(self, fn, *args, **kwargs)

    aiosqlite.core.Connection._execute = counting  # type: ignore[method-assign]
    try:
        await run_sequential(engine, convs, n, start)
    finally:
        aiosqlite.core.Connection._execute = original  # type: ignore[method-assign]
    return calls / n


async def main(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="chatwright-bench-", dir=args.dir))
    db_path = workdir / "bench.db"
    convs = conversations(args.conversations)
    results: list[Result] = []
    print(f"database: {db_path}")

    # -- engine alone, for reference: the dict-based InMemoryStore (no SQLite, no thread)
    memory = InMemoryStore()
    await memory.open()
    for conv in convs:
        for turn in seed_rows(args.base_history):
            await memory.add_turn(conv, turn)
    mem_runner = Runner(make_engine(memory), convs, args.warmup)
    results.append(await mem_runner.measure("ref: engine only, InMemoryStore, sequential", args.messages))
    await memory.aclose()
    del memory, mem_runner
    gc.collect()

    if args.database_url:
        from bench.postgres_bench_store import BenchPostgresStore

        def store_class(path: Path) -> Any:
            return BenchPostgresStore(args.database_url)
    else:
        store_class = load_store_class(args.store_class, args.plain)
    if args.store_class:
        print(f"store: {store_class.__module__}.{store_class.__name__} from {args.store_class}")
    async with store_class(db_path) as store:
        print(f"store: {store!r}")
        engine = make_engine(store)
        runner = Runner(engine, convs, args.warmup)
        t0 = time.perf_counter()
        for conv in convs:
            await store.seed_turns(conv, seed_rows(args.base_history))
        print(f"base history: {args.base_history} turns in each of {len(convs)} conversations "
              f"({time.perf_counter() - t0:.1f} s)")

        a = await runner.measure(f"a  sequential, {len(convs)} conversations", args.messages)
        b = await runner.measure(f"b  concurrent, {args.concurrency} in flight", args.messages,
                                 args.concurrency)
        results += [a, b]
        size_before, rss_before = await database_size(store, db_path), peak_rss_mib()

        # -- seed: a share in every measured conversation, the rest in a few big ones
        already = args.base_history * len(convs)
        remaining = max(0, args.seed_turns - already)
        per_measured = min(remaining // 4 // len(convs), args.long_history)
        big_total = remaining - per_measured * len(convs)
        big = [ConversationRef("bench", "WBIG", f"BIG{i}") for i in range(args.big_conversations)]
        t0 = time.perf_counter()
        for conv in convs:
            await store.seed_turns(conv, seed_iter(per_measured))  # type: ignore[arg-type]
        for i, conv in enumerate(big):
            share = big_total // len(big) + (1 if i < big_total % len(big) else 0)
            await store.seed_turns(conv, seed_iter(share))  # type: ignore[arg-type]
        seed_s = time.perf_counter() - t0
        stored = await store.turn_count() if args.database_url else turn_count(db_path)
        print(f"seeded {remaining:,} more turns in {seed_s:.1f} s: {per_measured:,} more in each "
              f"measured conversation, {big_total:,} in {len(big)} big ones; {stored:,} turns stored")

        c1 = await runner.measure(f"c1 sequential, after seeding ({stored // 1000:,}k turns)",
                                  args.messages)
        c2 = await runner.measure(f"c2 concurrent, after seeding ({stored // 1000:,}k turns)",
                                  args.messages, args.concurrency)
        results += [c1, c2]

        trips = await count_round_trips(engine, convs, runner.counter)
        runner.counter += 200
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await run_sequential(engine, convs, min(args.messages, 2000), runner.counter)
            profiler.disable()

    size_after = await database_size(store, db_path)
    print()
    print_table(results)
    print()
    if not args.database_url:
        print(f"aiosqlite round-trips to its worker thread per message: {trips:.1f}")
    print(f"peak RSS: {rss_before:.0f} MiB before seeding, {peak_rss_mib():.0f} MiB at the end")
    print(f"DB size (file + WAL): {size_before:.1f} MiB before seeding, {size_after:.1f} MiB after")
    print(f"CPU: pinned to {sorted(os.sched_getaffinity(0))} of {os.cpu_count()} "
          f"(aiosqlite runs SQLite on its own worker thread, sharing this core with the event loop); "
          f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")

    flat_rate = c1.rate >= a.rate * (1 - FLAT_TOLERANCE) and c2.rate >= b.rate * (1 - FLAT_TOLERANCE)
    flat_p99 = c1.pct(0.99) <= a.pct(0.99) * (1 + FLAT_TOLERANCE) + 0.2
    best_rate = max(r.rate for r in results[1:])
    seq_p99 = max(a.pct(0.99), c1.pct(0.99))
    print()
    print("targets (SQLite store rows):")
    print(f"  >= {TARGET_MSGS_PER_S:,.0f} msg/s on one core : best {best_rate:,.0f} msg/s "
          f"(a {a.rate:,.0f}, b {b.rate:,.0f}, c1 {c1.rate:,.0f}, c2 {c2.rate:,.0f})"
          f"  -> {verdict(best_rate >= TARGET_MSGS_PER_S)}")
    print(f"  p99 overhead <= {TARGET_P99_MS:.0f} ms (sequential): a {a.pct(0.99):.2f} ms, "
          f"c1 {c1.pct(0.99):.2f} ms  -> {verdict(seq_p99 <= TARGET_P99_MS)}")
    print(f"     (concurrent p99 is mostly queueing: {args.concurrency} in flight / "
          f"{b.rate:,.0f} msg/s = {args.concurrency / b.rate * 1000:.1f} ms mean by Little's law)")
    print(f"  flat as history grows (within {FLAT_TOLERANCE:.0%}): msg/s c1/a {c1.rate / a.rate:.2f}, "
          f"c2/b {c2.rate / b.rate:.2f}; p99 c1/a {c1.pct(0.99) / a.pct(0.99):.2f}"
          f"  -> {verdict(flat_rate and flat_p99)}")

    if args.profile:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(args.profile).print_stats(30)
        print()
        print(f"cProfile of {min(args.messages, 2000)} sequential messages (event-loop thread only), "
              f"by {args.profile}:")
        print(out.getvalue())

    if not args.keep:
        for f in workdir.iterdir():
            f.unlink()
        workdir.rmdir()
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=5000, help="measured messages per scenario")
    p.add_argument("--seed-turns", type=int, default=1_000_000, help="turns stored before (c)")
    p.add_argument("--conversations", type=int, default=100, help="measured conversations")
    p.add_argument("--concurrency", type=int, default=50, help="messages in flight in (b)")
    p.add_argument("--base-history", type=int, default=200,
                   help="turns in each measured conversation before (a); 200 fill the budget")
    p.add_argument("--long-history", type=int, default=2000,
                   help="at most this many more turns in each measured conversation for (c)")
    p.add_argument("--big-conversations", type=int, default=4)
    p.add_argument("--warmup", type=int, default=300, help="unmeasured messages before each scenario")
    p.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    p.add_argument("--cpu", type=int, default=None, help="pin to this CPU (default: the first allowed)")
    p.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    p.add_argument("--profile", nargs="?", const="tottime", default=None,
                   choices=["tottime", "cumulative"], help="also print a cProfile of the event loop")
    p.add_argument("--store-class", default=None, metavar="FILE.py:CLASS",
                   help="measure a candidate store instead of the one `chatwright run` opens")
    p.add_argument("--plain", action="store_true",
                   help="measure the plain SQLiteStore (every read goes to the file)")
    p.add_argument("--database-url", default=None, metavar="postgresql://…",
                   help="measure PostgresStore on this empty database instead of SQLite")
    p.add_argument("--dir", default=None, help="where to make the temporary database")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = p.parse_args(argv)
    if args.quick:
        args.messages = min(args.messages, 500)
        args.seed_turns = min(args.seed_turns, 50_000)
        args.warmup = min(args.warmup, 50)
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if not arguments.no_pin:
        # Before any thread starts: threads inherit the affinity of the thread creating them.
        cpu = arguments.cpu if arguments.cpu is not None else min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    assert threading.active_count() == 1
    sys.exit(asyncio.run(main(arguments)))
