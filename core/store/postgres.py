"""``PostgresStore``: the ``Store`` on PostgreSQL, for one bot process or many replicas.

Every replica reads and writes the same rows, so this store keeps no copy of anything
another process can change: each read goes to the database, and what one replica writes
the next read of any replica sees. (SQLite's caches, ``core/store/caches.py``, assume one
process; they have no place here.)

Each operation is one statement on a pooled asyncpg connection (one round trip, and
prepared once per connection by asyncpg), atomic by itself. The operations every answer
makes (claims, persona and tools lookups, turns and replies, the checks, saves and
finishes of answers) are batched: calls made while a statement of their kind is in
flight share the next one, each caller still getting its own result (``Batcher``), so
a burst of 200 answers costs a few round trips per step instead of 200 turns at the pool.

- a turn finds or creates its conversation in the INSERT that stores it, and a reply
  counts its usage in that same statement;
- event and answer claims are ``INSERT … ON CONFLICT DO NOTHING RETURNING``: the unique
  key decides, across any number of processes, who claimed first;
- every other answer write is an ``UPDATE`` whose WHERE states the whole precondition
  (the owner holds it, it is answering, its lease ran out), and taking expired answers
  locks them ``FOR UPDATE SKIP LOCKED``, so two replicas never take the same one.

Only ``set_persona`` and ``set_channel_tools`` (read the old value, write the new one and
its audit entry) and storing a turn with images (the turn, then its images' bytes) need
a transaction of several statements. Within this process, the writes to one answer go
out in the order they were called (``_InCallOrder``), as they would on one connection.

Times are ``timestamptz`` from the injected ``clock``, never the server's ``now()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
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
from core.store.values import (
    after,
    channel_key,
    checked_keep,
    conversation_key,
    files_from_json,
    files_to_json,
    first_wins,
    image_bytes,
    images_from_json,
    images_to_json,
    persona_from_json,
    persona_to_json,
    texts_from_json,
    texts_to_json,
    tool_calls_from_json,
    tool_calls_to_json,
    tool_names_from_json,
    tool_names_to_json,
    tool_set_from_json,
    tool_set_to_json,
    usage_from_row,
    usage_row,
    utc_now,
)
from core.store import postgres_migrations
from core.store.batcher import Batcher
from core.store.urls import HIDDEN, redacted_url, url_passwords
from core.types import (
    ChannelRef,
    ConversationRef,
    Feedback,
    FeedbackTotals,
    IncomingMessage,
    NewTurn,
    Persona,
    PersonaChange,
    ToolsChange,
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
_CHANNEL_TOOLS = 0x6377_0003
# Batches (``Batcher``): rows per statement, and statements of one kind in flight at
# once (two: one held up in the database does not stop the others; more would take
# connections the other operations of a burst are waiting for).
_MAX_BATCH = 200
_LANES = 2

# -- turns -----------------------------------------------------------------------------
# The turns and replies stored at once share this statement, one element of each array
# per turn, in call order ($18): $1..$4 name the conversation, $5 is now, $6..$14 the
# turn; a reply's usage ($15 day, $16 prompt, $17 completion, $18 cached, $19 reasoning,
# $20 cost in nano-USD) is counted in the same statement, both or neither (a plain turn
# has NULLs there).
#
# Conversations are read first: an existing one (the usual case) is found without a
# write. Only new ones are inserted; if another process inserts one at the same moment,
# DO UPDATE waits for it and returns its id (DO NOTHING would return no row, and the
# turn would be lost). A conversation or a day's usage is written once however many
# rows of the batch share it: DO UPDATE may change a row only once per statement.
#
# Two batches at once (two lanes, or two replicas) lock what they write in one order,
# so they queue up instead of deadlocking: new conversations in the order of their key,
# then the turns, then the usage rows in the order of their key (``counted`` waits for
# ``turn``: the scalar subquery in its WHERE is an InitPlan, which reads all of ``turn``
# before the first usage row is written).
_ADD_TURNS = """
    WITH new AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                             $5::timestamptz[], $6::text[], $7::text[], $8::int[], $9::text[],
                             $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
                             $15::date[], $16::bigint[], $17::bigint[], $18::bigint[],
                             $19::bigint[], $20::bigint[], $21::int[])
            AS r(platform, workspace, channel, thread, now, role, content, tokens,
                 author_id, author_name, event_id, images, tool_calls, tool_call_id, day,
                 prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens,
                 cost_nanousd, n)),
    found AS (
        SELECT id, platform, workspace, channel, thread FROM conversations
        WHERE (platform, workspace, channel, thread) IN (
            SELECT platform, workspace, channel, thread FROM new)),
    created AS (
        INSERT INTO conversations (platform, workspace, channel, thread, created_at)
        SELECT DISTINCT ON (platform, workspace, channel, thread)
            platform, workspace, channel, thread, now
        FROM new
        WHERE (platform, workspace, channel, thread) NOT IN (
            SELECT platform, workspace, channel, thread FROM found)
        ORDER BY platform, workspace, channel, thread, n
        ON CONFLICT (platform, workspace, channel, thread) DO UPDATE SET thread = excluded.thread
        RETURNING id, platform, workspace, channel, thread),
    conversation AS (SELECT * FROM found UNION ALL SELECT * FROM created),
    turn AS (
        INSERT INTO turns (conversation_id, role, content, tokens, author_id, author_name,
                           created_at, event_id, images, tool_calls, tool_call_id)
        SELECT conversation.id, role, content, tokens, author_id, author_name, now, event_id,
               images, tool_calls, tool_call_id
        FROM new JOIN conversation USING (platform, workspace, channel, thread)
        ORDER BY n
        RETURNING id),
    counted AS (
        INSERT INTO usage_daily
            (platform, workspace, channel, day, prompt_tokens, completion_tokens,
             cached_tokens, reasoning_tokens, cost_nanousd)
        SELECT platform, workspace, channel, day, sum(prompt_tokens)::bigint,
               sum(completion_tokens)::bigint, sum(cached_tokens)::bigint,
               sum(reasoning_tokens)::bigint, sum(cost_nanousd)::bigint
        FROM new
        WHERE day IS NOT NULL AND (SELECT count(*) FROM turn) > 0
        GROUP BY platform, workspace, channel, day
        ORDER BY platform, workspace, channel, day
        ON CONFLICT (platform, workspace, channel, day) DO UPDATE SET
            prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
            completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
            cached_tokens = usage_daily.cached_tokens + excluded.cached_tokens,
            reasoning_tokens = usage_daily.reasoning_tokens + excluded.reasoning_tokens,
            cost_nanousd = usage_daily.cost_nanousd + excluded.cost_nanousd)
    SELECT id FROM turn
