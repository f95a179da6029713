"""``PostgresStore`` for ``bench/core_bench.py --database-url``: what the bench asks of a
store beyond the ``Store`` contract (seeding history fast, counting turns).

Bench-only code stays here, not in ``core``: seeding goes through a connection of its
own with COPY, a million turns in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice

import asyncpg

from core.store.postgres import PostgresStore
from core.types import ConversationRef, NewTurn

__all__ = ["BenchPostgresStore"]

_COPY_BATCH = 50_000
_TURN_COLUMNS = ["conversation_id", "role", "content", "tokens", "author_id", "author_name",
                 "created_at"]
_CONVERSATION = """
    INSERT INTO conversations (platform, workspace, channel, thread, created_at)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (platform, workspace, channel, thread) DO UPDATE SET thread = excluded.thread
    RETURNING id
"""


class BenchPostgresStore(PostgresStore):
    """A ``PostgresStore`` on an empty database (the bench's rows are not for keeping)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        super().__init__(url, pool_size=pool_size)
        self._bench_url = url

    async def open(self) -> None:
        if (await self.probe()).schema_version:
            raise SystemExit(f"--database-url: {self.url} is not empty; give the bench a "
                             "database of its own (CREATE DATABASE chatwright_bench)")
        await super().open()

    async def seed_turns(self, conversation: ConversationRef, turns: Iterable[NewTurn]) -> None:
        """Append ``turns`` to the conversation, all with one ``created_at``, by COPY."""
        now = datetime.now(UTC)
        connection = await asyncpg.connect(self._bench_url)
        try:
            conversation_id = await connection.fetchval(
                _CONVERSATION, conversation.platform, conversation.workspace,
                conversation.channel, conversation.thread, now)
            rows = ((conversation_id, turn.role, turn.content, turn.tokens, turn.author_id,
                     turn.author_name, now) for turn in turns)
            while batch := list(islice(rows, _COPY_BATCH)):
                await connection.copy_records_to_table("turns", records=batch,
                                                       columns=_TURN_COLUMNS)
        finally:
            await connection.close()

    async def turn_count(self) -> int:
        connection = await asyncpg.connect(self._bench_url)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM turns"))
        finally:
            await connection.close()

    async def size_mib(self) -> float:
        connection = await asyncpg.connect(self._bench_url)
        try:
            return int(await connection.fetchval(
                "SELECT pg_database_size(current_database())")) / 2**20
        finally:
            await connection.close()
