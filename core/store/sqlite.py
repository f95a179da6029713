"""``SQLiteStore``: the ``Store`` on a SQLite file, on one long-lived aiosqlite connection.

aiosqlite runs the connection's statements one at a time on its own thread, but a
transaction spans several awaits: without a lock, another task's statement would land
inside it (and be rolled back with it). So every operation holds ``_lock`` for its
statements; an operation of several writes also holds a ``BEGIN IMMEDIATE`` transaction.

Every await on aiosqlite is a round-trip to that thread (two context switches, ~100 us on
one core), and round-trips, not SQL, are most of what an operation costs. So:

- writes are single statements in autocommit: storing a turn is one INSERT, and a
  reply's usage is counted by a trigger in that same INSERT (only a turn with images
  takes a transaction: the turn, then its images' bytes);
- turns stored while another write is in flight share the next multi-row INSERT
  (``core/store/batcher.py``), so a busy bot spends one trip for many messages;
  so do new conversations' rows, event and answer claims (a burst of new Slack threads),
  finished answers, and reads of history (each reader still gets what the file holds).

Every read goes to the file, so any number of these stores, in any number of processes,
see each other's writes. The one thing remembered is a conversation's row id, which
never changes once committed (a conversation row is never deleted). What a bot reads on
every message is cached by ``CachedStore`` (``core/store/cached.py``), wrapped around
this store only where one writer is guaranteed (``core/store/single_writer.py``).

Timestamps are stored as fixed-width ISO-8601 UTC text, which sorts as time does.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

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
from core.store import migrations
from core.store.batcher import Batcher
from core.store.caches import MISSING, LruCache
from core.store.checkpoints import Checkpointer
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

__all__ = ["SQLiteStore"]

Clock = Callable[[], datetime]
_Item = TypeVar("_Item")

# ``id < ?`` with this when there is no ``before_id``: one statement, always a range scan.
_NO_UPPER_BOUND = 2**63 - 1
# Rows per ``executemany`` when seeding: large enough to amortise the thread hop,
# small enough to keep memory flat for millions of turns.
_SEED_BATCH = 20_000
_MEMORY = ":memory:"
# Conversation ids remembered; past this many the least recently used are dropped (a
# miss costs a trip), so memory stays flat for any bot.
_KNOWN_CONVERSATIONS = 100_000
# Rows per multi-row statement: far below SQLite's 32,766 bound parameters (a turn has
# 14, an answer record 19).
_MAX_INSERT_ROWS = 200
# Conversations per grouped history read: SQLite allows 500 terms in a compound SELECT.
_MAX_GROUPED_READS = 200
# Commits between background WAL checkpoints: a few pages each, ~1,000 pages in all.
_CHECKPOINT_EVERY = 250
# WAL pages (4 KiB) at which the writer checkpoints itself (see core/store/checkpoints.py).
_WAL_BACKSTOP_PAGES = 4000

# The do-nothing UPDATE makes RETURNING give the id of a row that already exists (made
# earlier, or by another process): one statement finds or creates any number of rows.
_UPSERT_CONVERSATIONS = """
    INSERT INTO conversations (platform, workspace, channel, thread, created_at)
    VALUES {values}
    ON CONFLICT (platform, workspace, channel, thread) DO UPDATE SET thread = excluded.thread
    RETURNING id, platform, workspace, channel, thread
"""
_TURN_COLUMNS = """
    (conversation_id, role, content, tokens, author_id, author_name, created_at,
     usage_day, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_nanousd,
     event_id, images, tool_calls, tool_call_id)
"""
_TURN_VALUES = 17
_SEED_TURN = f"INSERT INTO turns {_TURN_COLUMNS} VALUES ({', '.join(['?'] * _TURN_VALUES)})"
# What a ``Turn`` is decoded from (``_turn_from_row``), in this order.
_TURN_READ = """
    id, role, content, tokens, author_id, author_name, created_at, images, tool_calls,
    tool_call_id
"""
_RECENT_TURNS = f"""
    SELECT {_TURN_READ}
    FROM turns
    WHERE conversation_id = (
            SELECT id FROM conversations
            WHERE platform = ? AND workspace = ? AND channel = ? AND thread = ?)
        AND id < ?
    ORDER BY id DESC
    LIMIT ?
"""
# ``_RECENT_TURNS`` as one term of a UNION ALL that serves many reads at once; ``k``
# tells the terms apart.
_RECENT_TURNS_TERM = f"SELECT ? AS k, * FROM ({_RECENT_TURNS})"
# The trigger ``turns_forget_images`` deletes the bytes of the turns' images with them.
_FORGET = """
    DELETE FROM turns WHERE conversation_id = (
        SELECT id FROM conversations
        WHERE platform = ? AND workspace = ? AND channel = ? AND thread = ?)
"""

# -- images of user turns ----------------------------------------------------------------
# Numbered: ``_PRUNE_IMAGES`` names the conversation twice with the same parameters.
_CONVERSATION_ID = """
    SELECT id FROM conversations
    WHERE platform = ?1 AND workspace = ?2 AND channel = ?3 AND thread = ?4
"""
_INSERT_IMAGE = """
    INSERT INTO turn_images (turn_id, position, conversation_id, data) VALUES (?, ?, ?, ?)
"""
# The ids travel as one JSON array: one statement, and one trip, for any number of them.
_IMAGE_DATA = """
    SELECT turn_id, position, data FROM turn_images
    WHERE turn_id IN (SELECT value FROM json_each(?))
"""
# The newest ``?5`` user turns are found by walking the conversation's turns back only as
# far as them; the bytes older than the oldest of them are a range of
# ``turn_images_by_conversation``. No such turn (``?5`` = 0, or no user turn) keeps
# nothing. DELETE comes first (no WITH): Python's sqlite3 gives a rowcount only then.
_PRUNE_IMAGES = f"""
    DELETE FROM turn_images
    WHERE conversation_id = ({_CONVERSATION_ID})
        AND turn_id < COALESCE((
            SELECT min(id) FROM (
                SELECT id FROM turns
                WHERE conversation_id = ({_CONVERSATION_ID}) AND role = 'user'
                ORDER BY id DESC
                LIMIT ?5)), {_NO_UPPER_BOUND})
        AND (SELECT role FROM turns WHERE turns.id = turn_images.turn_id) = 'user'
