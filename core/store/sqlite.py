"""``SQLiteStore``: the embedded default ``Store``, on one long-lived aiosqlite connection.

aiosqlite runs the connection's statements one at a time on its own thread, but a
transaction spans several awaits: without a lock, another task's statement would land
inside it (and be rolled back with it). So every operation holds ``_lock`` for its
statements; an operation of several writes also holds a ``BEGIN IMMEDIATE`` transaction.

Every await on aiosqlite is a round-trip to that thread (two context switches, ~100 us on
one core), and round-trips, not SQL, are most of what an operation costs. So each call
here is one trip where possible: ``execute_fetchall`` for reads, a bare ``await
db.execute`` (whose finished cursor still holds ``rowcount`` and ``lastrowid``) for
writes, single-statement writes in autocommit, and conversation ids kept in memory.

Timestamps are stored as fixed-width ISO-8601 UTC text, which sorts as time does.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import asdict, fields
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import aiosqlite

from core.errors import StoreError
from core.store import migrations
from core.types import (
    ChannelRef,
    ConversationRef,
    NewTurn,
    Persona,
    PersonaChange,
    Turn,
    Usage,
    UsageTotals,
)

__all__ = ["SQLiteStore"]

Clock = Callable[[], datetime]
_K = TypeVar("_K")
_V = TypeVar("_V")

# ``id < ?`` with this when there is no ``before_id``: one statement, always a range scan.
_NO_UPPER_BOUND = 2**63 - 1
# Rows per ``executemany`` when seeding: large enough to amortise the thread hop,
# small enough to keep memory flat for millions of turns.
_SEED_BATCH = 20_000
_MEMORY = ":memory:"
# Conversation ids kept in memory; past this many the least recently used are dropped (a
# miss costs two trips once), so a bot that sees millions of threads keeps memory flat.
_CONVERSATION_CACHE_SIZE = 100_000
# Decoded turns kept in memory, by id: every message re-reads its conversation's newest
# ~200 turns, and building a (frozen dataclass) Turn costs ~2 us, as much as the rest of
# recent_turns. Bounded by count; contents are chat messages, so tens of MB at most.
_TURN_CACHE_SIZE = 50_000

_FIND_CONVERSATION = """
    SELECT id FROM conversations
    WHERE platform = ? AND workspace = ? AND channel = ? AND thread = ?
"""
# DO NOTHING: another process (or a row we created earlier) may already have it.
_INSERT_CONVERSATION = """
    INSERT INTO conversations (platform, workspace, channel, thread, created_at)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (platform, workspace, channel, thread) DO NOTHING
