"""The SQLite schema, as an ordered list of migration steps.

The database records how many steps it has had in ``PRAGMA user_version``; ``apply``
runs the missing ones. Steps are append-only: once released, a step never changes, and
a schema change is a new step at the end. A database that has had more steps than this
code knows was written by a newer chatwright, and opening it is refused rather than
risking writes the newer code would not expect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

from core.errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Statement", "apply", "current_version"]

# A statement of a step: SQL, or a function run in its place where plain SQL cannot say it.
Statement = str | Callable[[aiosqlite.Connection], Awaitable[None]]

# Each step is a tuple of statements, run one by one: ``executescript`` would commit the
# surrounding transaction, and a step must land together with its version number.
_INITIAL_SCHEMA = (
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        thread TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (platform, workspace, channel, thread)
    )
    """,
    # AUTOINCREMENT: ids are never reused after ``forget``, as with a Postgres sequence,
    # so an id seen by the engine always means the same turn.
    """
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversations (id),
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        author_id TEXT NOT NULL,
        author_name TEXT NOT NULL,
        created_at TEXT NOT NULL
    )
    """,
    # "Newest N turns of a conversation" is a backwards range scan of this index.
    "CREATE INDEX turns_by_conversation ON turns (conversation_id, id)",
    """
    CREATE TABLE personas (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        system_prompt TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        model TEXT,
        temperature REAL,
        max_tokens INTEGER,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, workspace, channel)
    )
    """,
    """
    CREATE TABLE persona_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        before TEXT,
        after TEXT,
        changed_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX persona_audit_by_channel ON persona_audit (platform, workspace, channel, id)",
    """
    CREATE TABLE processed_events (
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        PRIMARY KEY (platform, event_id)
    )
    """,
    "CREATE INDEX processed_events_by_claimed_at ON processed_events (claimed_at)",
    """
    CREATE TABLE usage_daily (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        day TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        PRIMARY KEY (platform, workspace, channel, day)
    )
    """,
)

# A reply's usage travels on its turn row, and a trigger adds it to ``usage_daily`` in the
# same statement: storing a reply is one INSERT, atomic without BEGIN/COMMIT, and many
# replies can share one multi-row INSERT (see ``core/store/batcher.py``).
_USAGE_ON_REPLY_TURNS = (
    "ALTER TABLE turns ADD COLUMN usage_day TEXT",
    "ALTER TABLE turns ADD COLUMN prompt_tokens INTEGER",
    "ALTER TABLE turns ADD COLUMN completion_tokens INTEGER",
    """
    CREATE TRIGGER turns_count_usage AFTER INSERT ON turns
    WHEN NEW.usage_day IS NOT NULL
    BEGIN
        INSERT INTO usage_daily
            (platform, workspace, channel, day, prompt_tokens, completion_tokens)
        SELECT platform, workspace, channel, NEW.usage_day, NEW.prompt_tokens,
               NEW.completion_tokens
        FROM conversations WHERE id = NEW.conversation_id
        ON CONFLICT (platform, workspace, channel, day) DO UPDATE SET
            prompt_tokens = prompt_tokens + excluded.prompt_tokens,
            completion_tokens = completion_tokens + excluded.completion_tokens;
    END
    """,
)

# Each answer's durable record (see core/answers.py), and the link from a turn to the
# event it asks or answers, so that a resumed answer finds what was already stored.
_ANSWER_RECORDS = (
    "ALTER TABLE turns ADD COLUMN event_id TEXT",
    # Partial: most turns have no event (NULL) and cost this index nothing.
    """
    CREATE INDEX turns_by_event ON turns (conversation_id, event_id)
    WHERE event_id IS NOT NULL
    """,
    # The message is kept whole (not only its key): a restarted bot answers it from here.
    """
    CREATE TABLE answers (
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        thread TEXT NOT NULL,
        user_id TEXT NOT NULL,
        user_name TEXT NOT NULL,
        text TEXT NOT NULL,
        is_dm INTEGER NOT NULL,
        is_admin INTEGER NOT NULL,
        route TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('answering', 'delivered', 'failed')),
        owner TEXT NOT NULL,
        lease_until TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        delivery TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, event_id)
    )
    """,
    # Finding expired leases reads only the few answers in flight, never the finished
    # ones, however many are kept; pruning reads only finished ones. A query uses a
    # partial index only when it repeats the index's WHERE term as written here.
    """
    CREATE INDEX answers_expiring ON answers (platform, lease_until)
    WHERE state = 'answering'
    """,
    """
    CREATE INDEX answers_finished ON answers (updated_at)
    WHERE state != 'answering'
    """,
    # "Is an earlier answer of this conversation still being written?" reads only the
    # answers in flight of one conversation (rowid, the claim order, ends every entry).
    """
    CREATE INDEX answers_in_flight ON answers (platform, workspace, channel, thread)
    WHERE state = 'answering'
    """,
)

# Images and files of messages: a turn's image references (JSON, NULL for none) stay with
# it; their bytes live apart, for a while (``prune_images``), in ``turn_images``; an
# answer keeps its message's files (JSON, NULL for none); a persona may say whether its
# model takes images (NULL: the global default).
_IMAGES_AND_FILES = (
    "ALTER TABLE turns ADD COLUMN images TEXT",
    # A plain rowid table, not WITHOUT ROWID: its rows (encoded images) are far larger
    # than the small rows WITHOUT ROWID suits. ``conversation_id`` lets pruning read
    # only that conversation's images, however long its history.
    """
    CREATE TABLE turn_images (
        turn_id INTEGER NOT NULL,
        position INTEGER NOT NULL,
        conversation_id INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (turn_id, position)
    )
    """,
    "CREATE INDEX turn_images_by_conversation ON turn_images (conversation_id, turn_id)",
    # ``forget`` stays one DELETE: this drops the bytes of each deleted turn that has
    # images, and costs the others nothing (a turn's bytes are stored only with refs).
    """
    CREATE TRIGGER turns_forget_images AFTER DELETE ON turns
    WHEN OLD.images IS NOT NULL
    BEGIN
        DELETE FROM turn_images WHERE turn_id = OLD.id;
    END
    """,
    "ALTER TABLE answers ADD COLUMN files TEXT",
    "ALTER TABLE personas ADD COLUMN vision INTEGER",
)

# The CHECK on ``turns.role`` as step 1 wrote it, and as it must read to store tool turns.
_ROLES_BEFORE_TOOLS = "CHECK (role IN ('user', 'assistant'))"
_ROLES_WITH_TOOLS = "CHECK (role IN ('user', 'assistant', 'tool'))"


async def _allow_tool_turns(db: aiosqlite.Connection) -> None:
    """Widen the CHECK on ``turns.role`` to let 'tool' in, by editing the table's schema
    text ("the simpler procedure" of SQLite's ALTER TABLE page, for changing a CHECK).

    Not the 12-step rebuild: that copies every turn ever stored (for a long-lived bot,
    seconds to minutes and as much disk again, under the write lock) and must recreate
    the table's indexes, triggers and AUTOINCREMENT counter by hand. A wider CHECK needs
    none of it: every stored row already passes it, so no row is touched and the step
    costs the same for any size; it is one UPDATE of the migration's transaction, undone
    with it. Run last in its step: ALTER TABLE ADD COLUMN finds where to write by an
    offset into the parsed text, which this edit would shift until the schema is re-read.
    Bumping ``schema_version`` makes this connection and every other re-read it. (SQLite's
    "defensive" mode would refuse the edit; Python's sqlite3 leaves it off.)
    """
    async with db.execute("PRAGMA schema_version") as cursor:
        (version,) = await cursor.fetchone() or (0,)
    await db.execute("PRAGMA writable_schema = ON")
    try:
        changed = (await db.execute(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?)"
            " WHERE type = 'table' AND name = 'turns' AND instr(sql, ?) > 0",
            (_ROLES_BEFORE_TOOLS, _ROLES_WITH_TOOLS, _ROLES_BEFORE_TOOLS))).rowcount
    finally:
        await db.execute("PRAGMA writable_schema = OFF")
    if changed != 1:
        # Raised inside the migration's transaction: the database stays as it was.
        raise StoreError("the turns table does not have the CHECK on role that chatwright "
                         "created; this database cannot be upgraded to store tool turns")
    # PRAGMA takes no parameters; ``version`` is an int SQLite gave us.
    await db.execute(f"PRAGMA schema_version = {int(version) + 1}")


# Tools: an assistant turn's tool calls (JSON, NULL for none) and a tool turn's call id
# (NULL for none); each channel's chosen tools (a sorted JSON list of names; no row: not
# chosen) with an audit log like personas'; a persona's tools (JSON list, NULL: default).
_TOOLS = (
    "ALTER TABLE turns ADD COLUMN tool_calls TEXT",
    "ALTER TABLE turns ADD COLUMN tool_call_id TEXT",
    "ALTER TABLE personas ADD COLUMN tools TEXT",
    """
    CREATE TABLE channel_tools (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        tools TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, workspace, channel)
    )
    """,
    """
    CREATE TABLE tools_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        before TEXT,
        after TEXT,
        changed_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX tools_audit_by_channel ON tools_audit (platform, workspace, channel, id)",
    _allow_tool_turns,  # last: see its docstring
)