"""

# -- usage, personas, events -------------------------------------------------------------
# Today's five sums (?1 is the day), then all days' five: ``usage_from_row``'s order.
_USAGE_SUMS = """
    SELECT
        SUM(CASE WHEN day = ?1 THEN prompt_tokens END),
        SUM(CASE WHEN day = ?1 THEN completion_tokens END),
        SUM(CASE WHEN day = ?1 THEN cached_tokens END),
        SUM(CASE WHEN day = ?1 THEN reasoning_tokens END),
        SUM(CASE WHEN day = ?1 THEN cost_nanousd END),
        SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), SUM(reasoning_tokens),
        SUM(cost_nanousd)
    FROM usage_daily
"""
_USAGE = _USAGE_SUMS + "WHERE platform = ?2 AND workspace = ?3 AND channel = ?4"
# A range of the primary key, whose prefix is (platform, workspace).
_WORKSPACE_USAGE = _USAGE_SUMS + "WHERE platform = ?2 AND workspace = ?3"
_GET_PERSONA = """
    SELECT system_prompt, name, description, model, temperature, max_tokens, vision, tools,
           suggested_prompts, loading_messages
    FROM personas WHERE platform = ? AND workspace = ? AND channel = ?
"""
# Every persona, up to a limit (``all_personas``).
_ALL_PERSONAS = """
    SELECT platform, workspace, channel, system_prompt, name, description, model,
           temperature, max_tokens, vision, tools, suggested_prompts, loading_messages
    FROM personas LIMIT ?
