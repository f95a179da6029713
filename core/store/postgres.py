"""``PostgresStore``: the ``Store`` on PostgreSQL, for one bot process or many replicas.

Every replica reads and writes the same rows, so this store keeps no copy of anything
another process can change: each read goes to the database, and what one replica writes
the next read of any replica sees. (SQLite's caches, ``core/store/caches.py``, assume one
process; they have no place here.)

Each operation is one statement on a pooled asyncpg connection (one round trip, and
prepared once per connection by asyncpg), atomic by itself:

- a turn finds or creates its conversation in the INSERT that stores it, and a reply
  counts its usage in that same statement;
- event and answer claims are ``INSERT … ON CONFLICT DO NOTHING RETURNING``: the unique
  key decides, across any number of processes, who claimed first;
- every other answer write is an ``UPDATE`` whose WHERE states the whole precondition
  (the owner holds it, it is answering, its lease ran out), and taking expired answers
  locks them ``FOR UPDATE SKIP LOCKED``, so two replicas never take the same one.

Only ``set_persona`` needs a transaction of several statements (read the old persona,
write the new one and its audit entry). Within this process, the writes to one answer
go out in the order they were called (``_InCallOrder``), as they would on one connection.

Times are ``timestamptz`` from the injected ``clock``, never the server's ``now()``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from core.answers import (
    AnswerKey,
    AnswerRecord,
    AnswerState,
    Delivery,
    Route,
    route_from_json,
    route_to_json,
)
from core.errors import StoreError
from core.store.lifecycle import OpenedInContext
from core.store import postgres_migrations
from core.store.urls import HIDDEN, redacted_url, url_passwords
from core.types import (
    ChannelRef,
    ConversationRef,
    IncomingMessage,
    NewTurn,
    Persona,
    PersonaChange,
    Turn,
    Usage,
    UsageTotals,
)

__all__ = ["PostgresStore", "Probe"]

Clock = Callable[[], datetime]

# ``id < $n`` with this when there is no ``before_id``: one statement, always a range scan.
_NO_UPPER_BOUND = 2**63 - 1
# Connections kept open when idle: the pool grows to ``pool_size`` under load, and
# connections idle for five minutes (asyncpg's default) are closed again.
_MIN_CONNECTIONS = 1
_FINISHED_STATES = ("delivered", "failed")
# What the driver raises when the database fails or cannot be reached. Connecting may
# also raise ValueError, for a URL it cannot read.
_DRIVER_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError,
    TimeoutError)
_CONNECT_ERRORS = (*_DRIVER_ERRORS, ValueError)
# Advisory lock keys (two int4, apart from the migrations' single bigint key): the
# first names what is locked, the second hashes which one.
_CONVERSATION_CLAIMS = 0x6377_0001
_CHANNEL_PERSONA = 0x6377_0002

# -- turns -----------------------------------------------------------------------------
# $1..$4 name the conversation, $5 is now. The row is read first: an existing
# conversation (the usual case) is found without a write. Only a new one is inserted; if
# another process inserts it at the same moment, DO UPDATE waits for it and returns its
# id (DO NOTHING would return no row, and the turn would be lost).
_CONVERSATION_ID = """
    found AS (
        SELECT id FROM conversations
        WHERE platform = $1 AND workspace = $2 AND channel = $3 AND thread = $4),
    created AS (
        INSERT INTO conversations (platform, workspace, channel, thread, created_at)
        SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM found)
        ON CONFLICT (platform, workspace, channel, thread) DO UPDATE SET thread = excluded.thread
        RETURNING id),
    conversation AS (SELECT id FROM found UNION ALL SELECT id FROM created)
"""
_INSERT_TURN = """
    turn AS (
        INSERT INTO turns (conversation_id, role, content, tokens, author_id, author_name,
                           created_at, event_id)
        SELECT id, $6, $7, $8, $9, $10, $5, $11 FROM conversation
        RETURNING id)
