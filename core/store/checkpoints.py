"""WAL checkpoints on a connection of their own, off the path of every message.

SQLite's default checkpoints the WAL inside whichever commit crosses 1,000 pages: that
message then waits while pages are copied into the database file, and with a commit or
two per message that is about one message in a hundred, the p99 latency. Here, after
every ``every`` commits, a PASSIVE checkpoint runs on a second connection, whose
aiosqlite thread copies pages while the store's keeps writing. PASSIVE never waits for
writers or readers, so it can only fall behind, never block; a failed one is logged and
the next catches up.

Under steady writes a background checkpoint never finds the WAL still, so it never
completes and the WAL would never start over (it would grow without end). The store's
own connection therefore keeps SQLite's checkpoint as a backstop, at a few thousand
pages: by then the background has copied nearly everything, so that checkpoint is short,
and being the writer's it completes and the WAL starts over.
"""

from __future__ import annotations

import asyncio
import logging

import aiosqlite

from core.log_context import without_event

__all__ = ["Checkpointer"]

log = logging.getLogger(__name__)


class Checkpointer:
    def __init__(self, path: str, *, every: int, busy_timeout_ms: int) -> None:
        self._path = path
        self._every = every
        self._busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._commits = 0
        self._running: asyncio.Task[None] | None = None
        self.completed = 0  # checkpoints run, for tests and benchmarks

    async def open(self) -> None:
        self._db = await aiosqlite.connect(self._path, isolation_level=None)
        await self._db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")

    def committed(self, count: int = 1) -> None:
        """The store committed ``count`` transactions; start a checkpoint when due."""
        self._commits += count
        if self._commits >= self._every and self._running is None and self._db is not None:
            self._commits = 0
            # It serves every answer: its lines carry none's event id (core/log_context.py).
            self._running = asyncio.create_task(self._checkpoint(self._db), name="wal-checkpoint",
                                                context=without_event())

    async def idle(self) -> None:
        """Wait for a checkpoint in progress, if any."""
        running = self._running
        if running is not None:
            await asyncio.wait([running])

    async def aclose(self) -> None:
        await self.idle()
        db, self._db = self._db, None
        if db is not None:
            await db.close()

    async def _checkpoint(self, db: aiosqlite.Connection) -> None:
        try:
            # Read to the end, so that no statement stays open on this connection.
            await db.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            self.completed += 1
        except Exception as exc:  # noqa: BLE001 - a missed checkpoint only grows the WAL
            log.warning("WAL checkpoint failed (the next one will catch up): %s", exc)
        finally:
            self._running = None