"""
_UPSERT_PERSONA = """
    INSERT INTO personas (platform, workspace, channel, system_prompt, name, description,
                          model, temperature, max_tokens, vision, tools, suggested_prompts,
                          loading_messages, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (platform, workspace, channel) DO UPDATE SET
        system_prompt = excluded.system_prompt, name = excluded.name,
        description = excluded.description, model = excluded.model,
        temperature = excluded.temperature, max_tokens = excluded.max_tokens,
        vision = excluded.vision, tools = excluded.tools,
        suggested_prompts = excluded.suggested_prompts,
        loading_messages = excluded.loading_messages, updated_at = excluded.updated_at
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
# -- tools chosen per channel (no row: never chosen, or reset) ------------------------
_GET_CHANNEL_TOOLS = """
    SELECT tools FROM channel_tools WHERE platform = ? AND workspace = ? AND channel = ?
"""
# Every channel's choice, up to a limit (``all_channel_tools``).
_ALL_CHANNEL_TOOLS = "SELECT platform, workspace, channel, tools FROM channel_tools LIMIT ?"
_UPSERT_CHANNEL_TOOLS = """
    INSERT INTO channel_tools (platform, workspace, channel, tools, updated_at)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (platform, workspace, channel) DO UPDATE SET
        tools = excluded.tools, updated_at = excluded.updated_at
"""
_DELETE_CHANNEL_TOOLS = """
    DELETE FROM channel_tools WHERE platform = ? AND workspace = ? AND channel = ?
"""
_INSERT_TOOLS_AUDIT = """
    INSERT INTO tools_audit
        (platform, workspace, channel, actor_id, actor_name, before, after, changed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_TOOLS_HISTORY = """
    SELECT actor_id, actor_name, before, after, changed_at FROM tools_audit
    WHERE platform = ? AND workspace = ? AND channel = ?
    ORDER BY id DESC
    LIMIT ?
"""
# -- feedback on answers (one row per person and answer; a second click replaces it) ---
_RECORD_FEEDBACK = """
    INSERT INTO answer_feedback
        (platform, workspace, channel, answer_id, user_id, helpful, given_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (platform, workspace, channel, answer_id, user_id) DO UPDATE SET
        helpful = excluded.helpful, given_at = excluded.given_at
"""
# A range of the table's key (its prefix is the channel).
_FEEDBACK_TOTALS = """
    SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) FROM answer_feedback
    WHERE platform = ? AND workspace = ? AND channel = ?
"""
# RETURNING gives only the rows inserted: the events claimed now, not the repeats.
_CLAIM_EVENTS = """
    INSERT INTO processed_events (platform, event_id, claimed_at) VALUES {values}
    ON CONFLICT (platform, event_id) DO NOTHING
    RETURNING platform, event_id
"""
_PRUNE_EVENTS = "DELETE FROM processed_events WHERE claimed_at < ?"
# A turn's link to its answer; newest last, so the newest of each role wins. The steps
# of an answer that called tools share its event: its reply is the assistant turn that
# called none (a question never has calls), and tool turns are never its question.
_ANSWER_TURNS = f"""
    SELECT {_TURN_READ}
    FROM turns
    WHERE conversation_id = (
            SELECT id FROM conversations
            WHERE platform = ? AND workspace = ? AND channel = ? AND thread = ?)
        AND event_id = ? AND role IN ('user', 'assistant') AND tool_calls IS NULL
    ORDER BY id
"""

# -- answer records (see core/answers.py) ------------------------------------------------
# Every write below is one statement whose WHERE states the whole precondition (the
# owner holds it, it is answering, its lease ran out): atomic in the database itself,
# so it holds across processes, as event claims do.
_ANSWER_COLUMNS = """
    (platform, event_id, workspace, channel, thread, user_id, user_name, text, is_dm,
     is_admin, files, route, state, owner, lease_until, attempts, delivery, created_at,
     updated_at)
"""
_ANSWER_VALUES = 19
# What an ``AnswerRecord`` is decoded from (``_answer_from_row``), in this order
# (``take_expired_answers`` sorts on the last, created_at).
_RECORD_COLUMNS = """
    platform, event_id, workspace, channel, thread, user_id, user_name, text, is_dm,
    is_admin, files, route, state, owner, attempts, delivery, created_at
"""
# RETURNING gives only the rows inserted: the answers claimed now, not the repeats.
_CLAIM_ANSWERS = f"""
    INSERT INTO answers {_ANSWER_COLUMNS} VALUES {{values}}
    ON CONFLICT (platform, event_id) DO NOTHING
    RETURNING platform, event_id
"""
_GET_ANSWER = f"SELECT {_RECORD_COLUMNS} FROM answers WHERE platform = ? AND event_id = ?"
# rowid is the claim order: an answer's row is inserted when it is claimed.
# Many answers ask at once (every answer asks once before it starts): one statement
# for all, giving back the tags (column1) of those that must wait.
_EARLIER_UNFINISHED = """
    SELECT v.column1 FROM (VALUES {values}) AS v
    JOIN answers AS mine ON mine.platform = v.column2 AND mine.event_id = v.column3
    WHERE EXISTS (
        SELECT 1 FROM answers AS earlier
        WHERE earlier.platform = mine.platform AND earlier.workspace = mine.workspace
            AND earlier.channel = mine.channel AND earlier.thread = mine.thread
            AND earlier.state = 'answering' AND earlier.rowid < mine.rowid)
"""
_TAKE_ANSWER = f"""
    UPDATE answers SET owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
    WHERE platform = ? AND event_id = ? AND state = 'answering' AND lease_until <= ?
    RETURNING {_RECORD_COLUMNS}
"""
# The inner SELECT is a range of the partial index ``answers_expiring`` (it repeats the
# index's ``state = 'answering'``): finished answers are never read. rowid orders answers
# claimed in the same microsecond as they were claimed.
_TAKE_EXPIRED_ANSWERS = f"""
    UPDATE answers SET owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
    WHERE (platform, event_id) IN (
        SELECT platform, event_id FROM answers
        WHERE platform = ? AND state = 'answering' AND lease_until <= ?
        ORDER BY created_at, rowid
        LIMIT ?)
    RETURNING rowid, {_RECORD_COLUMNS}
"""
# Keys travel as one JSON array of [platform, event_id] pairs: one statement, and one
# trip, for any number of them.
_SET_LEASES = """
    UPDATE answers SET lease_until = ?, updated_at = ?
    WHERE owner = ? AND state = 'answering'
        AND (platform, event_id) IN (
            SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
            FROM json_each(?))
"""
# Many answers finished (or their progress saved, state staying 'answering') at once
# share this statement; RETURNING tells each caller whether its own row changed
# (``executemany`` can only sum the changes up). SQLite names a VALUES table's columns
# column1, column2, ...: key, owner, state, delivery.
_FINISH_ANSWERS = """
    UPDATE answers SET state = v.column4, delivery = v.column5, updated_at = ?
    FROM (VALUES {values}) AS v
    WHERE answers.platform = v.column1 AND answers.event_id = v.column2
        AND answers.owner = v.column3 AND answers.state = 'answering'
    RETURNING answers.platform, answers.event_id, answers.owner
"""
# Repeats the partial index ``answers_finished``'s WHERE term, so the index is used.
_PRUNE_ANSWERS = "DELETE FROM answers WHERE state != 'answering' AND updated_at < ?"
_FINISHED_STATES = ("delivered", "failed")


@dataclass(frozen=True, slots=True)
class _PendingTurn:
    """A turn waiting for its INSERT; a reply also carries the usage to count."""

    conversation_id: int
    turn: NewTurn
    created_at: datetime
    usage_day: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class _HistoryRead:
    """A ``recent_turns`` waiting for its SELECT: the newest ``limit`` below ``upper``."""

    conversation: ConversationRef
    upper: int
    limit: int


@dataclass(frozen=True, slots=True)
class _NewAnswer:
    """An answer record waiting for its INSERT: its key and its row (``_ANSWER_COLUMNS``)."""

    key: AnswerKey
    row: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Finish:
    """An answer's last write waiting for its UPDATE; ``delivery`` is already JSON."""

    key: AnswerKey
    owner: str
    state: AnswerState
    delivery: str

    @property
    def holder(self) -> tuple[str, str, str]:
        """The answer and who must hold it: what the UPDATE matches, and RETURNING gives."""
        return (*self.key, self.owner)


class SQLiteStore(OpenedInContext):
    """The ``Store`` on a SQLite file (or ``":memory:"``), created with its directory."""

    def __init__(
        self, path: str | Path, *, clock: Clock = utc_now, busy_timeout: float = 5.0
    ) -> None:
        self._path = os.fspath(path)
        self._clock = clock
        self._busy_timeout_ms = int(busy_timeout * 1000)
        self._db: aiosqlite.Connection | None = None
        self._checkpointer: Checkpointer | None = None
        self._closed = False
        self._lock = asyncio.Lock()
        # Writes of many tasks at once share one statement (see the module docstring).
        self._writer: Batcher[_PendingTurn, Turn] = Batcher(
            self._write_turns, _MAX_INSERT_ROWS)
        self._new_conversations: Batcher[ConversationRef, int] = Batcher(
            self._create_conversations, _MAX_INSERT_ROWS)
        self._claims: Batcher[tuple[str, str], bool] = Batcher(
            self._claim_events, _MAX_INSERT_ROWS)
        self._answer_claims: Batcher[_NewAnswer, bool] = Batcher(
            self._claim_answers, _MAX_INSERT_ROWS)
        self._finishes: Batcher[_Finish, bool] = Batcher(
            self._finish_answers, _MAX_INSERT_ROWS)
        # A batcher of its own: a save and a later finish of one answer never share a
        # statement, where only the first of a key would count.
        self._saves: Batcher[_Finish, bool] = Batcher(self._finish_answers, _MAX_INSERT_ROWS)
        self._turn_checks: Batcher[AnswerKey, bool] = Batcher(
            self._earlier_unfinished, _MAX_GROUPED_READS)
        self._histories: Batcher[_HistoryRead, list[Turn]] = Batcher(
            self._read_histories, _MAX_GROUPED_READS)
        # Only ids of committed rows: a conversation row is never deleted (``forget``
        # deletes its turns), so a committed id stays right whoever else writes the file.
        self._conversation_ids: LruCache[ConversationRef, int] = LruCache(_KNOWN_CONVERSATIONS)

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
                db = await self._connect()
                try:
                    if self._path != _MEMORY:
                        self._checkpointer = await self._start_checkpointer()
                except BaseException:
                    await db.close()
                    raise
                self._db = db

    async def aclose(self) -> None:
        # What was already handed to the writers is stored before the connection closes.
        await self.drain()
        async with self._lock:
            db, self._db, self._closed = self._db, None, True
            checkpointer, self._checkpointer = self._checkpointer, None
            self._conversation_ids.clear()
            with _translated("closing the database"):
                if checkpointer is not None:
                    await checkpointer.aclose()
                if db is not None:
                    await db.close()

    async def drain(self) -> None:
        """Wait until every write (and read) handed over so far has finished: a caller
        cancelled while its turn waited for the shared INSERT does not stop the INSERT."""
        for batcher in (self._histories, self._new_conversations, self._claims,
                        self._answer_claims, self._saves, self._finishes, self._turn_checks,
                        self._writer):
            await batcher.drain()

    # -- turns -------------------------------------------------------------------------
    async def add_turn(self, conversation: ConversationRef, turn: NewTurn) -> Turn:
        return await self._add(conversation, turn, "add_turn")

    async def add_reply(
        self, conversation: ConversationRef, turn: NewTurn, usage: Usage, day: date
    ) -> Turn:
        # One INSERT: the trigger ``turns_count_usage`` counts the usage in it.
        return await self._add(conversation, turn, "add_reply", day.isoformat(), usage)

    async def recent_turns(
        self, conversation: ConversationRef, limit: int, before_id: int | None = None
    ) -> list[Turn]:
        # SQLite reads a negative LIMIT as "no limit"; the contract means "nothing".
        if limit <= 0:
            return []
        self._open_db("recent_turns")
        # Reads made meanwhile (a burst of new threads) share one SELECT.
        upper = _NO_UPPER_BOUND if before_id is None else before_id
        return await self._histories.submit(_HistoryRead(conversation, upper, limit))

    async def forget(self, conversation: ConversationRef) -> int:
        async with self._connection("forget") as db:
            deleted: int = (await db.execute(_FORGET, conversation_key(conversation))).rowcount
        return deleted

    # -- images of user turns ----------------------------------------------------------
    async def image_data(self, turn_ids: Sequence[int]) -> dict[tuple[int, int], bytes]:
        self._open_db("image_data")
        if not turn_ids:
            return {}
        async with self._connection("image_data") as db:
            rows = await db.execute_fetchall(_IMAGE_DATA, (json.dumps(list(turn_ids)),))
        return {(turn_id, position): data for turn_id, position, data in rows}

    async def prune_images(self, conversation: ConversationRef, keep_user_turns: int) -> int:
        params = (*conversation_key(conversation), checked_keep(keep_user_turns))
        async with self._connection("prune_images") as db:
            deleted: int = (await db.execute(_PRUNE_IMAGES, params)).rowcount
        if deleted:
            self._committed()
        return deleted

    async def seed_turns(self, conversation: ConversationRef, turns: Iterable[NewTurn]) -> None:
        """Insert many turns in one transaction, all with the same ``created_at``.

        For benchmarks and imports only: the engine stores turns one by one with
        ``add_turn``. Batched ``executemany`` keeps a million turns to seconds.
        """
        async with self._connection("seed_turns") as db:
            async with _write_transaction(db):
                conversation_id = await self._find_or_create_conversation(db, conversation)
                created_at = _to_text(self._now())
                rows = (_turn_row(conversation_id, turn, created_at, None, None)
                        for turn in turns)
                for batch in _batches(rows, _SEED_BATCH):
                    await db.executemany(_SEED_TURN, batch)
            self._conversation_ids.put(conversation, conversation_id)

    # -- personas ----------------------------------------------------------------------
    async def get_persona(self, channel: ChannelRef) -> Persona | None:
        async with self._connection("get_persona") as db:
            return await _select_persona(db, channel)

    async def all_personas(self, limit: int) -> dict[ChannelRef, Persona] | None:
        """Every persona stored, or None if there are more than ``limit`` (for a cache
        that holds them all, so that a channel without one costs no read)."""
        async with self._connection("all_personas") as db:
            rows = await db.execute_fetchall(_ALL_PERSONAS, (limit + 1,))
        if len(rows) > limit:
            return None
        return {ChannelRef(platform, workspace, channel): _persona_from_row(persona)
                for platform, workspace, channel, *persona in rows}

    async def set_persona(
        self,
        channel: ChannelRef,
        persona: Persona | None,
        actor_id: str,
        actor_name: str,
    ) -> PersonaChange:
        now = self._now()
        async with self._connection("set_persona") as db:
            async with _write_transaction(db):
                before = await _select_persona(db, channel)
                await _write_persona(db, channel, persona, now)
                change = PersonaChange(channel, actor_id, actor_name, before, persona, now)
                await db.execute(_INSERT_AUDIT, _audit_row(change))
        return change

    async def persona_history(self, channel: ChannelRef, limit: int) -> list[PersonaChange]:
        if limit <= 0:
            return []
        async with self._connection("persona_history") as db:
            rows = await db.execute_fetchall(_PERSONA_HISTORY, (*channel_key(channel), limit))
        return [_change_from_row(channel, row) for row in rows]

    # -- tools chosen per channel ------------------------------------------------------
    async def get_channel_tools(self, channel: ChannelRef) -> frozenset[str] | None:
        async with self._connection("get_channel_tools") as db:
            return await _select_channel_tools(db, channel)

    async def all_channel_tools(self, limit: int) -> dict[ChannelRef, frozenset[str]] | None:
        """Every channel's chosen tools, or None if more than ``limit`` channels chose
        (for a cache that holds them all, as ``all_personas``)."""
        async with self._connection("all_channel_tools") as db:
            rows = await db.execute_fetchall(_ALL_CHANNEL_TOOLS, (limit + 1,))
        if len(rows) > limit:
            return None
        return {ChannelRef(platform, workspace, channel): tool_set_from_json(tools)
                for platform, workspace, channel, tools in rows}

    async def set_channel_tools(
        self, channel: ChannelRef, tools: frozenset[str] | None, actor_id: str, actor_name: str
    ) -> ToolsChange:
        now = self._now()
        key = channel_key(channel)
        async with self._connection("set_channel_tools") as db:
            async with _write_transaction(db):
                before = await _select_channel_tools(db, channel)
                if tools is None:
                    await db.execute(_DELETE_CHANNEL_TOOLS, key)
                else:
                    await db.execute(_UPSERT_CHANNEL_TOOLS,
                                     (*key, tool_set_to_json(tools), _to_text(now)))
                change = ToolsChange(channel, actor_id, actor_name, before, tools, now)
                await db.execute(_INSERT_TOOLS_AUDIT, (
                    *key, actor_id, actor_name, tool_set_to_json(before),
                    tool_set_to_json(tools), _to_text(now)))
        return change

    async def tools_history(self, channel: ChannelRef, limit: int) -> list[ToolsChange]:
        if limit <= 0:
            return []
        async with self._connection("tools_history") as db:
            rows = await db.execute_fetchall(_TOOLS_HISTORY, (*channel_key(channel), limit))
        return [ToolsChange(channel, actor_id, actor_name, tool_set_from_json(before),
                            tool_set_from_json(after), _from_text(changed_at))
                for actor_id, actor_name, before, after, changed_at in rows]

    # -- feedback on answers -----------------------------------------------------------
    async def record_feedback(self, feedback: Feedback) -> None:
        # One statement in autocommit: the upsert is atomic in the database itself.
        params = (*channel_key(feedback.channel), feedback.answer_id, feedback.user_id,
                  int(feedback.helpful), _to_text(self._now()))
        async with self._connection("record_feedback") as db:
            await db.execute(_RECORD_FEEDBACK, params)
        self._committed()

    async def feedback_totals(self, channel: ChannelRef) -> FeedbackTotals:
        async with self._connection("feedback_totals") as db:
            rows = await db.execute_fetchall(_FEEDBACK_TOTALS, channel_key(channel))
        # An aggregate without GROUP BY always yields exactly one row.
        ((helpful, unhelpful),) = rows
        return FeedbackTotals(helpful, unhelpful)

    # -- events ------------------------------------------------------------------------
    async def claim_event(self, platform: str, event_id: str) -> bool:
        # One statement, so atomic in the database itself: it holds across processes
        # and restarts, not only across the tasks sharing this connection.
        self._open_db("claim_event")
        return await self._claims.submit((platform, event_id))

    async def prune_events(self, older_than_seconds: float) -> int:
        cutoff = _to_text(self._now() - timedelta(seconds=older_than_seconds))
        async with self._connection("prune_events") as db:
            events = (await db.execute(_PRUNE_EVENTS, (cutoff,))).rowcount
            # Answers still answering are never pruned, however old: one is in flight.
            answers = (await db.execute(_PRUNE_ANSWERS, (cutoff,))).rowcount
        return events + answers

    # -- answers -----------------------------------------------------------------------
    async def claim_answer(
        self, message: IncomingMessage, route: Route, owner: str, lease_seconds: float
    ) -> bool:
        # Never cached, and one INSERT shared with the claims made meanwhile, as
        # ``claim_event``: on every message's path, and it must hold across processes.
        self._open_db("claim_answer")
        now = self._now()
        row = _answer_row(message, route, owner, after(now, lease_seconds), now)
        key = (message.conversation.platform, message.event_id)
        return await self._answer_claims.submit(_NewAnswer(key, row))

    async def take_answer(
        self, key: AnswerKey, owner: str, lease_seconds: float
    ) -> AnswerRecord | None:
        now = self._now()
        params = (owner, _to_text(after(now, lease_seconds)), _to_text(now), *key,
                  _to_text(now))
        async with self._connection("take_answer") as db:
            rows = await db.execute_fetchall(_TAKE_ANSWER, params)
        if not rows:
            return None
        self._committed()
        return _answer_from_row(rows[0])

    async def take_expired_answers(
        self, platform: str, owner: str, lease_seconds: float, limit: int
    ) -> list[AnswerRecord]:
        self._open_db("take_expired_answers")
        # SQLite reads a negative LIMIT as "no limit"; the contract means "nothing".
        if limit <= 0:
            return []
        now = self._now()
        params = (owner, _to_text(after(now, lease_seconds)), _to_text(now), platform,
                  _to_text(now), limit)
        async with self._connection("take_expired_answers") as db:
            rows = list(await db.execute_fetchall(_TAKE_EXPIRED_ANSWERS, params))
        if rows:
            self._committed()
        # RETURNING's order is unspecified: oldest first again, as the subquery chose them.
        rows.sort(key=lambda row: (row[-1], row[0]))  # created_at, then rowid
        return [_answer_from_row(row[1:]) for row in rows]

    async def renew_answers(self, keys: list[AnswerKey], owner: str, lease_seconds: float) -> int:
        return await self._set_leases(
            "renew_answers", keys, owner, after(self._now(), lease_seconds))

    async def release_answers(self, keys: list[AnswerKey], owner: str) -> int:
        # A lease ending now: ``lease_until <= now`` lets the next look take it at once.
        # The owner stays, so an answer that still finishes while its process shuts down
        # counts (and is not answered again).
        return await self._set_leases("release_answers", keys, owner, self._now())

    async def save_delivery(self, key: AnswerKey, owner: str, delivery: Delivery) -> bool:
        self._open_db("save_delivery")
        return await self._saves.submit(_Finish(key, owner, "answering", delivery.to_json()))

    async def finish_answer(
        self, key: AnswerKey, owner: str, state: AnswerState, delivery: Delivery
    ) -> bool:
        if state not in _FINISHED_STATES:
            raise ValueError(f"an answer finishes delivered or failed, not {state!r}")
        # Every answer ends here: the answers finished meanwhile share one UPDATE.
        self._open_db("finish_answer")
        return await self._finishes.submit(_Finish(key, owner, state, delivery.to_json()))

    async def earlier_unfinished(self, key: AnswerKey) -> bool:
        self._open_db("earlier_unfinished")
        return await self._turn_checks.submit(key)

    async def get_answer(self, key: AnswerKey) -> AnswerRecord | None:
        async with self._connection("get_answer") as db:
            rows = await db.execute_fetchall(_GET_ANSWER, key)
        return _answer_from_row(rows[0]) if rows else None

    async def answer_turns(
        self, conversation: ConversationRef, event_id: str
    ) -> tuple[Turn | None, Turn | None]:
        self._open_db("answer_turns")
        if not event_id:
            return (None, None)  # "" is stored as NULL: no turn is linked to it
        params = (*conversation_key(conversation), event_id)
        async with self._connection("answer_turns") as db:
            rows = await db.execute_fetchall(_ANSWER_TURNS, params)
        newest = {row[1]: row for row in rows}  # by role; rows come oldest first
        question, reply = newest.get("user"), newest.get("assistant")
        return (None if question is None else _turn_from_row(question),
                None if reply is None else _turn_from_row(reply))

    # -- usage -------------------------------------------------------------------------
    async def usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        return await self._usage("usage", _USAGE, (day.isoformat(), *channel_key(channel)))

    async def workspace_usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        return await self._usage("workspace_usage", _WORKSPACE_USAGE,
                                 (day.isoformat(), channel.platform, channel.workspace))

    async def _usage(self, action: str, sql: str, params: tuple[str, ...]) -> UsageTotals:
        async with self._connection(action) as db:
            rows = await db.execute_fetchall(sql, params)
        # An aggregate without GROUP BY always yields exactly one row.
        ((*sums,),) = rows
        return UsageTotals(usage_from_row(sums[:5]), usage_from_row(sums[5:]))

    # -- helpers -----------------------------------------------------------------------
    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _open_db(self, action: str) -> aiosqlite.Connection:
        if self._db is None:
            state = "closed" if self._closed else "not open (await open() first)"
            raise StoreError(f"{action}: {self!r} is {state}")
        return self._db

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
            db = self._open_db(action)
            with _translated(action):
                yield db

    async def _connect(self) -> aiosqlite.Connection:
        with _translated(f"opening the database at {self._path}"):
            if self._path != _MEMORY:
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: sqlite3 opens no transactions of its own; ours are explicit.
            connecting = aiosqlite.connect(self._path, isolation_level=None)
            try:
                db = await connecting
            except BaseException:
                # aiosqlite stops its thread without waiting for it; wait, or the thread
                # reports to a loop that may be closed by then (a traceback at start-up).
                await asyncio.to_thread(getattr(connecting, "_thread", connecting).join, 5)
                raise
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
        # 32 MiB of page cache (SQLite's default is 2): the pages every message touches
        # (index and table ends, usage rows) stay in memory as the file grows.
        await db.execute("PRAGMA cache_size = -32768")
        # Checkpoints run on a connection of their own (see ``core/store/checkpoints.py``);
        # this connection's own is only the backstop that lets the WAL start over.
        await db.execute(f"PRAGMA wal_autocheckpoint = {_WAL_BACKSTOP_PAGES}")
        async with _write_transaction(db):
            await migrations.apply(db)

    async def _start_checkpointer(self) -> Checkpointer:
        checkpointer = Checkpointer(
            self._path, every=_CHECKPOINT_EVERY, busy_timeout_ms=self._busy_timeout_ms)
        with _translated(f"opening the database at {self._path}"):
            await checkpointer.open()
        return checkpointer

    def _committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.committed()

    async def _add(
        self, conversation: ConversationRef, turn: NewTurn, action: str,
        usage_day: str | None = None, usage: Usage | None = None,
    ) -> Turn:
        data = image_bytes(turn)  # checked before anything is written
        conversation_id = await self._conversation_id(conversation, action)
        pending = _PendingTurn(conversation_id, turn, self._now(), usage_day, usage)
        if not data:
            return await self._writer.submit(pending)
        # Rare: the turn and its images' bytes in a transaction of their own, which
        # leaves the shared INSERT of every other turn as it is.
        async with self._connection(action) as db:
            async with _write_transaction(db):
                ((turn_id,),) = await db.execute_fetchall(
                    _insert_turns_sql(1), _pending_row(pending))
                await db.executemany(_INSERT_IMAGE, [
                    (turn_id, position, conversation_id, blob)
                    for position, blob in enumerate(data)])
        self._committed()
        return _stored(turn_id, pending)

    async def _conversation_id(self, conversation: ConversationRef, action: str) -> int:
        """The conversation's row id, creating the row if it has none: no trip when known."""
        self._open_db(action)
        known = self._conversation_ids.get(conversation)
        if known is not MISSING:
            return known  # type: ignore[return-value]  # MISSING was ruled out
        return await self._new_conversations.submit(conversation)

    async def _find_or_create_conversation(
        self, db: aiosqlite.Connection, conversation: ConversationRef
    ) -> int:
        ids = await self._upsert_conversations(db, [conversation])
        return ids[conversation_key(conversation)]

    async def _upsert_conversations(
        self, db: aiosqlite.Connection, conversations: list[ConversationRef]
    ) -> dict[tuple[str, str, str, str], int]:
        now = _to_text(self._now())
        params = [value for ref in conversations for value in (*conversation_key(ref), now)]
        sql = _UPSERT_CONVERSATIONS.format(values=_placeholders(len(conversations), 5))
        rows = await db.execute_fetchall(sql, params)
        return {(platform, workspace, channel, thread): int(row_id)
                for row_id, platform, workspace, channel, thread in rows}

    async def _create_conversations(self, batch: list[ConversationRef]) -> list[int | Exception]:
        """``Batcher``'s writer for conversation rows: one statement for the batch."""
        unique = list(dict.fromkeys(batch))  # one row per conversation in the statement
        async with self._connection("add_turn") as db:
            ids = await self._upsert_conversations(db, unique)
        # Autocommit: the rows are committed, so their ids are for good.
        for conversation in unique:
            self._conversation_ids.put(conversation, ids[conversation_key(conversation)])
        return [ids[conversation_key(conversation)] for conversation in batch]

    async def _read_histories(self, batch: list[_HistoryRead]) -> list[list[Turn] | Exception]:
        """``Batcher``'s reader: every read of the batch in one SELECT."""
        unique = list(dict.fromkeys(batch))
        params = [value for index, read in enumerate(unique)
                  for value in (index, *conversation_key(read.conversation), read.upper,
                                read.limit)]
        sql = " UNION ALL ".join([_RECENT_TURNS_TERM] * len(unique))
        histories: list[list[Turn]] = [[] for _ in unique]
        async with self._connection("recent_turns") as db:
            rows = await db.execute_fetchall(sql, params)
        for index, *row in rows:
            histories[index].append(_turn_from_row(row))
        for history in histories:
            history.sort(key=lambda turn: turn.id)  # oldest first
        by_read = dict(zip(unique, histories, strict=True))
        # Repeats of a read share its list: copies, so that no caller changes another's.
        return [list(by_read[read]) for read in batch]

    async def _claim_events(self, batch: list[tuple[str, str]]) -> list[bool | Exception]:
        """``Batcher``'s writer for event claims: one statement for the batch."""
        unique = list(dict.fromkeys(batch))
        now = _to_text(self._now())
        params = [value for key in unique for value in (*key, now)]
        sql = _CLAIM_EVENTS.format(values=_placeholders(len(unique), 3))
        async with self._connection("claim_event") as db:
            claimed = {(platform, event_id) for platform, event_id in await db.execute_fetchall(sql, params)}
        self._committed()
        return first_wins(batch, claimed)

    async def _write_turns(self, batch: list[_PendingTurn]) -> list[Turn | Exception]:
        """``Batcher``'s writer: the batch in one INSERT, else row by row.

        A multi-row INSERT is all or nothing, so one bad row would fail every message in
        the batch; then each row is tried alone, and only the bad one fails.
        """
        async with self._lock:
            try:
                return list(await self._insert(batch))
            except StoreError as exc:
                if len(batch) == 1:
                    return [exc]
            results: list[Turn | Exception] = []
            for pending in batch:
                try:
                    results.extend(await self._insert([pending]))
                except StoreError as exc:
                    results.append(exc)
            return results

    async def _insert(self, batch: list[_PendingTurn]) -> list[Turn]:
        """One INSERT for the batch (call with ``_lock`` held)."""
        db = self._open_db("add_turn")
        params = [value for pending in batch for value in _pending_row(pending)]
        with _translated("storing a turn"):
            rows = await db.execute_fetchall(_insert_turns_sql(len(batch)), params)
        self._committed()
        # Rows of a multi-row VALUES are inserted in order, and AUTOINCREMENT ids only
        # grow; RETURNING's own order is unspecified, hence the sort.
        ids = sorted(turn_id for (turn_id,) in rows)
        return [_stored(turn_id, pending) for pending, turn_id in zip(batch, ids, strict=True)]

    async def _set_leases(
        self, action: str, keys: list[AnswerKey], owner: str, until: datetime
    ) -> int:
        """Move to ``until`` the leases ``owner`` holds among ``keys``; returns how many."""
        now = self._now()
        params = (_to_text(until), _to_text(now), owner, json.dumps([list(key) for key in keys]))
        async with self._connection(action) as db:
            changed: int = (await db.execute(_SET_LEASES, params)).rowcount
        if changed:
            self._committed()
        return changed

    async def _claim_answers(self, batch: list[_NewAnswer]) -> list[bool | Exception]:
        """``Batcher``'s writer for answer claims: one statement for the batch."""
        # One row per key in the statement: the first claim of a key in the batch is
        # the one inserted (and the one told True).
        unique = _first_of_each(batch, lambda new: new.key)
        params = [value for new in unique for value in new.row]
        sql = _CLAIM_ANSWERS.format(values=_placeholders(len(unique), _ANSWER_VALUES))
        async with self._connection("claim_answer") as db:
            claimed = {(platform, event_id) for platform, event_id
                       in await db.execute_fetchall(sql, params)}
        self._committed()
        return first_wins([new.key for new in batch], claimed)

    async def _finish_answers(self, batch: list[_Finish]) -> list[bool | Exception]:
        """``Batcher``'s writer for finished answers: one UPDATE for the batch.

        A repeat of the same answer and owner in a batch is left out of the statement and
        told False, as it would be after the first: that one finished it, or could not.
        Different owners of one answer may share the statement: only the holder matches.
        """
        unique = _first_of_each(batch, lambda finish: finish.holder)
        params: list[Any] = [_to_text(self._now())]
        for finish in unique:
            params.extend((*finish.holder, finish.state, finish.delivery))
        async with self._connection("finish_answer") as db:
            finished = {tuple(row) for row in
                        await db.execute_fetchall(_finish_answers_sql(len(unique)), params)}
        if finished:
            self._committed()
        return first_wins([finish.holder for finish in batch], finished)

    async def _earlier_unfinished(self, batch: list[AnswerKey]) -> list[bool | Exception]:
        """``Batcher``'s reader for turn checks: one SELECT for the batch."""
        params = [value for index, key in enumerate(batch) for value in (index, *key)]
        async with self._connection("earlier_unfinished") as db:
            rows = await db.execute_fetchall(_earlier_unfinished_sql(len(batch)), params)
        waiting = {index for (index,) in rows}
        return [index in waiting for index in range(len(batch))]

    async def ping(self) -> None:
        # Through the lock, as every statement: a store held by a long transaction is
        # not answering, and /readyz should say so.
        async with self._connection("ping") as db:
            await db.execute_fetchall("SELECT 1")


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


def _first_of_each(items: list[_Item], key: Callable[[_Item], Hashable]) -> list[_Item]:
    """The first item of each key, in order: one row per key in a multi-row statement."""
    first: dict[Hashable, _Item] = {}
    for item in items:
        first.setdefault(key(item), item)
    return list(first.values())


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


@cache
def _insert_turns_sql(rows: int) -> str:
    return (f"INSERT INTO turns {_TURN_COLUMNS} VALUES {_placeholders(rows, _TURN_VALUES)}"
            " RETURNING id")


@cache
def _earlier_unfinished_sql(rows: int) -> str:
    return _EARLIER_UNFINISHED.format(values=_placeholders(rows, 3))


@cache
def _finish_answers_sql(rows: int) -> str:
    return _FINISH_ANSWERS.format(values=_placeholders(rows, 5))


@cache
def _placeholders(rows: int, columns: int) -> str:
    """``(?, ?), (?, ?)`` for a multi-row VALUES."""
    row = "(" + ", ".join(["?"] * columns) + ")"
    return ", ".join([row] * rows)


_NO_USAGE = (None,) * 5


def _turn_row(
    conversation_id: int, turn: NewTurn, created_at: str, usage_day: str | None,
    usage: Usage | None,
) -> tuple[Any, ...]:
    # Column order of _TURN_COLUMNS.
    counted = _NO_USAGE if usage is None else usage_row(usage)
    # "" (no event, no call) is stored as NULL: such turns stay out of the index
    # ``turns_by_event``, and a turn without tools costs two NULLs.
    return (conversation_id, turn.role, turn.content, turn.tokens, turn.author_id,
            turn.author_name, created_at, usage_day, *counted,
            turn.event_id or None, images_to_json(turn.images),
            tool_calls_to_json(turn.tool_calls), turn.tool_call_id or None)


def _pending_row(pending: _PendingTurn) -> tuple[Any, ...]:
    return _turn_row(pending.conversation_id, pending.turn, _to_text(pending.created_at),
                     pending.usage_day, pending.usage)


def _stored(turn_id: int, pending: _PendingTurn) -> Turn:
    turn = pending.turn
    return Turn(turn_id, turn.role, turn.content, turn.tokens, turn.author_id,
                turn.author_name, pending.created_at, turn.images, turn.tool_calls,
                turn.tool_call_id)


def _turn_from_row(row: tuple[Any, ...]) -> Turn:
    # Positional, in _TURN_READ's order.
    (turn_id, role, content, tokens, author_id, author_name, created_at, images, tool_calls,
     tool_call_id) = row
    return Turn(turn_id, role, content, tokens, author_id, author_name,
                _from_text(created_at), images_from_json(images),
                tool_calls_from_json(tool_calls), tool_call_id or "")


def _answer_row(
    message: IncomingMessage, route: Route, owner: str, lease_until: datetime, now: datetime
) -> tuple[Any, ...]:
    """A new record's row, in ``_ANSWER_COLUMNS``'s order: answering, attempt 1."""
    conversation = message.conversation
    return (conversation.platform, message.event_id, conversation.workspace,
            conversation.channel, conversation.thread, message.user_id, message.user_name,
            message.text, int(message.is_dm), int(message.is_admin),
            files_to_json(message.files), route_to_json(route),
            "answering", owner, _to_text(lease_until), 1, Delivery().to_json(),
            _to_text(now), _to_text(now))


def _answer_from_row(row: tuple[Any, ...]) -> AnswerRecord:
    # Positional, in _RECORD_COLUMNS's order.
    (platform, event_id, workspace, channel, thread, user_id, user_name, text, is_dm,
     is_admin, files, route, state, owner, attempts, delivery, created_at) = row
    message = IncomingMessage(ConversationRef(platform, workspace, channel, thread),
                              user_id, user_name, text, bool(is_dm), bool(is_admin), event_id,
                              files_from_json(files))
    return AnswerRecord(message, route_from_json(route), state, owner, attempts,
                        Delivery.from_json(delivery), _from_text(created_at))


async def _select_persona(db: aiosqlite.Connection, channel: ChannelRef) -> Persona | None:
    rows = await db.execute_fetchall(_GET_PERSONA, channel_key(channel))
    return _persona_from_row(rows[0]) if rows else None


def _persona_from_row(row: tuple[Any, ...]) -> Persona:
    # Positional, in _GET_PERSONA's column order; ``vision`` is 0, 1 or NULL.
    *values, vision, tools, suggested_prompts, loading_messages = row
    return Persona(*values, vision=None if vision is None else bool(vision),
                   tools=tool_names_from_json(tools),
                   suggested_prompts=texts_from_json(suggested_prompts),
                   loading_messages=texts_from_json(loading_messages))


async def _write_persona(
    db: aiosqlite.Connection, channel: ChannelRef, persona: Persona | None, now: datetime
) -> None:
    if persona is None:
        await db.execute(_DELETE_PERSONA, channel_key(channel))
        return
    values = (persona.system_prompt, persona.name, persona.description,
              persona.model, persona.temperature, persona.max_tokens, persona.vision,
              tool_names_to_json(persona.tools), texts_to_json(persona.suggested_prompts),
              texts_to_json(persona.loading_messages))
    await db.execute(_UPSERT_PERSONA, (*channel_key(channel), *values, _to_text(now)))


async def _select_channel_tools(
    db: aiosqlite.Connection, channel: ChannelRef
) -> frozenset[str] | None:
    rows = await db.execute_fetchall(_GET_CHANNEL_TOOLS, channel_key(channel))
    return tool_set_from_json(rows[0][0]) if rows else None


def _audit_row(change: PersonaChange) -> tuple[Any, ...]:
    return (*channel_key(change.channel), change.actor_id, change.actor_name,
            persona_to_json(change.before), persona_to_json(change.after),
            _to_text(change.changed_at))


def _change_from_row(channel: ChannelRef, row: tuple[Any, ...]) -> PersonaChange:
    # Positional, in _PERSONA_HISTORY's column order.
    actor_id, actor_name, before, after, changed_at = row
    return PersonaChange(channel, actor_id, actor_name, persona_from_json(before),
                         persona_from_json(after), _from_text(changed_at))