"""
_TURN_COLUMNS = """
    id, role, content, tokens, author_id, author_name, created_at, images, tool_calls,
    tool_call_id
"""
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
# The bytes of the turns' images go in the same statement (the status counts the turns).
_FORGET = f"""
    WITH images AS (DELETE FROM turn_images WHERE {_CONVERSATION_IS})
    DELETE FROM turns WHERE {_CONVERSATION_IS}
"""
# The newest turn of each role linked to the event. The steps of an answer that called
# tools share its event: its reply is the assistant turn that called none (a question
# never has calls), and tool turns are never its question.
_ANSWER_TURNS = f"""
    SELECT DISTINCT ON (role) {_TURN_COLUMNS} FROM turns
    WHERE {_CONVERSATION_IS} AND event_id = $5 AND role IN ('user', 'assistant')
        AND tool_calls IS NULL
    ORDER BY role, id DESC
"""

# -- images of user turns --------------------------------------------------------------
# A turn with images is stored in a transaction of its own (the shared ``_ADD_TURNS``,
# then this): $1 the turn, $2 and $3 each image's position and bytes.
_ADD_IMAGES = """
    INSERT INTO turn_images (turn_id, position, conversation_id, data)
    SELECT turns.id, image.position, turns.conversation_id, image.data
    FROM turns, unnest($2::int[], $3::bytea[]) AS image(position, data)
    WHERE turns.id = $1
"""
_IMAGE_DATA = "SELECT turn_id, position, data FROM turn_images WHERE turn_id = ANY($1::bigint[])"
# ``kept`` walks the conversation's turns back only as far as its newest $5 user turns;
# the bytes older than the oldest of them are a range of ``turn_images_by_conversation``.
# No kept turn ($5 = 0, or no user turn) keeps nothing. Each image's turn is looked up by
# its key: a scalar subquery, which (unlike EXISTS) the planner never turns into a join
# that may walk every turn.
_PRUNE_IMAGES = f"""
    WITH kept AS (
        SELECT id FROM turns
        WHERE {_CONVERSATION_IS} AND role = 'user'
        ORDER BY conversation_id DESC, id DESC
        LIMIT $5)
    DELETE FROM turn_images
    WHERE {_CONVERSATION_IS}
        AND turn_id < COALESCE((SELECT min(id) FROM kept), {_NO_UPPER_BOUND})
        AND (SELECT role FROM turns WHERE turns.id = turn_images.turn_id) = 'user'
"""

# -- personas, usage, events -----------------------------------------------------------
_PERSONA_COLUMNS = (
    "system_prompt, name, description, model, temperature, max_tokens, vision, tools,"
    " suggested_prompts, loading_messages")
_CHANNEL_IS = "platform = $1 AND workspace = $2 AND channel = $3"
_GET_PERSONA = f"SELECT {_PERSONA_COLUMNS} FROM personas WHERE {_CHANNEL_IS}"
# Every answer looks its persona up: the lookups made at once share one statement, and
# give back the places ($4) of the channels that have one.
_GET_PERSONAS = f"""
    SELECT asked.n, {_PERSONA_COLUMNS}
    FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
        AS asked(platform, workspace, channel, n)
    JOIN personas USING (platform, workspace, channel)
