"""Burst benchmark for the Slack adapter (prints figures; not a test).

N mentions in N channels are posted at once, signed, to ``POST /slack/events`` of a bot
started the way ``chatwright run`` starts it, in a process of its own and configured by
environment only (HTTP mode, SQLite store, OpenAI-compatible model). This process plays
Slack and the model provider: the loopback fake Slack Web API, a fake model that takes
``--delay`` seconds per answer, and the sender of signed requests. Then the same again
with an instant model, for throughput. Each scenario gets a fresh bot and database;
``--bursts N`` sends N bursts to it, one after another, in new channels each time
(the first meets a cold bot, the later ones warm connections and caches).

    /work/venv-dev/bin/python bench/slack_burst.py [--mentions 200] [--delay 0.9] [--bursts 1] [--profile DIR]
        [--database-url postgresql://…] [--replicas 3]

``--replicas N`` starts N bots on the same database (PostgreSQL: ``--database-url``, or
``--postgres`` for a throwaway embedded server) and sends the burst's events to them in
turn, as a load balancer would; CPU and API calls are those of all replicas together.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.profiling import py_spy  # noqa: E402
from bots.event_loop import new_event_loop  # noqa: E402
from tests.bot_process import BotProcess, slack_http_environment  # noqa: E402
from tests.fakes.openai_server import Answer, FakeOpenAIServer  # noqa: E402
from tests.fakes.slack_api import FakeSlackAPI, SentRequest, SignedSender  # noqa: E402

__all__ = ["main"]

# What the model answers (about 30 tokens); a channel is answered once Slack shows it all.
ANSWER = " ".join(["answer"] * 20)
_MODEL_KEY = "bench-key"
_ANSWER_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class _Stack:
    """The fakes in this process and the bots (replicas) in their own, for one scenario."""

    slack: FakeSlackAPI
    bots: list[BotProcess]
    senders: list[SignedSender]

    @property
    def bot(self) -> BotProcess:
        return self.bots[0]

    def cpu_seconds(self) -> float:
        return sum(bot.cpu_seconds() for bot in self.bots)

    def log_tails(self) -> str:
        return "\n".join(bot.log_tail() for bot in self.bots)


@contextlib.asynccontextmanager
async def _stack(delay: float, database_url: str | None, replicas: int) -> AsyncIterator[_Stack]:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=_MODEL_KEY) as model:
            model.responder = lambda body: Answer(ANSWER, delay=delay)
            async with contextlib.AsyncExitStack() as stack:
                bots, senders = [], []
                for n in range(replicas):
                    workdir = Path(tmp) / f"replica-{n}"
                    workdir.mkdir()
                    environment = slack_http_environment(slack.base_url, model.base_url, _MODEL_KEY, workdir)
                    if database_url:
                        environment["DATABASE_URL"] = database_url
                    bots.append(await stack.enter_async_context(BotProcess(environment, workdir)))
                    senders.append(await stack.enter_async_context(SignedSender(bots[-1].events_url)))
                # /healthz answers before the adapters connect; the Slack adapter is up
                # once it has checked its token.
                await slack.wait_for(lambda: len(slack.calls_of("auth.test")) >= replicas, timeout=30)
                yield _Stack(slack, bots, senders)
                for bot in bots:
                    if (code := await bot.stop()) not in (0, None):
                        print(f"  a bot exited with {code}; its log ends:\n{bot.log_tail()}")


async def burst(stack: _Stack, mentions: int, number: int) -> dict[str, Any]:
    """Send one burst (channels and users of its own) and wait until all are answered."""
    first_call = len(stack.slack.calls)
    cpu_before, fakes_cpu_before = stack.cpu_seconds(), time.process_time()
    started = time.monotonic()
    senders = stack.senders
    sent = await asyncio.gather(*(senders[i % len(senders)].event(_mention(number, i)) for i in range(mentions)))
    answered = _AnswerTimes(stack.slack, first_call)
    try:
        await stack.slack.wait_for(lambda: answered.scan() >= mentions, timeout=_ANSWER_TIMEOUT)
    except TimeoutError:
        print(f"  timed out: {len(answered.at)} of {mentions} answered; bot logs:\n{stack.log_tails()}")
    wall = time.monotonic() - started
    cpu = stack.cpu_seconds() - cpu_before
    fakes_cpu = time.process_time() - fakes_cpu_before
    api_calls = len(stack.slack.calls) - first_call
    return _figures(sent, answered.at, started, wall, api_calls, cpu) | {"fakes_cpu_s": fakes_cpu}


def _mention(number: int, i: int) -> dict[str, Any]:
    # One person per channel, as in a real burst (and under the per-user rate limit).
    ts, channel, user = f"{number + 1}.{i:06d}", f"C{number}x{i:04d}", f"U{i:04d}"
    return {"type": "app_mention", "channel": channel, "user": user, "text": "<@UBOT> question?",
            "ts": ts, "event_ts": ts, "team": "T1"}


class _AnswerTimes:
    """When each channel first showed the whole answer (posted or edited in); reads only
    the calls that are new since the last look, so waiting stays cheap."""

    def __init__(self, slack: FakeSlackAPI, first_call: int) -> None:
        self._calls = slack.calls
        self._seen = first_call
        self.at: dict[str, float] = {}

    def scan(self) -> int:
        for call in self._calls[self._seen :]:
            if call.method in ("chat.postMessage", "chat.update") and call.params.get("text") == ANSWER:
                self.at.setdefault(call.params["channel"], call.at)
        self._seen = len(self._calls)
        return len(self.at)


def _figures(
    sent: list[SentRequest], answered: dict[str, float], started: float, wall: float, api_calls: int, cpu: float
) -> dict[str, Any]:
    latencies = sorted(at - started for at in answered.values()) or [float("nan")]
    acks = sorted(s.elapsed for s in sent)
    replies = len(answered)
    return {
        "replies": replies,
        "wall_s": wall,
        "replies_per_s": replies / wall,
        "reply_p50_s": statistics.median(latencies),
        "reply_p95_s": _percentile(latencies, 0.95),
        "ack_p50_s": statistics.median(acks),
        "ack_max_s": acks[-1],
        "non_200_acks": sum(1 for s in sent if s.status != 200),
        "api_calls_per_reply": api_calls / max(replies, 1),
        "bot_cpu_s": cpu,
        "bot_cpu_ms_per_reply": 1000 * cpu / max(replies, 1),
    }


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[int(fraction * (len(ordered) - 1))]


def _print(title: str, figures: dict[str, Any]) -> None:
    print(title)
    for name, value in figures.items():
        print(f"  {name:<22} {value:.3f}" if isinstance(value, float) else f"  {name:<22} {value}")


async def _scenario(args: argparse.Namespace, delay: float, model: str) -> None:
    # Each scenario on an empty database, as each gets a fresh SQLite file.
    database_url = await args.server.create_database() if args.server else args.database_url
    async with _stack(delay, database_url, args.replicas) as stack:
        profile = args.profile / f"bot-{delay:g}s.txt" if args.profile else None
        async with py_spy(stack.bot.pid, profile) if profile else contextlib.nullcontext():
            for number in range(args.bursts):
                figures = await burst(stack, args.mentions, number)
                which = f", burst {number + 1} of {args.bursts}" if args.bursts > 1 else ""
                _print(f"{args.mentions} mentions, {model}{which}:", figures)


async def _run(args: argparse.Namespace) -> None:
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    postgres = args.database_url or args.server
    where = f"{args.replicas} replica(s) on {'PostgreSQL' if postgres else 'SQLite'}"
    print(f"bots: {where}")
    await _scenario(args, args.delay, f"model {args.delay} s")
    await _scenario(args, 0.0, "instant model")


def _with_database(args: argparse.Namespace) -> None:
    if args.replicas > 1 and not (args.database_url or args.postgres):
        raise SystemExit("--replicas needs PostgreSQL: --database-url or --postgres")
    args.server = None
    if not args.postgres:
        _run_loop(args)
        return
    from tests.postgres import start_server  # the tests' embedded server

    args.server = start_server()
    try:
        _run_loop(args)
    finally:
        args.server.stop()


def _run_loop(args: argparse.Namespace) -> None:
    # The fakes and the sender stand in for Slack's and the model's servers: on the bot's
    # own loop (uvloop) they answer fast enough to measure the bot, not themselves.
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(_run(args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.9, help="seconds the model takes per answer")
    parser.add_argument("--bursts", type=int, default=1, help="bursts per scenario, on the same bot")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="sample the bot with py-spy into DIR")
    parser.add_argument("--database-url", help="the bots' DATABASE_URL (default: a SQLite file each)")
    parser.add_argument("--postgres", action="store_true", help="a throwaway embedded PostgreSQL server")
    parser.add_argument("--replicas", type=int, default=1, help="bots on the same database")
    _with_database(parser.parse_args())


if __name__ == "__main__":
    main()
