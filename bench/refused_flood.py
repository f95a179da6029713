"""Memory under a flood of refused requests (prints figures; not a test).

The bot is started as ``chatwright run`` starts it, in a process of its own (see
``slack_burst.py``); this process posts ``--requests`` unsigned bodies of ``--size``
bytes to its ``/slack/events``, as anyone on the internet can, and prints the bot's
resident memory (``VmRSS``) before, after, and after a short rest.

    /work/venv-dev/bin/python bench/refused_flood.py [--requests 300] [--size 2000000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bots.event_loop import new_event_loop  # noqa: E402
from tests.bot_process import BotProcess, slack_http_environment  # noqa: E402
from tests.fakes.openai_server import FakeOpenAIServer  # noqa: E402
from tests.fakes.slack_api import FakeSlackAPI  # noqa: E402
from tests.flood import post_refused, rss_bytes  # noqa: E402

__all__ = ["main"]

_MODEL_KEY = "bench-key"
_MB = 1024 * 1024


async def _run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=_MODEL_KEY) as model:
            environment = slack_http_environment(slack.base_url, model.base_url, _MODEL_KEY, Path(tmp))
            async with BotProcess(environment, Path(tmp)) as bot:
                await slack.wait_for(lambda: slack.calls_of("auth.test"), timeout=30)
                before, cpu_before, started = rss_bytes(bot.pid), bot.cpu_seconds(), time.monotonic()
                statuses = await post_refused(bot.events_url, args.requests, args.size, concurrency=args.concurrency)
                wall, cpu, after = time.monotonic() - started, bot.cpu_seconds() - cpu_before, rss_bytes(bot.pid)
                # A rest, to tell memory held for good from memory not yet handed back.
                await asyncio.sleep(args.rest)
                rested = rss_bytes(bot.pid)
                print(f"{args.requests} unsigned bodies of {args.size:,} bytes, {args.concurrency} at a time:")
                print(f"  statuses               {dict(sorted(statuses.items()))}")
                print(f"  rss_before_mb          {before / _MB:.1f}")
                print(f"  rss_after_mb           {after / _MB:.1f}")
                print(f"  rss_after_rest_mb      {rested / _MB:.1f}  ({args.rest:g} s later)")
                print(f"  wall_s                 {wall:.2f}")
                print(f"  bot_cpu_ms_per_request {1000 * cpu / max(args.requests, 1):.2f}")
                if "Traceback" in bot.log_path.read_text(errors="replace"):
                    print("  the bot's log has tracebacks; it ends:\n" + bot.log_tail())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--size", type=int, default=2_000_000, help="bytes per body")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight at once")
    parser.add_argument("--rest", type=float, default=1.0, help="seconds before the last reading")
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