# Slack's agent experience: a persona's suggested prompts and loading messages (JSON
# lists, NULL for none), and the 👍/👎 people give answers, one per person and answer (a
# second click replaces the first). WITHOUT ROWID: small rows, found only by their key,
# whose prefix is the channel, so a channel's totals are one range of it.
_FEEDBACK_AND_PROMPTS = (
    "ALTER TABLE personas ADD COLUMN suggested_prompts TEXT",
    "ALTER TABLE personas ADD COLUMN loading_messages TEXT",
    """
    CREATE TABLE answer_feedback (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        answer_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        helpful INTEGER NOT NULL CHECK (helpful IN (0, 1)),
        given_at TEXT NOT NULL,
        PRIMARY KEY (platform, workspace, channel, answer_id, user_id)
    ) WITHOUT ROWID
    """,
)

# What answers cost (#16): the tokens a provider read from its prompt cache, those spent
# reasoning, and the cost at the prices of the time, in billionths of a US dollar (an
# integer: sums stay exact). They travel on the reply's turn like the rest of its usage.
_USAGE_DETAILS = (
    "ALTER TABLE turns ADD COLUMN cached_tokens INTEGER",
    "ALTER TABLE turns ADD COLUMN reasoning_tokens INTEGER",
    "ALTER TABLE turns ADD COLUMN cost_nanousd INTEGER",
    "ALTER TABLE usage_daily ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE usage_daily ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE usage_daily ADD COLUMN cost_nanousd INTEGER NOT NULL DEFAULT 0",
    "DROP TRIGGER turns_count_usage",
    """
    CREATE TRIGGER turns_count_usage AFTER INSERT ON turns
    WHEN NEW.usage_day IS NOT NULL
    BEGIN
        INSERT INTO usage_daily
            (platform, workspace, channel, day, prompt_tokens, completion_tokens,
             cached_tokens, reasoning_tokens, cost_nanousd)
        SELECT platform, workspace, channel, NEW.usage_day, NEW.prompt_tokens,
               NEW.completion_tokens, COALESCE(NEW.cached_tokens, 0),
               COALESCE(NEW.reasoning_tokens, 0), COALESCE(NEW.cost_nanousd, 0)
        FROM conversations WHERE id = NEW.conversation_id
        ON CONFLICT (platform, workspace, channel, day) DO UPDATE SET
            prompt_tokens = prompt_tokens + excluded.prompt_tokens,
            completion_tokens = completion_tokens + excluded.completion_tokens,
            cached_tokens = cached_tokens + excluded.cached_tokens,
            reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
            cost_nanousd = cost_nanousd + excluded.cost_nanousd;
    END
    """,
)

