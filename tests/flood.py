"""A flood of requests the bot must refuse, and the bot's resident memory (Linux).

Shared by the memory test (``tests/bots/test_refused_flood.py``) and the benchmark
(``bench/refused_flood.py``): both post unsigned bodies of junk to ``/slack/events``, as
anyone on the internet can, and read the bot's RSS from ``/proc/PID/status``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp

__all__ = ["post_refused", "rss_bytes"]


def rss_bytes(pid: int) -> int:
    """The resident set size of process ``pid`` now (``VmRSS``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def post_refused(url: str, count: int, size: int, *, concurrency: int = 4) -> Counter[int]:
    """POST ``count`` unsigned bodies of ``size`` bytes to ``url``, ``concurrency`` at a
    time; how many got each status (a refused body may also close the connection: 0)."""
    body = b"{" + b"x" * max(size - 1, 0)
    statuses: Counter[int] = Counter()
    queue = iter(range(count))

    async def worker(session: aiohttp.ClientSession) -> None:
        for _ in queue:
            statuses[await _post(session, url, body)] += 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return statuses


async def _post(session: aiohttp.ClientSession, url: str, body: bytes) -> int:
    headers = {"Content-Type": "application/json"}
    try:
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status
    except aiohttp.ClientError:
        # The server may answer 413 and close before the whole body was sent.
        return 0
