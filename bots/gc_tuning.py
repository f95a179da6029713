"""The cycle collector's settings for a long-running bot.

CPython frees almost every object by reference counting; the cycle collector is for
the few that form cycles. By default it runs a young collection every 700 net new
container objects, and now and then a full one over everything alive. A bot in a burst
of answers holds hundreds of objects per answer in flight (tasks, requests, buffers) for
most of a second, so the collector ran about 80 times per 200 answers and found almost
nothing; its full collections also walked the ~68,000 objects that imports and startup
left behind. In the Slack burst benchmark that was about a tenth of the bot's CPU.

Once the bot has started, ``tune_collector`` takes what startup built (modules, classes,
the apps) out of every later collection with ``gc.freeze()``, and lets the young
generation grow to ``YOUNG_THRESHOLD`` objects before it is collected. Cycles are still
collected; a young collection then takes some milliseconds, not 0.2, but comes a
thirtieth as often. Collector time in the benchmark fell by about two thirds.

What this does not do is bound memory, and neither did the default. The thresholds count
objects, not bytes: a few dozen objects in a cycle can hold a megabyte. aiohttp's 413 for
a body over its limit was such a cycle (exception, traceback, the frame with the body read
so far), about 1.5 MB for 37 objects: here 300 refused 2 MB posts grew the bot by 0.9 GB
before a young collection came, and at the default threshold 2,000 of them still left
0.3 GB (cycles promoted while their requests were in flight, and freed heap that malloc
keeps). The bound comes from never leaving a request body in a cycle on a path anyone can
reach (``adapters/slack/http_guard.py``); ``tests/bots/test_refused_flood.py`` checks it
on the running bot, with this tuning (bench/README.md has the figures).
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "tune_collector"]

YOUNG_THRESHOLD = 25_000


def tune_collector() -> int:
    """Freeze what exists now and raise the young generation's threshold; returns how
    many objects were frozen. Call it once startup is done."""
    # Garbage from startup is collected first, so that none of it is kept for good.
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    return gc.get_freeze_count()