MIGRATIONS: tuple[tuple[Statement, ...], ...] = (
    _INITIAL_SCHEMA, _USAGE_ON_REPLY_TURNS, _ANSWER_RECORDS, _IMAGES_AND_FILES, _TOOLS,
    _FEEDBACK_AND_PROMPTS, _USAGE_DETAILS)
SCHEMA_VERSION = len(MIGRATIONS)


async def current_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def apply(db: aiosqlite.Connection) -> int:
    """Run the missing steps; returns the version reached.

    Call it inside a write transaction (``BEGIN IMMEDIATE``), so that two processes
    opening the same new file cannot both run step 1, and a failed step leaves nothing.
    """
    version = await current_version(db)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the database has schema version {version}, newer than the {SCHEMA_VERSION} "
            "this chatwright knows; upgrade chatwright or point DATABASE_URL elsewhere"
        )
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        await _run_step(db, number, step)
    return SCHEMA_VERSION


async def _run_step(db: aiosqlite.Connection, number: int, step: tuple[Statement, ...]) -> None:
    for statement in step:
        if isinstance(statement, str):
            await db.execute(statement)
        else:
            await statement(db)
    # PRAGMA takes no parameters; ``number`` is an int we computed, never user input.
    await db.execute(f"PRAGMA user_version = {int(number)}")
