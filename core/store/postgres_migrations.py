"""The PostgreSQL schema, as an ordered list of migration steps.

The database records each step it has had as a row of ``schema_version``; ``apply`` runs
the missing ones. Steps are append-only, as for SQLite (``core/store/migrations.py``):
once released, a step never changes, and a schema change is a new step at the end. A
database that has had more steps than this code knows was written by a newer
chatwright, and opening it is refused rather than risking writes the newer code would
not expect.

Replicas that start together all call ``apply``: a transaction-level advisory lock lets
one of them migrate while the others wait, and then find nothing left to do.
"""

from __future__ import annotations

import asyncpg

from core.errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "apply", "current_version"]

# Any fixed number will do, as long as nothing else in the database locks it: "chatwrgt".
_MIGRATION_LOCK = 0x6368_6174_7772_6774

_VERSION_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_version (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
    )
"""

# Times are ``timestamptz`` written from the store's clock (never ``now()``), so that a
# test's fake clock rules them, as in the other stores.
_INITIAL_SCHEMA = (
    """
    CREATE TABLE conversations (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        platform text NOT NULL,
        workspace text NOT NULL,
        channel text NOT NULL,
        thread text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (platform, workspace, channel, thread)
    )
    """,
    # A sequence never hands out an id twice, so ids are not reused after ``forget``.
    """
    CREATE TABLE turns (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        conversation_id bigint NOT NULL REFERENCES conversations (id),
        role text NOT NULL CHECK (role IN ('user', 'assistant')),
        content text NOT NULL,
        tokens integer NOT NULL,
        author_id text NOT NULL,
        author_name text NOT NULL,
        created_at timestamptz NOT NULL
    )
    """,
    # "Newest N turns of a conversation" is a backwards range scan of this index.
    "CREATE INDEX turns_by_conversation ON turns (conversation_id, id)",
    """
    CREATE TABLE personas (
        platform text NOT NULL,
        workspace text NOT NULL,
        channel text NOT NULL,
        system_prompt text NOT NULL,
        name text NOT NULL,
        description text NOT NULL,
        model text,
        temperature double precision,
        max_tokens integer,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (platform, workspace, channel)
    )
    """,
    """
    CREATE TABLE persona_audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        platform text NOT NULL,
        workspace text NOT NULL,
        channel text NOT NULL,
        actor_id text NOT NULL,
        actor_name text NOT NULL,
        before jsonb,
        after jsonb,
        changed_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX persona_audit_by_channel ON persona_audit (platform, workspace, channel, id)",
    """
    CREATE TABLE processed_events (
        platform text NOT NULL,
        event_id text NOT NULL,
        claimed_at timestamptz NOT NULL,
        PRIMARY KEY (platform, event_id)
    )
    """,
    "CREATE INDEX processed_events_by_claimed_at ON processed_events (claimed_at)",
    """
    CREATE TABLE usage_daily (
        platform text NOT NULL,
        workspace text NOT NULL,
        channel text NOT NULL,
        day date NOT NULL,
        prompt_tokens bigint NOT NULL,
        completion_tokens bigint NOT NULL,
        PRIMARY KEY (platform, workspace, channel, day)
    )
    """,
)

# Each answer's durable record (see core/answers.py), and the link from a turn to the
# event it asks or answers, so that a resumed answer finds what was already stored.
_ANSWER_RECORDS = (
    "ALTER TABLE turns ADD COLUMN event_id text",
    # Partial: most turns have no event (NULL) and cost this index nothing.
    """
    CREATE INDEX turns_by_event ON turns (conversation_id, event_id)
    WHERE event_id IS NOT NULL
    """,
    # ``claim_order`` numbers answers in the order they were claimed, across every
    # replica (SQLite's rowid plays that part there). The message is kept whole, not
    # only its key: a restarted bot answers it from here.
    """
    CREATE TABLE answers (
        platform text NOT NULL,
        event_id text NOT NULL,
        claim_order bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        workspace text NOT NULL,
        channel text NOT NULL,
        thread text NOT NULL,
        user_id text NOT NULL,
        user_name text NOT NULL,
        text text NOT NULL,
        is_dm boolean NOT NULL,
        is_admin boolean NOT NULL,
        route jsonb NOT NULL,
        state text NOT NULL CHECK (state IN ('answering', 'delivered', 'failed')),
        owner text NOT NULL,
        lease_until timestamptz NOT NULL,
        attempts integer NOT NULL,
        delivery jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (platform, event_id)
    )
    """,
    # Finding expired leases reads only the answers in flight, never the finished ones,
    # however many are kept; pruning reads only finished ones; "is an earlier answer of
    # this conversation still being written?" reads only that conversation's in flight.
    """
    CREATE INDEX answers_expiring ON answers (platform, lease_until)
    WHERE state = 'answering'
    """,
    """
    CREATE INDEX answers_finished ON answers (updated_at)
    WHERE state <> 'answering'
    """,
    """
    CREATE INDEX answers_in_flight ON answers (platform, workspace, channel, thread, claim_order)
    WHERE state = 'answering'
    """,
)