"""
# Changes of one channel's persona queue up behind this lock, so each audit entry's
# "before" is the "after" of the one before it, even for a channel with no row to lock.
_LOCK_CHANNEL_PERSONA = (
    f"SELECT pg_advisory_xact_lock({_CHANNEL_PERSONA},"
    " hashtext(concat_ws(chr(31), $1::text, $2::text, $3::text)))"
)
_UPSERT_PERSONA = f"""
    INSERT INTO personas (platform, workspace, channel, {_PERSONA_COLUMNS}, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
    ON CONFLICT (platform, workspace, channel) DO UPDATE SET
        system_prompt = excluded.system_prompt, name = excluded.name,
        description = excluded.description, model = excluded.model,
        temperature = excluded.temperature, max_tokens = excluded.max_tokens,
        vision = excluded.vision, tools = excluded.tools,
        suggested_prompts = excluded.suggested_prompts,
        loading_messages = excluded.loading_messages, updated_at = excluded.updated_at
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
# -- tools chosen per channel (no row: never chosen, or reset) --------------------------
_GET_CHANNEL_TOOLS = f"SELECT tools FROM channel_tools WHERE {_CHANNEL_IS}"
# Once tools exist every answer looks its channel's choice up, as its persona: the
# lookups made at once share one statement, giving back the places ($4) that have one.
_GET_CHANNEL_TOOLS_MANY = """
    SELECT asked.n, tools
    FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
        AS asked(platform, workspace, channel, n)
    JOIN channel_tools USING (platform, workspace, channel)
"""
# As for personas: changes of one channel's tools queue up, so each audit entry's
# "before" is the "after" of the one before it.
_LOCK_CHANNEL_TOOLS = (
    f"SELECT pg_advisory_xact_lock({_CHANNEL_TOOLS},"
    " hashtext(concat_ws(chr(31), $1::text, $2::text, $3::text)))"
)
_UPSERT_CHANNEL_TOOLS = """
    INSERT INTO channel_tools (platform, workspace, channel, tools, updated_at)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (platform, workspace, channel) DO UPDATE SET
        tools = excluded.tools, updated_at = excluded.updated_at
"""
_DELETE_CHANNEL_TOOLS = f"DELETE FROM channel_tools WHERE {_CHANNEL_IS}"
_INSERT_TOOLS_AUDIT = """
    INSERT INTO tools_audit
        (platform, workspace, channel, actor_id, actor_name, before, after, changed_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
_TOOLS_HISTORY = f"""
    SELECT actor_id, actor_name, before, after, changed_at FROM tools_audit
    WHERE {_CHANNEL_IS}
    ORDER BY id DESC
    LIMIT $4
"""
# -- feedback on answers (one row per person and answer; a second click replaces it) ---
_RECORD_FEEDBACK = """
    INSERT INTO answer_feedback
        (platform, workspace, channel, answer_id, user_id, helpful, given_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (platform, workspace, channel, answer_id, user_id) DO UPDATE SET
        helpful = excluded.helpful, given_at = excluded.given_at
"""
# A range of the table's key (its prefix is the channel).
_FEEDBACK_TOTALS = f"""
    SELECT count(*) FILTER (WHERE helpful), count(*) FILTER (WHERE NOT helpful)
    FROM answer_feedback
    WHERE {_CHANNEL_IS}
"""
# SUM of bigint is numeric in PostgreSQL: cast back, or asyncpg hands out Decimals.
# Today's five sums, then all days' five (``usage_from_row``'s order); ``day`` is the
# parameter holding the day.
def _usage_sums(day: str, where: str) -> str:
    columns = ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_nanousd")
    today = [f"SUM({c}) FILTER (WHERE day = {day})::bigint" for c in columns]
    total = [f"SUM({c})::bigint" for c in columns]
    return f"SELECT {', '.join(today + total)} FROM usage_daily WHERE {where}"


_USAGE = _usage_sums("$4", _CHANNEL_IS)
# A range of the primary key, whose prefix is (platform, workspace).
_WORKSPACE_USAGE = _usage_sums("$3", "platform = $1 AND workspace = $2")
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
    is_admin, files, route, state, owner, attempts, delivery, created_at
"""
# Claims of one conversation's answers queue up behind a transaction-level lock, taken
# before the rows (and their ``claim_order``) are made and held until they are committed:
# so ``claim_order`` is also the order in which they became visible, and no replica can
# see a later answer of a conversation without the earlier ones (``earlier_unfinished``).
#
# The claims made at once share this statement (``_claim_answers``); its columns travel
# as arrays, one element per claim, in call order ($17 is that order). ``queued`` takes
# the lock of every conversation of the batch, each once and in the order of its key,
# before any row is formed: the scalar subquery in WHERE is an InitPlan, run in full
# before the first row, and a volatile function keeps it from being planned away. Every
# batch, of any replica, takes its locks in that same order, so two batches sharing
# conversations queue up instead of deadlocking; and a batch holds all its locks while
# it inserts, so it never waits for another batch's lock halfway through. ORDER BY gives
# each conversation's claims their ``claim_order`` in call order.
_CLAIM_ANSWERS = f"""
    WITH claims AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::text[], $8::text[], $9::boolean[],
                             $10::boolean[], $11::text[], $12::text[], $13::timestamptz[],
                             $14::text[], $15::timestamptz[], $16::text[], $17::int[])
            AS c(platform, event_id, workspace, channel, thread, user_id, user_name, text,
                 is_dm, is_admin, route, owner, lease_until, delivery, created_at, files, n)),
    queued AS MATERIALIZED (
        SELECT pg_advisory_xact_lock({_CONVERSATION_CLAIMS}, lock) FROM (
            SELECT DISTINCT hashtext(concat_ws(chr(31), platform, workspace, channel,
                                               thread)) AS lock
            FROM claims ORDER BY lock) AS conversations)
    INSERT INTO answers
        (platform, event_id, workspace, channel, thread, user_id, user_name, text, is_dm,
         is_admin, files, route, state, owner, lease_until, attempts, delivery, created_at,
         updated_at)
    SELECT platform, event_id, workspace, channel, thread, user_id, user_name, text, is_dm,
           is_admin, files, route::jsonb, 'answering', owner, lease_until, 1, delivery::jsonb,
           created_at, created_at
    FROM claims
    WHERE (SELECT count(*) FROM queued) > 0
    ORDER BY n
    ON CONFLICT (platform, event_id) DO NOTHING
    RETURNING platform, event_id
"""
_GET_ANSWER = f"SELECT {_RECORD_COLUMNS} FROM answers WHERE platform = $1 AND event_id = $2"
# The answers asking at once share one statement ($1, $2: their keys, $3: their places
# in the batch); it gives back the places of those that must wait.
_EARLIER_UNFINISHED = """
    SELECT asked.n FROM unnest($1::text[], $2::text[], $3::int[]) AS asked(platform, event_id, n)
    JOIN answers AS mine ON mine.platform = asked.platform AND mine.event_id = asked.event_id
    WHERE EXISTS (
        SELECT 1 FROM answers AS earlier
        WHERE earlier.platform = mine.platform AND earlier.workspace = mine.workspace
            AND earlier.channel = mine.channel AND earlier.thread = mine.thread
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
# Many answers finished (or their progress saved, state staying 'answering') at once
# share this statement, one element of each array per answer: key, owner, state,
# delivery, now. RETURNING tells each caller whether its own row changed. No answer is
# twice in one batch: its writes wait for each other (``_InCallOrder``).
_FINISH_ANSWERS = """
    UPDATE answers SET state = done.state, delivery = done.delivery::jsonb,
        updated_at = done.updated_at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                $6::timestamptz[]) AS done(platform, event_id, owner, state, delivery, updated_at)
    WHERE answers.platform = done.platform AND answers.event_id = done.event_id
        AND answers.owner = done.owner AND answers.state = 'answering'
    RETURNING answers.platform, answers.event_id
"""
_SERVER_VERSION = "SELECT current_setting('server_version')"


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
        clock: Clock = utc_now,
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
        # Calls made while a statement of their kind is in flight share the next one
        # (see ``Batcher``). Saves have batches of their own: a save and a later finish
        # of one answer never share a statement (``_InCallOrder`` sends the finish only
        # once the save is done).
        lanes = min(pool_size, _LANES)
        self._answer_claims: Batcher[_NewAnswer, bool] = Batcher(
            self._claim_answers, _MAX_BATCH, lanes)
        self._turn_checks: Batcher[AnswerKey, bool] = Batcher(
            self._earlier_unfinished, _MAX_BATCH, lanes)
        self._saves: Batcher[_Finish, bool] = Batcher(self._finish_answers, _MAX_BATCH, lanes)
        self._finishes: Batcher[_Finish, bool] = Batcher(
            self._finish_answers, _MAX_BATCH, lanes)
        self._turns: Batcher[_NewTurn, Turn] = Batcher(self._add_turns, _MAX_BATCH, lanes)
        self._persona_reads: Batcher[ChannelRef, Persona | None] = Batcher(
            self._get_personas, _MAX_BATCH, lanes)
        self._tools_reads: Batcher[ChannelRef, frozenset[str] | None] = Batcher(
            self._get_channel_tools, _MAX_BATCH, lanes)

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
        self._open_pool("add_turn")
        now = self._now()
        return await self._add(
            _NewTurn(turn, (*_turn_params(conversation, turn, now), None, *_NO_USAGE)))

    async def add_reply(
        self, conversation: ConversationRef, turn: NewTurn, usage: Usage, day: date
    ) -> Turn:
        self._open_pool("add_reply")
        now = self._now()
        params = (*_turn_params(conversation, turn, now), day, *usage_row(usage))
        return await self._add(_NewTurn(turn, params))

    async def recent_turns(
        self, conversation: ConversationRef, limit: int, before_id: int | None = None
    ) -> list[Turn]:
        self._open_pool("recent_turns")
        # A negative LIMIT is an error in PostgreSQL; the contract means "nothing".
        if limit <= 0:
            return []
        upper = _NO_UPPER_BOUND if before_id is None else before_id
        async with self._connection("recent_turns") as db:
            rows = await db.fetch(_RECENT_TURNS, *conversation_key(conversation), upper, limit)
        return [_turn_from_row(row) for row in reversed(rows)]

    async def forget(self, conversation: ConversationRef) -> int:
        async with self._connection("forget") as db:
            return _count(await db.execute(_FORGET, *conversation_key(conversation)))

    # -- images of user turns ----------------------------------------------------------
    async def image_data(self, turn_ids: Sequence[int]) -> dict[tuple[int, int], bytes]:
        self._open_pool("image_data")
        if not turn_ids:
            return {}
        async with self._connection("image_data") as db:
            rows = await db.fetch(_IMAGE_DATA, list(turn_ids))
        return {(turn_id, position): data for turn_id, position, data in rows}

    async def prune_images(self, conversation: ConversationRef, keep_user_turns: int) -> int:
        keep = checked_keep(keep_user_turns)
        async with self._connection("prune_images") as db:
            return _count(await db.execute(
                _PRUNE_IMAGES, *conversation_key(conversation), keep))

    # -- personas ----------------------------------------------------------------------
    async def get_persona(self, channel: ChannelRef) -> Persona | None:
        self._open_pool("get_persona")
        return await self._persona_reads.submit(channel)

    async def set_persona(
        self,
        channel: ChannelRef,
        persona: Persona | None,
        actor_id: str,
        actor_name: str,
    ) -> PersonaChange:
        now = self._now()
        key = channel_key(channel)
        async with self._connection("set_persona") as db, db.transaction():
            await db.execute(_LOCK_CHANNEL_PERSONA, *key)
            row = await db.fetchrow(_GET_PERSONA, *key)
            before = None if row is None else _persona_from_row(row)
            if persona is None:
                await db.execute(_DELETE_PERSONA, *key)
            else:
                await db.execute(_UPSERT_PERSONA, *key, *_persona_values(persona), now)
            change = PersonaChange(channel, actor_id, actor_name, before, persona, now)
            await db.execute(_INSERT_AUDIT, *key, actor_id, actor_name,
                             persona_to_json(before), persona_to_json(persona), now)
        return change

    async def persona_history(self, channel: ChannelRef, limit: int) -> list[PersonaChange]:
        self._open_pool("persona_history")
        if limit <= 0:
            return []
        async with self._connection("persona_history") as db:
            rows = await db.fetch(_PERSONA_HISTORY, *channel_key(channel), limit)
        return [_change_from_row(channel, row) for row in rows]

    # -- tools chosen per channel ------------------------------------------------------
    async def get_channel_tools(self, channel: ChannelRef) -> frozenset[str] | None:
        self._open_pool("get_channel_tools")
        return await self._tools_reads.submit(channel)

    async def set_channel_tools(
        self, channel: ChannelRef, tools: frozenset[str] | None, actor_id: str, actor_name: str
    ) -> ToolsChange:
        now = self._now()
        key = channel_key(channel)
        async with self._connection("set_channel_tools") as db, db.transaction():
            await db.execute(_LOCK_CHANNEL_TOOLS, *key)
            before = tool_set_from_json(await db.fetchval(_GET_CHANNEL_TOOLS, *key))
            if tools is None:
                await db.execute(_DELETE_CHANNEL_TOOLS, *key)
            else:
                await db.execute(_UPSERT_CHANNEL_TOOLS, *key, tool_set_to_json(tools), now)
            await db.execute(_INSERT_TOOLS_AUDIT, *key, actor_id, actor_name,
                             tool_set_to_json(before), tool_set_to_json(tools), now)
        return ToolsChange(channel, actor_id, actor_name, before, tools, now)

    async def tools_history(self, channel: ChannelRef, limit: int) -> list[ToolsChange]:
        self._open_pool("tools_history")
        if limit <= 0:
            return []
        async with self._connection("tools_history") as db:
            rows = await db.fetch(_TOOLS_HISTORY, *channel_key(channel), limit)
        return [ToolsChange(channel, actor_id, actor_name, tool_set_from_json(before),
                            tool_set_from_json(after), changed_at)
                for actor_id, actor_name, before, after, changed_at in rows]

    # -- feedback on answers -----------------------------------------------------------
    async def record_feedback(self, feedback: Feedback) -> None:
        # One statement: the upsert decides, across replicas, which click is kept.
        async with self._connection("record_feedback") as db:
            await db.execute(_RECORD_FEEDBACK, *channel_key(feedback.channel),
                             feedback.answer_id, feedback.user_id, feedback.helpful,
                             self._now())

    async def feedback_totals(self, channel: ChannelRef) -> FeedbackTotals:
        async with self._connection("feedback_totals") as db:
            helpful, unhelpful = await db.fetchrow(_FEEDBACK_TOTALS, *channel_key(channel))
        return FeedbackTotals(helpful, unhelpful)

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
                  route_to_json(route), owner, after(now, lease_seconds),
                  Delivery().to_json(), now, files_to_json(message.files))
        self._open_pool("claim_answer")
        # In the HTTP ack path: the claims made meanwhile share one statement.
        return await self._answer_claims.submit(_NewAnswer(params))

    async def take_answer(
        self, key: AnswerKey, owner: str, lease_seconds: float
    ) -> AnswerRecord | None:
        now = self._now()
        async with self._connection("take_answer") as db:
            row = await db.fetchrow(_TAKE_ANSWER, owner, after(now, lease_seconds), now, *key)
        return None if row is None else _answer_from_row(row)

    async def take_expired_answers(
        self, platform: str, owner: str, lease_seconds: float, limit: int
    ) -> list[AnswerRecord]:
        self._open_pool("take_expired_answers")
        if limit <= 0:
            return []
        now = self._now()
        async with self._connection("take_expired_answers") as db:
            rows = await db.fetch(_TAKE_EXPIRED_ANSWERS, owner, after(now, lease_seconds),
                                  now, platform, limit)
        # RETURNING's order is unspecified: oldest first again, as the subquery chose them.
        rows.sort(key=lambda row: (row["created_at"], row["claim_order"]))
        return [_answer_from_row(tuple(row)[1:]) for row in rows]

    async def renew_answers(self, keys: list[AnswerKey], owner: str, lease_seconds: float) -> int:
        return await self._set_leases(
            "renew_answers", keys, owner, after(self._now(), lease_seconds))

    async def release_answers(self, keys: list[AnswerKey], owner: str) -> int:
        # A lease ending now: ``lease_until <= now`` lets the next look take it at once.
        # The owner stays, so an answer that still finishes while its process shuts down
        # counts (and is not answered again).
        return await self._set_leases("release_answers", keys, owner, self._now())

    async def save_delivery(self, key: AnswerKey, owner: str, delivery: Delivery) -> bool:
        self._open_pool("save_delivery")
        save = _Finish(key, owner, "answering", delivery.to_json(), self._now())
        async with self._in_call_order.turn(key):
            return await self._saves.submit(save)

    async def finish_answer(
        self, key: AnswerKey, owner: str, state: AnswerState, delivery: Delivery
    ) -> bool:
        if state not in _FINISHED_STATES:
            raise ValueError(f"an answer finishes delivered or failed, not {state!r}")
        self._open_pool("finish_answer")
        finish = _Finish(key, owner, state, delivery.to_json(), self._now())
        async with self._in_call_order.turn(key):
            return await self._finishes.submit(finish)

    async def earlier_unfinished(self, key: AnswerKey) -> bool:
        self._open_pool("earlier_unfinished")
        return await self._turn_checks.submit(key)

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
            rows = await db.fetch(_ANSWER_TURNS, *conversation_key(conversation), event_id)
        newest = {row["role"]: _turn_from_row(row) for row in rows}
        return (newest.get("user"), newest.get("assistant"))

    # -- usage -------------------------------------------------------------------------
    async def usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        return await self._usage("usage", _USAGE, *channel_key(channel), day)

    async def workspace_usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        return await self._usage("workspace_usage", _WORKSPACE_USAGE, channel.platform,
                                 channel.workspace, day)

    async def _usage(self, action: str, sql: str, *params: object) -> UsageTotals:
        async with self._connection(action) as db:
            sums = await db.fetchrow(sql, *params)
        return UsageTotals(usage_from_row(sums[:5]), usage_from_row(sums[5:]))

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

    # -- batches (see ``Batcher``) ----------------------------------------------------
    async def _claim_answers(self, batch: list[_NewAnswer]) -> list[bool | Exception]:
        """``Batcher``' writer for answer claims: one statement for the batch.

        Only the first claim of a key in the batch is in the statement (and told True if
        it is inserted); the repeats are told False, as they would be after it. If the
        database refuses the statement (rolled back whole), each claim is tried alone, so
        only a bad one fails.
        """
        first: dict[AnswerKey, _NewAnswer] = {}
        for new in batch:
            first.setdefault(new.key, new)
        unique = list(first.values())
        try:
            claimed = await self._insert_claims(unique)
        except StoreError as exc:
            if len(unique) == 1 or not _refused(exc):
                return [exc] * len(batch)
            claimed = set()
            failed: dict[AnswerKey, StoreError] = {}
            for new in unique:
                try:
                    claimed |= await self._insert_claims([new])
                except StoreError as alone:
                    failed[new.key] = alone
            return [failed.get(new.key, result) for new, result
                    in zip(batch, first_wins([new.key for new in batch], claimed), strict=True)]
        return first_wins([new.key for new in batch], claimed)

    async def _insert_claims(self, claims: list[_NewAnswer]) -> set[AnswerKey]:
        columns = [list(column) for column in zip(*(new.params for new in claims), strict=True)]
        async with self._connection("claim_answer") as db:
            rows = await db.fetch(_CLAIM_ANSWERS, *columns, list(range(len(claims))))
        return {(platform, event_id) for platform, event_id in rows}

    async def _finish_answers(self, batch: list[_Finish]) -> list[bool | Exception]:
        """``Batcher``' writer for saves and finishes: one UPDATE for the batch."""
        action = "save_delivery" if batch[0].state == "answering" else "finish_answer"
        async with self._connection(action) as db:
            rows = await db.fetch(
                _FINISH_ANSWERS, [finish.key[0] for finish in batch],
                [finish.key[1] for finish in batch], [finish.owner for finish in batch],
                [finish.state for finish in batch], [finish.delivery for finish in batch],
                [finish.now for finish in batch])
        done = {(platform, event_id) for platform, event_id in rows}
        return [finish.key in done for finish in batch]

    async def _add_turns(self, batch: list[_NewTurn]) -> list[Turn | Exception]:
        """``Batcher``' writer for turns and replies: one INSERT for the batch, else one
        at a time, so that a bad one (all or nothing, with its usage) fails alone."""
        try:
            return list(await self._insert_turns(batch))
        except StoreError as exc:
            if len(batch) == 1 or not _refused(exc):
                return [exc] * len(batch)
        results: list[Turn | Exception] = []
        for new in batch:
            try:
                results.extend(await self._insert_turns([new]))
            except StoreError as exc:
                results.append(exc)
        return results

    async def _add(self, new: _NewTurn) -> Turn:
        data = image_bytes(new.turn)  # checked before anything is written
        if not data:
            return await self._turns.submit(new)  # the common case: a shared INSERT
        # Rare: the turn and its images' bytes in a transaction of their own, which
        # leaves the shared INSERT of every other turn as it is.
        async with self._connection(new.action) as db, db.transaction():
            turn_id = await db.fetchval(_ADD_TURNS, *_add_turns_args([new]))
            await db.execute(_ADD_IMAGES, turn_id, list(range(len(data))), list(data))
        return _stored(turn_id, new.turn, new.params[4])

    async def _insert_turns(self, batch: list[_NewTurn]) -> list[Turn]:
        action = "add_turn" if len(batch) > 1 else batch[0].action
        async with self._connection(action) as db:
            rows = await db.fetch(_ADD_TURNS, *_add_turns_args(batch))
        # Inserted in call order (ORDER BY n), and identity numbers only grow within a
        # statement; RETURNING's own order is unspecified, hence the sort.
        ids = sorted(turn_id for (turn_id,) in rows)
        return [_stored(turn_id, new.turn, new.params[4])
                for new, turn_id in zip(batch, ids, strict=True)]

    async def _get_personas(self, batch: list[ChannelRef]) -> list[Persona | None | Exception]:
        """``Batcher``' reader for personas: one SELECT for the batch."""
        async with self._connection("get_persona") as db:
            rows = await db.fetch(_GET_PERSONAS, [channel.platform for channel in batch],
                                  [channel.workspace for channel in batch],
                                  [channel.channel for channel in batch], list(range(len(batch))))
        found = {row[0]: _persona_from_row(row[1:]) for row in rows}
        return [found.get(n) for n in range(len(batch))]

    async def _get_channel_tools(
        self, batch: list[ChannelRef]
    ) -> list[frozenset[str] | None | Exception]:
        """``Batcher``' reader for channels' tools: one SELECT for the batch."""
        async with self._connection("get_channel_tools") as db:
            rows = await db.fetch(
                _GET_CHANNEL_TOOLS_MANY, [channel.platform for channel in batch],
                [channel.workspace for channel in batch], [channel.channel for channel in batch],
                list(range(len(batch))))
        found = {n: tool_set_from_json(tools) for n, tools in rows}
        return [found.get(n) for n in range(len(batch))]

    async def _earlier_unfinished(self, batch: list[AnswerKey]) -> list[bool | Exception]:
        """``Batcher``' reader for "must this answer wait?": one SELECT for the batch."""
        async with self._connection("earlier_unfinished") as db:
            rows = await db.fetch(_EARLIER_UNFINISHED, [key[0] for key in batch],
                                  [key[1] for key in batch], list(range(len(batch))))
        waiting = {n for (n,) in rows}
        return [n in waiting for n in range(len(batch))]

    async def ping(self) -> None:
        async with self._connection("ping") as connection:
            await connection.fetchval("SELECT 1")


@dataclass(frozen=True, slots=True)
class _NewTurn:
    """A turn or reply waiting for its batch: ``_ADD_TURNS``' $1..$20, one per column."""

    turn: NewTurn
    params: tuple[Any, ...]

    @property
    def action(self) -> str:
        return "add_turn" if self.params[14] is None else "add_reply"  # $15, a reply's day


_NO_USAGE = (None,) * 5


def _add_turns_args(batch: list[_NewTurn]) -> list[list[Any]]:
    """``_ADD_TURNS``' arrays: one per column ($1..$20), then the call order ($21)."""
    columns = [list(column) for column in zip(*(new.params for new in batch), strict=True)]
    return [*columns, list(range(len(batch)))]


@dataclass(frozen=True, slots=True)
class _NewAnswer:
    """A claim waiting for its batch: ``_CLAIM_ANSWERS``' $1..$16, one per column."""

    params: tuple[Any, ...]

    @property
    def key(self) -> AnswerKey:
        return (self.params[0], self.params[1])


@dataclass(frozen=True, slots=True)
class _Finish:
    """A save or finish waiting for its batch; ``delivery`` is already JSON."""

    key: AnswerKey
    owner: str
    state: AnswerState
    delivery: str
    now: datetime


def _refused(error: StoreError) -> bool:
    """Whether the database refused a statement (and rolled it back), rather than a
    connection failing or a timeout: only then is trying its rows alone safe and quick."""
    return isinstance(error.__cause__, asyncpg.PostgresError)


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


def _turn_params(conversation: ConversationRef, turn: NewTurn, now: datetime) -> tuple[Any, ...]:
    # $1..$14 of ``_ADD_TURNS``. "" (no event, no call) is stored as NULL: such turns stay
    # out of the index ``turns_by_event``, and a turn without tools costs two NULLs.
    return (*conversation_key(conversation), now, turn.role, turn.content, turn.tokens,
            turn.author_id, turn.author_name, turn.event_id or None,
            images_to_json(turn.images), tool_calls_to_json(turn.tool_calls),
            turn.tool_call_id or None)


def _stored(turn_id: int, turn: NewTurn, created_at: datetime) -> Turn:
    return Turn(turn_id, turn.role, turn.content, turn.tokens, turn.author_id,
                turn.author_name, created_at, turn.images, turn.tool_calls, turn.tool_call_id)


def _turn_from_row(row: asyncpg.Record) -> Turn:
    # Positional, in _TURN_COLUMNS's order.
    (turn_id, role, content, tokens, author_id, author_name, created_at, images, tool_calls,
     tool_call_id) = row
    return Turn(turn_id, role, content, tokens, author_id, author_name, created_at,
                images_from_json(images), tool_calls_from_json(tool_calls),
                tool_call_id or "")


def _answer_from_row(row: Any) -> AnswerRecord:
    # Positional, in _RECORD_COLUMNS's order.
    (platform, event_id, workspace, channel, thread, user_id, user_name, text, is_dm,
     is_admin, files, route, state, owner, attempts, delivery, created_at) = row
    message = IncomingMessage(ConversationRef(platform, workspace, channel, thread),
                              user_id, user_name, text, is_dm, is_admin, event_id,
                              files_from_json(files))
    return AnswerRecord(message, route_from_json(route), state, owner, attempts,
                        Delivery.from_json(delivery), created_at)


def _persona_values(persona: Persona) -> tuple[Any, ...]:
    # In _PERSONA_COLUMNS's order.
    return (persona.system_prompt, persona.name, persona.description, persona.model,
            persona.temperature, persona.max_tokens, persona.vision,
            tool_names_to_json(persona.tools), texts_to_json(persona.suggested_prompts),
            texts_to_json(persona.loading_messages))


def _persona_from_row(row: Any) -> Persona:
    # Positional, in _PERSONA_COLUMNS's order; the last three are JSON text or NULL.
    *values, tools, suggested_prompts, loading_messages = row
    return Persona(*values, tools=tool_names_from_json(tools),
                   suggested_prompts=texts_from_json(suggested_prompts),
                   loading_messages=texts_from_json(loading_messages))


def _change_from_row(channel: ChannelRef, row: asyncpg.Record) -> PersonaChange:
    # Positional, in _PERSONA_HISTORY's column order.
    actor_id, actor_name, before, after, changed_at = row
    return PersonaChange(channel, actor_id, actor_name, persona_from_json(before),
                         persona_from_json(after), changed_at)