"""
_ADD_TURN = f"WITH {_CONVERSATION_ID}, {_INSERT_TURN} SELECT id FROM turn"
# The same, and the reply's usage ($12 day, $13 prompt, $14 completion) counted in the
# same statement: both or neither.
_ADD_REPLY = f"""
    WITH {_CONVERSATION_ID}, {_INSERT_TURN},
    counted AS (
        INSERT INTO usage_daily
            (platform, workspace, channel, day, prompt_tokens, completion_tokens)
        VALUES ($1, $2, $3, $12, $13, $14)
        ON CONFLICT (platform, workspace, channel, day) DO UPDATE SET
            prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
            completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens)
    SELECT id FROM turn
"""
_TURN_COLUMNS = "id, role, content, tokens, author_id, author_name, created_at"
_CONVERSATION_IS = """
    conversation_id = (
        SELECT id FROM conversations
        WHERE platform = $1 AND workspace = $2 AND channel = $3 AND thread = $4)
"""
# Ordered as the index ``turns_by_conversation`` is: the conversation's id is known
# only as the query runs, and ordered by ``id`` alone the planner may walk the primary
# key back through every conversation's turns, the longer the more there are.
_RECENT_TURNS = f"""
    SELECT {_TURN_COLUMNS} FROM turns
    WHERE {_CONVERSATION_IS} AND id < $5
    ORDER BY conversation_id DESC, id DESC
    LIMIT $6
"""
_FORGET = f"DELETE FROM turns WHERE {_CONVERSATION_IS}"
# The newest turn of each role linked to the event.
_ANSWER_TURNS = f"""
    SELECT DISTINCT ON (role) {_TURN_COLUMNS} FROM turns
    WHERE {_CONVERSATION_IS} AND event_id = $5
    ORDER BY role, id DESC