# Images and files of messages: a turn's image references (JSON text, as SQLite keeps
# them; NULL for none) stay with it; their bytes live apart, for a while
# (``prune_images``), in ``turn_images``; an answer keeps its message's files (JSON,
# NULL for none); a persona may say whether its model takes images (NULL: the default).
_IMAGES_AND_FILES = (
    "ALTER TABLE turns ADD COLUMN images text",
    # ``conversation_id`` lets pruning and ``forget`` read only that conversation's
    # images, however long its history.
    """
    CREATE TABLE turn_images (
        turn_id bigint NOT NULL,
        position integer NOT NULL,
        conversation_id bigint NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (turn_id, position)
    )
    """,
    "CREATE INDEX turn_images_by_conversation ON turn_images (conversation_id, turn_id)",
    "ALTER TABLE answers ADD COLUMN files text",
    "ALTER TABLE personas ADD COLUMN vision boolean",
)

# Tools: an assistant turn's tool calls (JSON text, NULL for none) and a tool turn's call
# id (NULL for none); each channel's chosen tools (a sorted JSON list of names; no row:
# not chosen) with an audit log like personas'; a persona's tools (JSON list, NULL: the
# default). The role CHECK is the one step 1 declared inline, which PostgreSQL named
# ``turns_role_check``; re-adding it checks every turn once, under the lock the step
# already holds (they all pass: the old CHECK was narrower).
_TOOLS = (
    """
    ALTER TABLE turns
        DROP CONSTRAINT turns_role_check,
        ADD CONSTRAINT turns_role_check CHECK (role IN ('user', 'assistant', 'tool')),
        ADD COLUMN tool_calls text,
        ADD COLUMN tool_call_id text
    """,
    "ALTER TABLE personas ADD COLUMN tools text",
    """
    CREATE TABLE channel_tools (
        platform text NOT NULL,
        workspace text NOT NULL,
        channel text NOT NULL,
        tools text NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (platform, workspace, channel)
    )
    """,
    """
    CREATE TABLE tools_audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        platform text NOT NULL,
        workspace text NOT NULL,
        channel text NOT NULL,
        actor_id text NOT NULL,
        actor_name text NOT NULL,
        before jsonb,
        after jsonb,
        changed_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX tools_audit_by_channel ON tools_audit (platform, workspace, channel, id)",
)

# Slack's agent experience: a persona's suggested prompts and loading messages (JSON
# text, as SQLite keeps them; NULL for none), and the 👍/👎 people give answers, one per
# person and answer (a second click replaces the first). The key's prefix is the
# channel, so a channel's totals read one range of its index.
_FEEDBACK_AND_PROMPTS = (
    """
    ALTER TABLE personas
        ADD COLUMN suggested_prompts text,
        ADD COLUMN loading_messages text
    """,
    """
    CREATE TABLE answer_feedback (
        platform text NOT NULL,
        workspace text NOT NULL,
        channel text NOT NULL,
        answer_id text NOT NULL,
        user_id text NOT NULL,
        helpful boolean NOT NULL,
        given_at timestamptz NOT NULL,
        PRIMARY KEY (platform, workspace, channel, answer_id, user_id)
    )
    """,
)

# What answers cost (#16): cached and reasoning tokens, and the cost at the prices of the
# time in billionths of a US dollar (an integer: sums stay exact).
_USAGE_DETAILS = (
    "ALTER TABLE usage_daily ADD COLUMN cached_tokens bigint NOT NULL DEFAULT 0",
    "ALTER TABLE usage_daily ADD COLUMN reasoning_tokens bigint NOT NULL DEFAULT 0",
    "ALTER TABLE usage_daily ADD COLUMN cost_nanousd bigint NOT NULL DEFAULT 0",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _INITIAL_SCHEMA, _ANSWER_RECORDS, _IMAGES_AND_FILES, _TOOLS, _FEEDBACK_AND_PROMPTS,
    _USAGE_DETAILS)
SCHEMA_VERSION = len(MIGRATIONS)


async def current_version(connection: asyncpg.Connection) -> int:
    """The steps the database has had; 0 for an empty database. Changes nothing."""
    # Two statements: a query naming a missing table fails as it is planned, even where
    # it would not run. to_regclass follows the search_path, as ``apply``'s CREATE does.
    if await connection.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    return int(await connection.fetchval("SELECT COALESCE(max(version), 0) FROM schema_version"))


async def apply(connection: asyncpg.Connection) -> int:
    """Run the missing steps, all in one transaction; returns the version reached.

    The advisory lock is held until that transaction ends: a second replica waits for
    the first to commit, then reads the new version and has nothing to do. A failed step
    leaves nothing behind.
    """
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await connection.execute(_VERSION_TABLE)
        version = await current_version(connection)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database has schema version {version}, newer than the {SCHEMA_VERSION} "
                "this chatwright knows; upgrade chatwright or point DATABASE_URL elsewhere"
            )
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            # One round trip for the step: without arguments, asyncpg sends the text as
            # one simple query, which may hold many statements.
            await connection.execute(";\n".join(step))
            await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
    return SCHEMA_VERSION
