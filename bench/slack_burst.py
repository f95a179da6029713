"""Burst benchmark for the Slack adapter (prints figures; not a test).

200 mentions in 200 channels are posted at once, signed, to ``POST /slack/events`` of
the real stack (Bolt ``AsyncApp`` on the shared HTTP server, engine, SQLite store,
``OpenAIChatModel``) against the loopback fake Slack API and a fake model that takes
about 0.9 s per answer; then again with an instant model for throughput.

    /work/venv-dev/bin/python bench/slack_burst.py [--mentions 200] [--delay 0.9]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.adapters.slack.harness import SlackStack, mention, slack_stack  # noqa: E402
from tests.fakes.openai_server import Answer  # noqa: E402

__all__ = ["main"]

_THINKING = "_thinking…_"


async def burst(mentions: int, delay: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        async with slack_stack(Path(tmp)) as stack:
            stack.model.responder = lambda body: Answer("answer " * 20, delay=delay)
            channels = [f"C{i:04d}" for i in range(mentions)]
            started = time.monotonic()
            sent = await asyncio.gather(
                *(stack.send(mention("question?", f"1.{i:06d}", channel=c)) for i, c in enumerate(channels))
            )
            answers = _AnswerTimes(stack)
            await stack.slack.wait_for(lambda: answers.scan() >= mentions, timeout=60)
            wall = time.monotonic() - started
            await stack.adapter.join()
            return _figures(stack, sent, answers.at, started, wall)


class _AnswerTimes:
    """When each channel got its final text (the first update away from the placeholder);
    reads only the calls that are new since the last look, so waiting stays cheap."""

    def __init__(self, stack: SlackStack) -> None:
        self._calls = stack.slack.calls
        self._seen = 0
        self.at: dict[str, float] = {}

    def scan(self) -> int:
        for call in self._calls[self._seen :]:
            if call.method == "chat.update" and call.params.get("text") != _THINKING:
                self.at.setdefault(call.params["channel"], call.at)
        self._seen = len(self._calls)
        return len(self.at)


def _figures(stack: SlackStack, sent: list, answered: dict[str, float], started: float, wall: float) -> dict[str, float]:
    channels = list(answered)
    latencies = sorted(at - started for at in answered.values())
    acks = sorted(s.elapsed for s in sent)
    api_calls = sum(1 for call in stack.slack.calls if call.method != "auth.test")
    return {
        "replies": len(channels),
        "wall_s": wall,
        "reply_p50_s": statistics.median(latencies),
        "reply_p95_s": latencies[int(0.95 * (len(latencies) - 1))],
        "ack_p50_s": statistics.median(acks),
        "ack_max_s": acks[-1],
        "non_200_acks": sum(1 for s in sent if s.status != 200),
        "api_calls_per_reply": api_calls / len(channels),
        "replies_per_s": len(channels) / wall,
    }


def _print(title: str, figures: dict[str, float]) -> None:
    print(title)
    for name, value in figures.items():
        print(f"  {name:<22} {value:.3f}" if isinstance(value, float) else f"  {name:<22} {value}")


async def _run(args: argparse.Namespace) -> None:
    _print(f"{args.mentions} mentions, model {args.delay} s:", await burst(args.mentions, args.delay))
    _print(f"{args.mentions} mentions, instant model:", await burst(args.mentions, 0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.9)
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