"""
_INSERT_TURN = """
    INSERT INTO turns
        (conversation_id, role, content, tokens, author_id, author_name, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
"""
_RECENT_TURNS = """
    SELECT id, role, content, tokens, author_id, author_name, created_at
    FROM turns
    WHERE conversation_id = (
            SELECT id FROM conversations
            WHERE platform = ? AND workspace = ? AND channel = ? AND thread = ?)
        AND id < ?
    ORDER BY id DESC
    LIMIT ?
"""
_FORGET = """
    DELETE FROM turns WHERE conversation_id = (
        SELECT id FROM conversations
        WHERE platform = ? AND workspace = ? AND channel = ? AND thread = ?)
"""
_ADD_USAGE = """
    INSERT INTO usage_daily
        (platform, workspace, channel, day, prompt_tokens, completion_tokens)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (platform, workspace, channel, day) DO UPDATE SET
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens
"""
_USAGE = """
    SELECT
        COALESCE(SUM(CASE WHEN day = ? THEN prompt_tokens END), 0),
        COALESCE(SUM(CASE WHEN day = ? THEN completion_tokens END), 0),
        COALESCE(SUM(prompt_tokens), 0),
        COALESCE(SUM(completion_tokens), 0)
    FROM usage_daily
    WHERE platform = ? AND workspace = ? AND channel = ?
"""
_GET_PERSONA = """
    SELECT system_prompt, name, description, model, temperature, max_tokens
    FROM personas WHERE platform = ? AND workspace = ? AND channel = ?
"""
_UPSERT_PERSONA = """
    INSERT INTO personas (platform, workspace, channel, system_prompt, name, description,
                          model, temperature, max_tokens, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (platform, workspace, channel) DO UPDATE SET
        system_prompt = excluded.system_prompt, name = excluded.name,
        description = excluded.description, model = excluded.model,
        temperature = excluded.temperature, max_tokens = excluded.max_tokens,
        updated_at = excluded.updated_at
"""
_DELETE_PERSONA = "DELETE FROM personas WHERE platform = ? AND workspace = ? AND channel = ?"
_INSERT_AUDIT = """
    INSERT INTO persona_audit
        (platform, workspace, channel, actor_id, actor_name, before, after, changed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_PERSONA_HISTORY = """
    SELECT actor_id, actor_name, before, after, changed_at FROM persona_audit
    WHERE platform = ? AND workspace = ? AND channel = ?
    ORDER BY id DESC
    LIMIT ?
"""
_CLAIM_EVENT = """
    INSERT INTO processed_events (platform, event_id, claimed_at) VALUES (?, ?, ?)
    ON CONFLICT (platform, event_id) DO NOTHING
"""
_PRUNE_EVENTS = "DELETE FROM processed_events WHERE claimed_at < ?"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SQLiteStore:
    """The ``Store`` on a SQLite file (or ``":memory:"``), created with its directory."""

    def __init__(
        self, path: str | Path, *, clock: Clock = _utc_now, busy_timeout: float = 5.0
    ) -> None:
        self._path = os.fspath(path)
        self._clock = clock
        self._busy_timeout_ms = int(busy_timeout * 1000)
        self._db: aiosqlite.Connection | None = None
        self._closed = False
        self._lock = asyncio.Lock()
        # Only ids of committed rows: a conversation row is never deleted (``forget``
        # deletes its turns), so a committed id stays right whoever else writes the file.
        self._conversation_ids: _LruCache[ConversationRef, int] = _LruCache(
            _CONVERSATION_CACHE_SIZE)
        # A turn row is never updated and AUTOINCREMENT never reuses an id, so an id
        # always decodes to the same (immutable) Turn: sharing them across calls is safe.
        self._turns: _LruCache[int, Turn] = _LruCache(_TURN_CACHE_SIZE)

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"

    @property
    def path(self) -> str:
        """The database file, or ``":memory:"``."""
        return self._path

    # -- lifecycle ---------------------------------------------------------------------
    async def open(self) -> None:
        async with self._lock:
            if self._closed:
                raise StoreError(f"{self!r} is closed")
            if self._db is None:
                self._db = await self._connect()

    async def aclose(self) -> None:
        async with self._lock:
            db, self._db, self._closed = self._db, None, True
            if db is not None:
                with _translated("closing the database"):
                    await db.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- turns -------------------------------------------------------------------------
    async def add_turn(self, conversation: ConversationRef, turn: NewTurn) -> Turn:
        # No BEGIN/COMMIT: a single INSERT in autocommit is atomic by itself. On a cache
        # miss the conversation row is committed first; an empty conversation is harmless.
        async with self._connection("add_turn") as db:
            conversation_id = await self._conversation_id(db, conversation)
            self._remember(conversation, conversation_id)
            return await self._insert_turn(db, conversation_id, turn)

    async def add_reply(
        self, conversation: ConversationRef, turn: NewTurn, usage: Usage, day: date
    ) -> Turn:
        usage_row = (*_channel_key(conversation.channel_ref), day.isoformat(),
                     usage.prompt_tokens, usage.completion_tokens)
        # Four trips: BEGIN IMMEDIATE, the turn, the usage upsert, COMMIT.
        async with self._connection("add_reply") as db:
            async with _write_transaction(db):
                conversation_id = await self._conversation_id(db, conversation)
                stored = await self._insert_turn(db, conversation_id, turn)
                await db.execute(_ADD_USAGE, usage_row)
            self._remember(conversation, conversation_id)
        return stored

    async def recent_turns(
        self, conversation: ConversationRef, limit: int, before_id: int | None = None
    ) -> list[Turn]:
        # SQLite reads a negative LIMIT as "no limit"; the contract means "nothing".
        if limit <= 0:
            return []
        upper = _NO_UPPER_BOUND if before_id is None else before_id
        params = (*_conversation_key(conversation), upper, limit)
        async with self._connection("recent_turns") as db:
            rows = await db.execute_fetchall(_RECENT_TURNS, params)
        return [self._decoded(row) for row in reversed(list(rows))]

    async def forget(self, conversation: ConversationRef) -> int:
        async with self._connection("forget") as db:
            return (await db.execute(_FORGET, _conversation_key(conversation))).rowcount

    async def seed_turns(self, conversation: ConversationRef, turns: Iterable[NewTurn]) -> None:
        """Insert many turns in one transaction, all with the same ``created_at``.

        For benchmarks and imports only: the engine stores turns one by one with
        ``add_turn``. Batched ``executemany`` keeps a million turns to seconds.
        """
        async with self._connection("seed_turns") as db:
            async with _write_transaction(db):
                conversation_id = await self._conversation_id(db, conversation)
                created_at = _to_text(self._now())
                rows = (_turn_row(conversation_id, turn, created_at) for turn in turns)
                for batch in _batches(rows, _SEED_BATCH):
                    await db.executemany(_INSERT_TURN, batch)
            self._remember(conversation, conversation_id)

    # -- personas ----------------------------------------------------------------------
    async def get_persona(self, channel: ChannelRef) -> Persona | None:
        async with self._connection("get_persona") as db:
            return await _select_persona(db, channel)

    async def set_persona(
        self,
        channel: ChannelRef,
        persona: Persona | None,
        actor_id: str,
        actor_name: str,
    ) -> PersonaChange:
        now = self._now()
        async with self._transaction("set_persona") as db:
            before = await _select_persona(db, channel)
            await _write_persona(db, channel, persona, now)
            change = PersonaChange(channel, actor_id, actor_name, before, persona, now)
            await db.execute(_INSERT_AUDIT, _audit_row(change))
        return change

    async def persona_history(self, channel: ChannelRef, limit: int) -> list[PersonaChange]:
        if limit <= 0:
            return []
        async with self._connection("persona_history") as db:
            rows = await db.execute_fetchall(_PERSONA_HISTORY, (*_channel_key(channel), limit))
        return [_change_from_row(channel, row) for row in rows]

    # -- events ------------------------------------------------------------------------
    async def claim_event(self, platform: str, event_id: str) -> bool:
        # One statement, so atomic in the database itself: it holds across processes
        # and restarts, not only across the tasks sharing this connection.
        params = (platform, event_id, _to_text(self._now()))
        async with self._connection("claim_event") as db:
            return (await db.execute(_CLAIM_EVENT, params)).rowcount == 1

    async def prune_events(self, older_than_seconds: float) -> int:
        cutoff = self._now() - timedelta(seconds=older_than_seconds)
        async with self._connection("prune_events") as db:
            return (await db.execute(_PRUNE_EVENTS, (_to_text(cutoff),))).rowcount

    # -- usage -------------------------------------------------------------------------
    async def usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        params = (day.isoformat(), day.isoformat(), *_channel_key(channel))
        async with self._connection("usage") as db:
            rows = await db.execute_fetchall(_USAGE, params)
        # An aggregate without GROUP BY always yields exactly one row.
        ((today_in, today_out, total_in, total_out),) = rows
        return UsageTotals(Usage(today_in, today_out), Usage(total_in, total_out))

    # -- helpers -----------------------------------------------------------------------
    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    @asynccontextmanager
    async def _connection(self, action: str) -> AsyncIterator[aiosqlite.Connection]:
        """The open connection, to this task alone; database errors become StoreError.

        Single statements take the lock too. aiosqlite's queue is shared by all tasks, so a
        lock-free statement issued while another task's transaction is open would run
        inside it: a write would be undone by that task's ROLLBACK (after we reported it
        done), a read would see rows that may never be committed. An uncontended
        ``asyncio.Lock`` costs about a microsecond, a round-trip a hundred.
        """
        async with self._lock:
            if self._db is None:
                state = "closed" if self._closed else "not open (await open() first)"
                raise StoreError(f"{action}: {self!r} is {state}")
            with _translated(action):
                yield self._db

    @asynccontextmanager
    async def _transaction(self, action: str) -> AsyncIterator[aiosqlite.Connection]:
        async with self._connection(action) as db, _write_transaction(db):
            yield db

    async def _connect(self) -> aiosqlite.Connection:
        with _translated(f"opening the database at {self._path}"):
            if self._path != _MEMORY:
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: sqlite3 opens no transactions of its own; ours are explicit.
            db = await aiosqlite.connect(self._path, isolation_level=None)
            try:
                await self._prepare(db)
            except BaseException:
                await db.close()
                raise
            return db

    async def _prepare(self, db: aiosqlite.Connection) -> None:
        # Rows stay plain tuples (no row_factory): every query here is decoded by position.
        # busy_timeout first, so that switching to WAL waits for other processes too.
        await db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA foreign_keys = ON")
        # In WAL mode NORMAL loses no integrity, only the last commits on a power cut.
        await db.execute("PRAGMA synchronous = NORMAL")
        async with _write_transaction(db):
            await migrations.apply(db)

    async def _insert_turn(
        self, db: aiosqlite.Connection, conversation_id: int, turn: NewTurn
    ) -> Turn:
        created_at = self._now()
        row = _turn_row(conversation_id, turn, _to_text(created_at))
        # One trip, like ``execute_insert`` but without its extra SELECT last_insert_rowid().
        turn_id = (await db.execute(_INSERT_TURN, row)).lastrowid
        assert turn_id is not None  # an INSERT into a rowid table always sets it
        return Turn(turn_id, turn.role, turn.content, turn.tokens,
                    turn.author_id, turn.author_name, created_at)

    async def _conversation_id(
        self, db: aiosqlite.Connection, conversation: ConversationRef
    ) -> int:
        """The conversation's row id, creating the row if it has none: no trip when known.

        Callers ``_remember`` the id once the row is committed, never inside a transaction
        that may still roll back: SQLite would hand that id to the next new conversation.
        """
        known = self._conversation_ids.get(conversation)
        if known is not None:
            return known
        key = _conversation_key(conversation)
        # Insert-then-select is right however the row came (us, earlier, another process).
        await db.execute(_INSERT_CONVERSATION, (*key, _to_text(self._now())))
        ((conversation_id,),) = await db.execute_fetchall(_FIND_CONVERSATION, key)
        return int(conversation_id)

    def _remember(self, conversation: ConversationRef, conversation_id: int) -> None:
        self._conversation_ids.put(conversation, conversation_id)

    def _decoded(self, row: tuple[Any, ...]) -> Turn:
        turn = self._turns.get(row[0])
        if turn is None:
            turn = _turn_from_row(row)
            self._turns.put(turn.id, turn)
        return turn


class _LruCache(Generic[_K, _V]):
    """A dict bounded to ``size`` entries, dropping the least recently used.

    OrderedDict, not dict: evicting a plain dict's first key again and again makes
    ``next(iter(d))`` walk the deleted slots left in front, quadratic until a resize.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[_K, _V] = OrderedDict()

    def get(self, key: _K) -> _V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """Turn library errors into ``StoreError``, keeping the cause for the log."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"{action} failed: {exc}") from exc


@asynccontextmanager
async def _write_transaction(db: aiosqlite.Connection) -> AsyncIterator[None]:
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
    # writes can fail half-way with SQLITE_BUSY when another process wrote in between.
    await db.execute("BEGIN IMMEDIATE")
    try:
        yield
        # Inside the try: a failed COMMIT can leave the transaction open, and single
        # statements (which run in autocommit) would then silently land in it.
        await db.execute("COMMIT")
    except BaseException:
        # Some errors already end the transaction in SQLite; then ROLLBACK itself fails,
        # and the original error is the one worth raising.
        with suppress(sqlite3.Error):
            await db.execute("ROLLBACK")
        raise


def _batches(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _to_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_text(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    # Ours are always written in UTC, and fromisoformat gives "+00:00" the UTC singleton:
    # skip the conversion (a few hundred turns are decoded per message).
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _conversation_key(conversation: ConversationRef) -> tuple[str, str, str, str]:
    return (conversation.platform, conversation.workspace, conversation.channel,
            conversation.thread)


def _channel_key(channel: ChannelRef) -> tuple[str, str, str]:
    return (channel.platform, channel.workspace, channel.channel)


def _turn_row(conversation_id: int, turn: NewTurn, created_at: str) -> tuple[Any, ...]:
    return (conversation_id, turn.role, turn.content, turn.tokens,
            turn.author_id, turn.author_name, created_at)


def _turn_from_row(row: tuple[Any, ...]) -> Turn:
    # Positional, in _RECENT_TURNS's column order.
    turn_id, role, content, tokens, author_id, author_name, created_at = row
    return Turn(turn_id, role, content, tokens, author_id, author_name,
                _from_text(created_at))


async def _select_persona(db: aiosqlite.Connection, channel: ChannelRef) -> Persona | None:
    rows = await db.execute_fetchall(_GET_PERSONA, _channel_key(channel))
    if not rows:
        return None
    # Positional, in _GET_PERSONA's column order.
    ((system_prompt, name, description, model, temperature, max_tokens),) = rows
    return Persona(system_prompt, name, description, model, temperature, max_tokens)


async def _write_persona(
    db: aiosqlite.Connection, channel: ChannelRef, persona: Persona | None, now: datetime
) -> None:
    if persona is None:
        await db.execute(_DELETE_PERSONA, _channel_key(channel))
        return
    values = (persona.system_prompt, persona.name, persona.description,
              persona.model, persona.temperature, persona.max_tokens)
    await db.execute(_UPSERT_PERSONA, (*_channel_key(channel), *values, _to_text(now)))


def _audit_row(change: PersonaChange) -> tuple[Any, ...]:
    return (*_channel_key(change.channel), change.actor_id, change.actor_name,
            _persona_to_json(change.before), _persona_to_json(change.after),
            _to_text(change.changed_at))


def _change_from_row(channel: ChannelRef, row: tuple[Any, ...]) -> PersonaChange:
    # Positional, in _PERSONA_HISTORY's column order.
    actor_id, actor_name, before, after, changed_at = row
    return PersonaChange(channel, actor_id, actor_name, _persona_from_json(before),
                         _persona_from_json(after), _from_text(changed_at))


def _persona_to_json(persona: Persona | None) -> str | None:
    return None if persona is None else json.dumps(asdict(persona), sort_keys=True)


def _persona_from_json(text: str | None) -> Persona | None:
    if text is None:
        return None
    data = json.loads(text)
    # Only known fields: an audit entry outlives the Persona shape it was written with.
    known = {field.name for field in fields(Persona)}
    return Persona(**{name: value for name, value in data.items() if name in known})