"""

# -- personas, usage, events -----------------------------------------------------------
_PERSONA_COLUMNS = "system_prompt, name, description, model, temperature, max_tokens"
_CHANNEL_IS = "platform = $1 AND workspace = $2 AND channel = $3"
_GET_PERSONA = f"SELECT {_PERSONA_COLUMNS} FROM personas WHERE {_CHANNEL_IS}"
# Changes of one channel's persona queue up behind this lock, so each audit entry's
# "before" is the "after" of the one before it, even for a channel with no row to lock.
_LOCK_CHANNEL_PERSONA = (
    f"SELECT pg_advisory_xact_lock({_CHANNEL_PERSONA},"
    " hashtext(concat_ws(chr(31), $1::text, $2::text, $3::text)))"
)
_UPSERT_PERSONA = f"""
    INSERT INTO personas (platform, workspace, channel, {_PERSONA_COLUMNS}, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (platform, workspace, channel) DO UPDATE SET
        system_prompt = excluded.system_prompt, name = excluded.name,
        description = excluded.description, model = excluded.model,
        temperature = excluded.temperature, max_tokens = excluded.max_tokens,
        updated_at = excluded.updated_at
"""
_DELETE_PERSONA = f"DELETE FROM personas WHERE {_CHANNEL_IS}"
_INSERT_AUDIT = """
    INSERT INTO persona_audit
        (platform, workspace, channel, actor_id, actor_name, before, after, changed_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
_PERSONA_HISTORY = f"""
    SELECT actor_id, actor_name, before, after, changed_at FROM persona_audit
    WHERE {_CHANNEL_IS}
    ORDER BY id DESC
    LIMIT $4
"""
# SUM of bigint is numeric in PostgreSQL: cast back, or asyncpg hands out Decimals.
_USAGE = f"""
    SELECT
        COALESCE(SUM(prompt_tokens) FILTER (WHERE day = $4), 0)::bigint,
        COALESCE(SUM(completion_tokens) FILTER (WHERE day = $4), 0)::bigint,
        COALESCE(SUM(prompt_tokens), 0)::bigint,
        COALESCE(SUM(completion_tokens), 0)::bigint
    FROM usage_daily
    WHERE {_CHANNEL_IS}
"""
# RETURNING gives a row only when this statement inserted it: the first claim.
_CLAIM_EVENT = """
    INSERT INTO processed_events (platform, event_id, claimed_at) VALUES ($1, $2, $3)
    ON CONFLICT (platform, event_id) DO NOTHING
    RETURNING 1
"""
# Answers still answering are never pruned, however old: one is in flight. The second
# DELETE repeats the partial index ``answers_finished``'s WHERE term, so it is used.
_PRUNE = """
    WITH events AS (DELETE FROM processed_events WHERE claimed_at < $1 RETURNING 1),
    answers AS (DELETE FROM answers WHERE state <> 'answering' AND updated_at < $1 RETURNING 1)
    SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM answers)
"""

# -- answer records (see core/answers.py) ----------------------------------------------
# What an ``AnswerRecord`` is decoded from (``_answer_from_row``), in this order.
_RECORD_COLUMNS = """
    platform, event_id, workspace, channel, thread, user_id, user_name, text, is_dm,
    is_admin, route, state, owner, attempts, delivery, created_at
"""
# Claims of one conversation's answers queue up behind a transaction-level lock, taken
# before the row (and its ``claim_order``) is made and held until it is committed: so
# ``claim_order`` is also the order in which they became visible, and no replica can see
# a later answer of a conversation without the earlier ones (``earlier_unfinished``).
# The lock is in a FROM subquery so that it is taken before the row is formed; a volatile
# function keeps the planner from folding the subquery away.
_CLAIM_ANSWER = f"""
    INSERT INTO answers
        (platform, event_id, workspace, channel, thread, user_id, user_name, text, is_dm,
         is_admin, route, state, owner, lease_until, attempts, delivery, created_at,
         updated_at)
    SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
           $9::boolean, $10::boolean, $11::jsonb, 'answering', $12::text, $13::timestamptz,
           1, $14::jsonb, $15::timestamptz, $15::timestamptz
    FROM (SELECT pg_advisory_xact_lock({_CONVERSATION_CLAIMS},
            hashtext(concat_ws(chr(31), $1::text, $3::text, $4::text, $5::text)))) AS queued
    ON CONFLICT (platform, event_id) DO NOTHING
    RETURNING 1
"""
_GET_ANSWER = f"SELECT {_RECORD_COLUMNS} FROM answers WHERE platform = $1 AND event_id = $2"
_EARLIER_UNFINISHED = """
    SELECT EXISTS (
        SELECT 1 FROM answers AS mine JOIN answers AS earlier
            ON earlier.platform = mine.platform AND earlier.workspace = mine.workspace
            AND earlier.channel = mine.channel AND earlier.thread = mine.thread
        WHERE mine.platform = $1 AND mine.event_id = $2
            AND earlier.state = 'answering' AND earlier.claim_order < mine.claim_order)
"""
# $1 owner, $2 lease until, $3 now. Of two takers at once, the second waits for the
# first's row lock, then finds the lease running again and updates nothing.
_TAKE_ANSWER = f"""
    UPDATE answers SET owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
    WHERE platform = $4 AND event_id = $5 AND state = 'answering' AND lease_until <= $3
    RETURNING {_RECORD_COLUMNS}
"""
# SKIP LOCKED: rows another replica is taking right now are left to it, so two replicas
# take disjoint answers, and neither waits for the other. MATERIALIZED: the choice is
# made once (a subquery in FROM may be scanned again for each row, and LIMIT with it).
# The outer WHERE repeats the precondition, so the UPDATE stands on its own.
_TAKE_EXPIRED_ANSWERS = f"""
    WITH expired AS MATERIALIZED (
        SELECT platform, event_id FROM answers
        WHERE platform = $4 AND state = 'answering' AND lease_until <= $3
        ORDER BY created_at, claim_order
        LIMIT $5
        FOR UPDATE SKIP LOCKED)
    UPDATE answers SET owner = $1, lease_until = $2, attempts = answers.attempts + 1,
                       updated_at = $3
    FROM expired
    WHERE answers.platform = expired.platform AND answers.event_id = expired.event_id
        AND answers.state = 'answering' AND answers.lease_until <= $3
    RETURNING answers.claim_order, {", ".join(f"answers.{column.strip()}"
                                              for column in _RECORD_COLUMNS.split(","))}
"""
# Keys travel as two arrays, platforms and event ids: one statement for any number.
_SET_LEASES = """
    UPDATE answers SET lease_until = $1, updated_at = $2
    WHERE owner = $3 AND state = 'answering'
        AND (platform, event_id) IN (SELECT * FROM unnest($4::text[], $5::text[]))
"""
_SAVE_DELIVERY = """
    UPDATE answers SET delivery = $1, updated_at = $2
    WHERE platform = $3 AND event_id = $4 AND owner = $5 AND state = 'answering'
"""
_FINISH_ANSWER = """
    UPDATE answers SET state = $1, delivery = $2, updated_at = $3
    WHERE platform = $4 AND event_id = $5 AND owner = $6 AND state = 'answering'
"""
_SERVER_VERSION = "SELECT current_setting('server_version')"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Probe:
    """What ``PostgresStore.probe`` found: the server, and how far its schema is."""

    server_version: str
    schema_version: int


class PostgresStore(OpenedInContext):
    """The ``Store`` on the PostgreSQL database ``url`` names, through a connection pool."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        clock: Clock = _utc_now,
        connect_timeout: float = 10.0,
        command_timeout: float = 30.0,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, not {pool_size}")
        self._dsn = _asyncpg_dsn(url)
        self._shown = redacted_url(url)
        self._secrets = url_passwords(url)
        self._pool_size = pool_size
        self._clock = clock
        self._connect_timeout = connect_timeout
        # A statement that runs longer (a database that hangs, a lock never released)
        # fails with StoreError instead of holding its answer forever.
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._closed = False
        self._lifecycle = asyncio.Lock()
        self._in_call_order = _InCallOrder()

    def __repr__(self) -> str:
        return f"PostgresStore({self._shown!r})"

    @property
    def url(self) -> str:
        """The database URL, its password hidden: fit for logs."""
        return self._shown

    @property
    def pool_size(self) -> int:
        return self._pool_size

    # -- lifecycle ---------------------------------------------------------------------
    async def open(self) -> None:
        async with self._lifecycle:
            if self._closed:
                raise StoreError(f"{self!r} is closed")
            if self._pool is None:
                self._pool = await self._connect()

    async def aclose(self) -> None:
        async with self._lifecycle:
            pool, self._pool, self._closed = self._pool, None, True
            if pool is not None:
                # Waits for the operations in flight to give their connections back.
                with self._translated("closing the database"):
                    await pool.close()

    async def probe(self) -> Probe:
        """Connect once, without migrating anything, and report the server's version and
        the schema's. For ``chatwright doctor``; the store need not be open."""
        with self._translated(f"connecting to {self._shown}", _CONNECT_ERRORS):
            connection = await asyncpg.connect(self._dsn, timeout=self._connect_timeout)
            try:
                return Probe(await connection.fetchval(_SERVER_VERSION),
                             await postgres_migrations.current_version(connection))
            finally:
                await connection.close()

    # -- turns -------------------------------------------------------------------------
    async def add_turn(self, conversation: ConversationRef, turn: NewTurn) -> Turn:
        now = self._now()
        async with self._connection("add_turn") as db:
            turn_id = await db.fetchval(_ADD_TURN, *_turn_params(conversation, turn, now))
        return _stored(turn_id, turn, now)

    async def add_reply(
        self, conversation: ConversationRef, turn: NewTurn, usage: Usage, day: date
    ) -> Turn:
        now = self._now()
        params = (*_turn_params(conversation, turn, now), day, usage.prompt_tokens,
                  usage.completion_tokens)
        async with self._connection("add_reply") as db:
            turn_id = await db.fetchval(_ADD_REPLY, *params)
        return _stored(turn_id, turn, now)

    async def recent_turns(
        self, conversation: ConversationRef, limit: int, before_id: int | None = None
    ) -> list[Turn]:
        self._open_pool("recent_turns")
        # A negative LIMIT is an error in PostgreSQL; the contract means "nothing".
        if limit <= 0:
            return []
        upper = _NO_UPPER_BOUND if before_id is None else before_id
        async with self._connection("recent_turns") as db:
            rows = await db.fetch(_RECENT_TURNS, *_conversation_key(conversation), upper, limit)
        return [_turn_from_row(row) for row in reversed(rows)]

    async def forget(self, conversation: ConversationRef) -> int:
        async with self._connection("forget") as db:
            return _count(await db.execute(_FORGET, *_conversation_key(conversation)))

    # -- personas ----------------------------------------------------------------------
    async def get_persona(self, channel: ChannelRef) -> Persona | None:
        async with self._connection("get_persona") as db:
            row = await db.fetchrow(_GET_PERSONA, *_channel_key(channel))
        return None if row is None else Persona(*row)

    async def set_persona(
        self,
        channel: ChannelRef,
        persona: Persona | None,
        actor_id: str,
        actor_name: str,
    ) -> PersonaChange:
        now = self._now()
        key = _channel_key(channel)
        async with self._connection("set_persona") as db, db.transaction():
            await db.execute(_LOCK_CHANNEL_PERSONA, *key)
            row = await db.fetchrow(_GET_PERSONA, *key)
            before = None if row is None else Persona(*row)
            if persona is None:
                await db.execute(_DELETE_PERSONA, *key)
            else:
                await db.execute(_UPSERT_PERSONA, *key, *_persona_values(persona), now)
            change = PersonaChange(channel, actor_id, actor_name, before, persona, now)
            await db.execute(_INSERT_AUDIT, *key, actor_id, actor_name,
                             _persona_to_json(before), _persona_to_json(persona), now)
        return change

    async def persona_history(self, channel: ChannelRef, limit: int) -> list[PersonaChange]:
        self._open_pool("persona_history")
        if limit <= 0:
            return []
        async with self._connection("persona_history") as db:
            rows = await db.fetch(_PERSONA_HISTORY, *_channel_key(channel), limit)
        return [_change_from_row(channel, row) for row in rows]

    # -- events ------------------------------------------------------------------------
    async def claim_event(self, platform: str, event_id: str) -> bool:
        async with self._connection("claim_event") as db:
            return await db.fetchval(_CLAIM_EVENT, platform, event_id, self._now()) is not None

    async def prune_events(self, older_than_seconds: float) -> int:
        cutoff = self._now() - timedelta(seconds=older_than_seconds)
        async with self._connection("prune_events") as db:
            return int(await db.fetchval(_PRUNE, cutoff))

    # -- answers -----------------------------------------------------------------------
    async def claim_answer(
        self, message: IncomingMessage, route: Route, owner: str, lease_seconds: float
    ) -> bool:
        now = self._now()
        conversation = message.conversation
        params = (conversation.platform, message.event_id, conversation.workspace,
                  conversation.channel, conversation.thread, message.user_id,
                  message.user_name, message.text, message.is_dm, message.is_admin,
                  route_to_json(route), owner, _after(now, lease_seconds),
                  Delivery().to_json(), now)
        async with self._connection("claim_answer") as db:
            return await db.fetchval(_CLAIM_ANSWER, *params) is not None

    async def take_answer(
        self, key: AnswerKey, owner: str, lease_seconds: float
    ) -> AnswerRecord | None:
        now = self._now()
        async with self._connection("take_answer") as db:
            row = await db.fetchrow(_TAKE_ANSWER, owner, _after(now, lease_seconds), now, *key)
        return None if row is None else _answer_from_row(row)

    async def take_expired_answers(
        self, platform: str, owner: str, lease_seconds: float, limit: int
    ) -> list[AnswerRecord]:
        self._open_pool("take_expired_answers")
        if limit <= 0:
            return []
        now = self._now()
        async with self._connection("take_expired_answers") as db:
            rows = await db.fetch(_TAKE_EXPIRED_ANSWERS, owner, _after(now, lease_seconds),
                                  now, platform, limit)
        # RETURNING's order is unspecified: oldest first again, as the subquery chose them.
        rows.sort(key=lambda row: (row["created_at"], row["claim_order"]))
        return [_answer_from_row(tuple(row)[1:]) for row in rows]

    async def renew_answers(self, keys: list[AnswerKey], owner: str, lease_seconds: float) -> int:
        return await self._set_leases(
            "renew_answers", keys, owner, _after(self._now(), lease_seconds))

    async def release_answers(self, keys: list[AnswerKey], owner: str) -> int:
        # A lease ending now: ``lease_until <= now`` lets the next look take it at once.
        # The owner stays, so an answer that still finishes while its process shuts down
        # counts (and is not answered again).
        return await self._set_leases("release_answers", keys, owner, self._now())

    async def save_delivery(self, key: AnswerKey, owner: str, delivery: Delivery) -> bool:
        async with self._in_call_order.turn(key), self._connection("save_delivery") as db:
            status = await db.execute(_SAVE_DELIVERY, delivery.to_json(), self._now(), *key, owner)
        return _count(status) == 1

    async def finish_answer(
        self, key: AnswerKey, owner: str, state: AnswerState, delivery: Delivery
    ) -> bool:
        if state not in _FINISHED_STATES:
            raise ValueError(f"an answer finishes delivered or failed, not {state!r}")
        async with self._in_call_order.turn(key), self._connection("finish_answer") as db:
            status = await db.execute(_FINISH_ANSWER, state, delivery.to_json(), self._now(),
                                      *key, owner)
        return _count(status) == 1

    async def earlier_unfinished(self, key: AnswerKey) -> bool:
        async with self._connection("earlier_unfinished") as db:
            return bool(await db.fetchval(_EARLIER_UNFINISHED, *key))

    async def get_answer(self, key: AnswerKey) -> AnswerRecord | None:
        async with self._connection("get_answer") as db:
            row = await db.fetchrow(_GET_ANSWER, *key)
        return None if row is None else _answer_from_row(row)

    async def answer_turns(
        self, conversation: ConversationRef, event_id: str
    ) -> tuple[Turn | None, Turn | None]:
        self._open_pool("answer_turns")
        if not event_id:
            return (None, None)  # "" is stored as NULL: no turn is linked to it
        async with self._connection("answer_turns") as db:
            rows = await db.fetch(_ANSWER_TURNS, *_conversation_key(conversation), event_id)
        newest = {row["role"]: _turn_from_row(row) for row in rows}
        return (newest.get("user"), newest.get("assistant"))

    # -- usage -------------------------------------------------------------------------
    async def usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        async with self._connection("usage") as db:
            today_in, today_out, total_in, total_out = await db.fetchrow(
                _USAGE, *_channel_key(channel), day)
        return UsageTotals(Usage(today_in, today_out), Usage(total_in, total_out))

    # -- helpers -----------------------------------------------------------------------
    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _open_pool(self, action: str) -> asyncpg.Pool:
        if self._pool is None:
            state = "closed" if self._closed else "not open (await open() first)"
            raise StoreError(f"{action}: {self!r} is {state}")
        return self._pool

    @asynccontextmanager
    async def _connection(self, action: str) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for one operation; database errors become StoreError."""
        pool = self._open_pool(action)
        with self._translated(action):
            async with pool.acquire() as connection:
                yield connection

    @contextmanager
    def _translated(self, action: str, errors: tuple[type[Exception], ...] = _DRIVER_ERRORS
                    ) -> Iterator[None]:
        """Turn driver errors into ``StoreError``, keeping the cause for the log.

        The message is scrubbed of the URL's password: a driver may quote the part of a
        malformed URL it could not read.
        """
        try:
            yield
        except errors as exc:
            raise StoreError(f"{action} failed: {self._scrubbed(str(exc))}") from exc

    def _scrubbed(self, text: str) -> str:
        # Longest first: a password that contains another is hidden whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, HIDDEN)
        return text

    async def _connect(self) -> asyncpg.Pool:
        with self._translated(f"opening the database at {self._shown}", _CONNECT_ERRORS):
            pool = await asyncpg.create_pool(
                self._dsn, min_size=min(_MIN_CONNECTIONS, self._pool_size),
                max_size=self._pool_size, timeout=self._connect_timeout,
                command_timeout=self._command_timeout, reset=_keep_session)
        try:
            with self._translated(f"migrating the database at {self._shown}"):
                async with pool.acquire() as connection:
                    await postgres_migrations.apply(connection)
        except BaseException:
            pool.terminate()
            raise
        return pool

    async def _set_leases(
        self, action: str, keys: list[AnswerKey], owner: str, until: datetime
    ) -> int:
        """Move to ``until`` the leases ``owner`` holds among ``keys``; returns how many."""
        self._open_pool(action)
        if not keys:
            return 0
        platforms = [platform for platform, _ in keys]
        event_ids = [event_id for _, event_id in keys]
        async with self._connection(action) as db:
            return _count(await db.execute(_SET_LEASES, until, self._now(), owner,
                                           platforms, event_ids))


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing to do.

    asyncpg's default sends ``RESET ALL; UNLISTEN *; …`` at every release, a second round
    trip per operation. This store sets no session state, listens to nothing, and takes
    only transaction-level locks; asyncpg still rolls back a transaction left open.
    """
    del connection


class _InCallOrder:
    """Runs the calls made for one answer one after another, in the order they were made.

    Two finishes of one answer made at once go out on two pooled connections and may
    reach the database in either order; the contract has the first call count (as one
    connection, or one process, would). Holds nothing for an answer nobody is writing.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock wakes its waiters first come, first served
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def _asyncpg_dsn(url: str) -> str:
    # SQLAlchemy's spelling names the driver; asyncpg knows only the plain schemes.
    url = url.strip()
    for prefix in ("postgresql+asyncpg://", "postgres+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    return url


def _count(status: str) -> int:
    """Rows a command changed, from its status (``"UPDATE 3"``, ``"DELETE 0"``)."""
    return int(status.rsplit(" ", 1)[-1])


def _after(moment: datetime, seconds: float) -> datetime:
    return moment + timedelta(seconds=seconds)


def _conversation_key(conversation: ConversationRef) -> tuple[str, str, str, str]:
    return (conversation.platform, conversation.workspace, conversation.channel,
            conversation.thread)


def _channel_key(channel: ChannelRef) -> tuple[str, str, str]:
    return (channel.platform, channel.workspace, channel.channel)


def _turn_params(conversation: ConversationRef, turn: NewTurn, now: datetime) -> tuple[Any, ...]:
    # $1..$11 of ``_ADD_TURN``. "" (no event) is stored as NULL: such turns stay out of
    # the index ``turns_by_event``.
    return (*_conversation_key(conversation), now, turn.role, turn.content, turn.tokens,
            turn.author_id, turn.author_name, turn.event_id or None)


def _stored(turn_id: int, turn: NewTurn, created_at: datetime) -> Turn:
    return Turn(turn_id, turn.role, turn.content, turn.tokens, turn.author_id,
                turn.author_name, created_at)


def _turn_from_row(row: asyncpg.Record) -> Turn:
    # Positional, in _TURN_COLUMNS's order.
    turn_id, role, content, tokens, author_id, author_name, created_at = row
    return Turn(turn_id, role, content, tokens, author_id, author_name, created_at)


def _answer_from_row(row: Any) -> AnswerRecord:
    # Positional, in _RECORD_COLUMNS's order.
    (platform, event_id, workspace, channel, thread, user_id, user_name, text, is_dm,
     is_admin, route, state, owner, attempts, delivery, created_at) = row
    message = IncomingMessage(ConversationRef(platform, workspace, channel, thread),
                              user_id, user_name, text, is_dm, is_admin, event_id)
    return AnswerRecord(message, route_from_json(route), state, owner, attempts,
                        Delivery.from_json(delivery), created_at)


def _persona_values(persona: Persona) -> tuple[Any, ...]:
    return (persona.system_prompt, persona.name, persona.description, persona.model,
            persona.temperature, persona.max_tokens)


def _change_from_row(channel: ChannelRef, row: asyncpg.Record) -> PersonaChange:
    # Positional, in _PERSONA_HISTORY's column order.
    actor_id, actor_name, before, after, changed_at = row
    return PersonaChange(channel, actor_id, actor_name, _persona_from_json(before),
                         _persona_from_json(after), changed_at)


def _persona_to_json(persona: Persona | None) -> str | None:
    return None if persona is None else json.dumps(asdict(persona), sort_keys=True)


def _persona_from_json(text: str | None) -> Persona | None:
    if text is None:
        return None
    data = json.loads(text)
    # Only known fields: an audit entry outlives the Persona shape it was written with.
    known = {field.name for field in fields(Persona)}
    return Persona(**{name: value for name, value in data.items() if name in known})
