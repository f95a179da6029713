"""What only the SQLite store promises: durability, WAL, migrations, query plans, races.

Everything runs on a real database file in ``tmp_path``; a second, plain ``sqlite3``
connection plays the part of another process or of an operator's shell.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core.answers import Delivery
from core.errors import StoreError
from core.store import CachedStore, SQLiteStore, migrations
from core.store.sqlite import (
    _ANSWER_TURNS,
    _FEEDBACK_TOTALS,
    _IMAGE_DATA,
    _PRUNE_ANSWERS,
    _PRUNE_IMAGES,
    _RECENT_TURNS,
    _SET_LEASES,
    _TAKE_EXPIRED_ANSWERS,
    _finish_answers_sql,
)
from core.store.values import channel_key
from core.types import (
    ChannelRef,
    ConversationRef,
    Feedback,
    FeedbackTotals,
    FileRef,
    ImageRef,
    IncomingMessage,
    NewTurn,
    Persona,
    ToolCall,
    Usage,
)
from tests.core.store.conftest import RawConnect, count_trips
from tests.core.store.test_contract import FakeClock

CONVERSATION = ConversationRef("slack", "T1", "C1", "1700000000.000100")
CHANNEL = CONVERSATION.channel_ref
DAY = date(2024, 5, 1)


def turns(count: int, prefix: str = "") -> list[NewTurn]:
    return [NewTurn("user", f"{prefix}{i}", 1) for i in range(count)]


IMAGE = ImageRef("a.png", "image/png", 8, 8, 4, "ab" * 32, 85)


def pictured(text: str, data: bytes = b"\x89P\x00G") -> NewTurn:
    return NewTurn("user", text, 86, images=(IMAGE,), image_data=(data,))


# -- durability ------------------------------------------------------------------------


async def test_everything_survives_close_and_reopen(db_path: Path) -> None:
    async with SQLiteStore(db_path) as store:
        await store.add_turn(CONVERSATION, NewTurn("user", "remember me", 2))
        await store.add_reply(CONVERSATION, NewTurn("assistant", "ok", 1), Usage(7, 1), DAY)
        await store.set_persona(CHANNEL, Persona("Be kind."), "U1", "ada")
        assert await store.claim_event("slack", "Ev1") is True

    async with SQLiteStore(db_path) as store:
        assert [t.content for t in await store.recent_turns(CONVERSATION, 5)] == [
            "remember me", "ok"
        ]
        assert (await store.usage(CHANNEL, DAY)).total == Usage(7, 1)
        assert await store.get_persona(CHANNEL) == Persona("Be kind.")
        assert await store.claim_event("slack", "Ev1") is False


async def test_creates_the_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.db"

    async with SQLiteStore(path):
        pass

    assert path.is_file()


async def test_an_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    store = SQLiteStore(tmp_path / "file" / "store.db")

    with pytest.raises(StoreError, match="opening the database"):
        await store.open()


# -- connection settings ---------------------------------------------------------------


async def test_the_file_is_in_wal_mode(store: SQLiteStore, raw: RawConnect) -> None:
    assert raw().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_connection_pragmas(store: SQLiteStore) -> None:
    db = store._db
    assert db is not None
    pragmas = {}
    for name in ("foreign_keys", "synchronous", "busy_timeout", "wal_autocheckpoint"):
        async with db.execute(f"PRAGMA {name}") as cursor:
            pragmas[name] = (await cursor.fetchone())[0]

    assert pragmas == {"foreign_keys": 1, "synchronous": 1, "busy_timeout": 5000,
                       "wal_autocheckpoint": 4000}


async def test_the_wal_is_checkpointed_in_the_background(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.store.sqlite._CHECKPOINT_EVERY", 5)

    def in_the_database_file() -> int:
        # immutable=1 reads the main file alone, ignoring the WAL: only checkpointed rows.
        with sqlite3.connect(f"file:{db_path}?immutable=1", uri=True) as main_file:
            return int(main_file.execute("SELECT count(*) FROM turns").fetchone()[0])

    async with SQLiteStore(db_path) as store:
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            in_the_database_file()  # even the schema is still only in the WAL
        for n in range(6):
            await store.add_turn(CONVERSATION, NewTurn("user", str(n), 1))
        assert store._checkpointer is not None
        await store._checkpointer.idle()

        assert store._checkpointer.completed == 1
        assert in_the_database_file() >= 5


async def test_the_wal_starts_over_under_steady_writes(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Background checkpoints alone never see a still WAL, so it would only grow; the
    # writer's own backstop checkpoint lets it start over from the beginning.
    monkeypatch.setattr("core.store.sqlite._CHECKPOINT_EVERY", 5)
    monkeypatch.setattr("core.store.sqlite._WAL_BACKSTOP_PAGES", 40)
    wal = db_path.with_name(db_path.name + "-wal")

    async with SQLiteStore(db_path) as store:
        before = wal_restarts(wal)
        # Each turn writes at least a page: the backstop is crossed every 40 turns or so.
        # Writing goes on until the WAL starts over (a slow fsync in a background
        # checkpoint can hold it off for a while), for at most far more than it needs.
        for _ in range(3000):
            await store.add_turn(CONVERSATION, NewTurn("user", "x" * 2000, 500))
            if wal_restarts(wal) > before:
                break
        assert wal_restarts(wal) > before


def wal_restarts(wal: Path) -> int:
    """The WAL header's checkpoint sequence number: SQLite adds one each time the WAL
    starts over from its beginning (https://www.sqlite.org/fileformat2.html#walformat)."""
    with wal.open("rb") as file:
        return int.from_bytes(file.read(16)[12:16], "big")


async def test_a_locked_database_becomes_a_store_error(db_path: Path, raw: RawConnect) -> None:
    async with SQLiteStore(db_path, busy_timeout=0.05) as store:
        other = raw()
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="add_turn failed") as caught:
                await store.add_turn(CONVERSATION, NewTurn("user", "x", 1))
        finally:
            other.execute("ROLLBACK")

        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        await store.add_turn(CONVERSATION, NewTurn("user", "works again", 1))


# -- migrations ------------------------------------------------------------------------


async def test_the_schema_version_is_recorded(store: SQLiteStore, raw: RawConnect) -> None:
    tables = {row[0] for row in raw().execute("SELECT name FROM sqlite_master")}

    assert raw().execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    assert {"conversations", "turns", "personas", "persona_audit",
            "processed_events", "usage_daily"} <= tables


async def test_migrations_are_idempotent(db_path: Path) -> None:
    for _ in range(3):
        async with SQLiteStore(db_path) as store:
            await store.add_turn(CONVERSATION, NewTurn("user", "x", 1))

    async with SQLiteStore(db_path) as store:
        assert len(await store.recent_turns(CONVERSATION, 10)) == 3
        assert store._db is not None
        assert await migrations.apply(store._db) == migrations.SCHEMA_VERSION


async def test_a_version_1_database_is_upgraded_with_its_data(
    db_path: Path, raw: RawConnect
) -> None:
    db_path.parent.mkdir(parents=True)
    old = raw()
    for statement in migrations.MIGRATIONS[0]:
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO conversations VALUES (1, ?, ?, ?, ?, '2024-05-01T00:00:00.000000+00:00')",
                _key(CONVERSATION))
    old.execute("INSERT INTO turns (conversation_id, role, content, tokens, author_id,"
                " author_name, created_at) VALUES (1, 'user', 'from v1', 3, 'U1', 'ada',"
                " '2024-05-01T00:00:00.000000+00:00')")
    old.execute("INSERT INTO usage_daily VALUES (?, ?, ?, ?, 100, 10)",
                (*_key(CONVERSATION)[:3], DAY.isoformat()))

    async with SQLiteStore(db_path) as store:
        await store.add_reply(CONVERSATION, NewTurn("assistant", "from v2", 1), Usage(7, 1), DAY)

        assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == ["from v1", "from v2"]
        assert (await store.usage(CHANNEL, DAY)).today == Usage(107, 11)
    assert raw().execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION


async def test_a_version_2_database_is_upgraded_and_answers_its_messages(
    db_path: Path, raw: RawConnect
) -> None:
    db_path.parent.mkdir(parents=True)
    old = raw()
    for statement in (*migrations.MIGRATIONS[0], *migrations.MIGRATIONS[1]):
        old.execute(statement)
    old.execute("PRAGMA user_version = 2")
    old.execute("INSERT INTO conversations VALUES (1, ?, ?, ?, ?, '2024-05-01T00:00:00.000000+00:00')",
                _key(CONVERSATION))
    old.execute("INSERT INTO turns (conversation_id, role, content, tokens, author_id,"
                " author_name, created_at, usage_day, prompt_tokens, completion_tokens)"
                " VALUES (1, 'assistant', 'from v2', 3, '', '',"
                " '2024-05-01T00:00:00.000000+00:00', '2024-05-01', 5, 3)")

    async with SQLiteStore(db_path) as store:
        asked = IncomingMessage(CONVERSATION, "U1", "ada", "from v3", event_id="Ev1")
        assert await store.claim_answer(asked, {"channel": "C1"}, "A", 30) is True
        question = await store.add_turn(CONVERSATION, NewTurn("user", "from v3", 1, event_id="Ev1"))

        assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == ["from v2", "from v3"]
        assert await store.answer_turns(CONVERSATION, "Ev1") == (question, None)
        assert (await store.get_answer(("slack", "Ev1"))).message == asked
    assert raw().execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    assert raw().execute("SELECT event_id FROM turns ORDER BY id").fetchall() == [(None,), ("Ev1",)]


async def test_a_version_3_database_is_upgraded_with_its_turns_personas_and_answers(
    db_path: Path, raw: RawConnect
) -> None:
    db_path.parent.mkdir(parents=True)
    old = raw()
    for statement in (*migrations.MIGRATIONS[0], *migrations.MIGRATIONS[1],
                      *migrations.MIGRATIONS[2]):
        old.execute(statement)
    old.execute("PRAGMA user_version = 3")
    then = "2024-05-01T00:00:00.000000+00:00"
    old.execute("INSERT INTO conversations VALUES (1, ?, ?, ?, ?, ?)", (*_key(CONVERSATION), then))
    old.execute("INSERT INTO turns (conversation_id, role, content, tokens, author_id,"
                " author_name, created_at, event_id) VALUES (1, 'user', 'from v3', 3, 'U1',"
                " 'ada', ?, 'Ev1')", (then,))
    old.execute("INSERT INTO personas VALUES (?, ?, ?, 'Be kind.', 'kind', '', NULL, 0.5, NULL, ?)",
                (*_key(CONVERSATION)[:3], then))
    old.execute("INSERT INTO answers VALUES ('slack', 'Ev1', 'T1', 'C1', ?, 'U1', 'ada',"
                " 'from v3', 0, 0, '{\"channel\":\"C1\"}', 'answering', 'A', ?, 1, ?, ?, ?)",
                (CONVERSATION.thread, then, Delivery().to_json(), then, then))

    async with SQLiteStore(db_path) as store:
        (question,) = await store.recent_turns(CONVERSATION, 10)
        assert (question.content, question.images) == ("from v3", ())
        assert await store.answer_turns(CONVERSATION, "Ev1") == (question, None)
        kind = Persona("Be kind.", "kind", temperature=0.5)
        assert await store.get_persona(CHANNEL) == kind
        assert await store.all_personas(10) == {CHANNEL: kind}
        taken = await store.take_answer(("slack", "Ev1"), "B", 30)  # its lease ran out in 2024
        assert taken is not None
        assert taken.message == IncomingMessage(
            CONVERSATION, "U1", "ada", "from v3", event_id="Ev1")
        # What the new step adds works on the upgraded file, forgetting images too.
        shown = await store.add_turn(CONVERSATION, pictured("look"))
        assert await store.image_data([question.id, shown.id]) == {(shown.id, 0): b"\x89P\x00G"}
        assert await store.forget(CONVERSATION) == 2
        assert await store.image_data([shown.id]) == {}
    assert raw().execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION


def version_4_database(db_path: Path, raw: RawConnect) -> sqlite3.Connection:
    """A file as chatwright left it at schema version 4, with a turn of each kind it knew
    (a question with an image, a reply with its usage), a persona and an answer."""
    db_path.parent.mkdir(parents=True)
    old = raw()
    old.execute("PRAGMA journal_mode = WAL")
    for step in migrations.MIGRATIONS[:4]:
        for statement in step:
            old.execute(statement)
    old.execute("PRAGMA user_version = 4")
    then = "2024-05-01T00:00:00.000000+00:00"
    old.execute("INSERT INTO conversations VALUES (1, ?, ?, ?, ?, ?)", (*_key(CONVERSATION), then))
    old.execute("INSERT INTO turns (conversation_id, role, content, tokens, author_id,"
                " author_name, created_at, event_id, images) VALUES (1, 'user', 'from v4', 3,"
                " 'U1', 'ada', ?, 'Ev1', ?)", (then, f'[{_IMAGE_JSON}]'))
    old.execute("INSERT INTO turn_images VALUES (1, 0, 1, x'89500047')")
    old.execute("INSERT INTO turns (conversation_id, role, content, tokens, author_id,"
                " author_name, created_at, usage_day, prompt_tokens, completion_tokens,"
                " event_id) VALUES (1, 'assistant', 'reply v4', 2, '', '', ?, ?, 5, 2, 'Ev1')",
                (then, DAY.isoformat()))
    # A forgotten turn: its id must not be handed out again after the upgrade.
    old.execute("INSERT INTO turns (conversation_id, role, content, tokens, author_id,"
                " author_name, created_at) VALUES (1, 'user', 'forgotten', 1, '', '', ?)", (then,))
    old.execute("DELETE FROM turns WHERE content = 'forgotten'")
    old.execute("INSERT INTO personas VALUES (?, ?, ?, 'Be kind.', 'kind', '', NULL, 0.5, NULL,"
                " ?, 1)", (*_key(CONVERSATION)[:3], then))
    return old


_IMAGE_JSON = ('{"name":"a.png","mime_type":"image/png","width":8,"height":8,"size":4,'
               '"sha256":"' + "ab" * 32 + '","tokens":85}')
TOOL_CALL = ToolCall("call_1", "time", '{"zone": "UTC"}')


async def test_a_version_4_database_is_upgraded_to_store_tool_turns(
    db_path: Path, raw: RawConnect
) -> None:
    version_4_database(db_path, raw)

    async with SQLiteStore(db_path) as store:
        question, old_reply = await store.recent_turns(CONVERSATION, 10)
        assert (question.content, question.images, question.tool_calls, question.tool_call_id) == (
            "from v4", (IMAGE,), (), "")
        assert await store.answer_turns(CONVERSATION, "Ev1") == (question, old_reply)
        assert await store.get_persona(CHANNEL) == Persona("Be kind.", "kind", temperature=0.5,
                                                           vision=True)
        # What the new step adds works on the upgraded file, the old triggers too.
        step = await store.add_turn(CONVERSATION, NewTurn(
            "assistant", "", 4, event_id="Ev2", tool_calls=(TOOL_CALL,)))
        result = await store.add_turn(CONVERSATION, NewTurn(
            "tool", "12:00", 1, event_id="Ev2", tool_call_id="call_1"))
        answer = await store.add_reply(CONVERSATION, NewTurn("assistant", "Noon.", 1,
                                                             event_id="Ev2"), Usage(7, 1), DAY)
        assert step.id == 4  # after the forgotten turn's: AUTOINCREMENT kept its count
        assert await store.recent_turns(CONVERSATION, 10) == [
            question, old_reply, step, result, answer]
        assert await store.answer_turns(CONVERSATION, "Ev2") == (None, answer)
        assert (await store.usage(CHANNEL, DAY)).today == Usage(12, 3)
        await store.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada")
        assert await store.get_channel_tools(CHANNEL) == frozenset({"time"})
        assert await store.forget(CONVERSATION) == 5
        assert await store.image_data([question.id]) == {}

    check = raw()
    assert check.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        check.execute("INSERT INTO turns (conversation_id, role, content, tokens, author_id,"
                      " author_name, created_at) VALUES (1, 'system', 'x', 1, '', '', '')")


async def test_a_failed_upgrade_leaves_the_version_4_database_as_it_was(
    db_path: Path, raw: RawConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A step after the one that widens the CHECK fails: the edit of the schema's text is
    # rolled back with the rest, as any statement of the migration's transaction.
    version_4_database(db_path, raw)
    schema_before = raw().execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    failing = (*migrations.MIGRATIONS, ("SELECT no_such_function()",))
    monkeypatch.setattr(migrations, "MIGRATIONS", failing)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", len(failing))

    with pytest.raises(StoreError, match="no_such_function"):
        await SQLiteStore(db_path).open()

    check = raw()
    assert check.execute("PRAGMA user_version").fetchone()[0] == 4
    assert check.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema_before
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    monkeypatch.undo()
    async with SQLiteStore(db_path) as store:  # the next start upgrades it
        await store.add_turn(CONVERSATION, NewTurn("tool", "12:00", 1, tool_call_id="call_1"))
        assert [t.role for t in await store.recent_turns(CONVERSATION, 10)] == [
            "user", "assistant", "tool"]


async def version_5_database(
    db_path: Path, raw: RawConnect, monkeypatch: pytest.MonkeyPatch
) -> sqlite3.Connection:
    """A file as chatwright left it at schema version 5 (made by the store knowing only
    steps 1-5): a persona with tools, its audit entry (JSON written before personas had
    prompts) and a question."""
    with monkeypatch.context() as version_5:
        version_5.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
        version_5.setattr(migrations, "SCHEMA_VERSION", 5)
        async with SQLiteStore(db_path):
            pass
    old = raw()
    assert old.execute("PRAGMA user_version").fetchone()[0] == 5
    then = "2024-05-01T00:00:00.000000+00:00"
    old.execute("INSERT INTO conversations VALUES (1, ?, ?, ?, ?, ?)", (*_key(CONVERSATION), then))
    old.execute("INSERT INTO turns (conversation_id, role, content, tokens, author_id,"
                " author_name, created_at) VALUES (1, 'user', 'from v5', 3, 'U1', 'ada', ?)",
                (then,))
    old.execute("INSERT INTO personas VALUES (?, ?, ?, 'Be kind.', 'kind', '', NULL, 0.5, NULL,"
                " ?, 1, '[\"time\"]')", (*_key(CONVERSATION)[:3], then))
    old.execute("INSERT INTO persona_audit (platform, workspace, channel, actor_id, actor_name,"
                " before, after, changed_at) VALUES (?, ?, ?, 'U1', 'ada', NULL, ?, ?)",
                (*_key(CONVERSATION)[:3], _V5_AUDIT_JSON, then))
    return old


# An audit entry's persona as version 5 wrote it: no suggested prompts, no loading messages.
_V5_AUDIT_JSON = ('{"description": "", "max_tokens": null, "model": null, "name": "kind",'
                  ' "system_prompt": "Be kind.", "temperature": 0.5, "tools": ["time"],'
                  ' "vision": true}')
V5_PERSONA = Persona("Be kind.", "kind", temperature=0.5, vision=True, tools=("time",))


@pytest.mark.parametrize("cached", [False, True], ids=["plain", "cached"])
async def test_a_version_5_database_is_upgraded_to_keep_feedback_and_prompts(
    db_path: Path, raw: RawConnect, monkeypatch: pytest.MonkeyPatch, cached: bool
) -> None:
    await version_5_database(db_path, raw, monkeypatch)
    prompting = replace(V5_PERSONA, suggested_prompts=("Summarise this",),
                        loading_messages=("Thinking…",))

    # The cached store reads every persona at open (``all_personas``): the old rows too.
    opened = CachedStore(SQLiteStore(db_path)) if cached else SQLiteStore(db_path)
    async with opened as store:
        assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == ["from v5"]
        assert await store.get_persona(CHANNEL) == V5_PERSONA
        (entry,) = await store.persona_history(CHANNEL, 10)
        assert (entry.before, entry.after) == (None, V5_PERSONA)
        # What the new step adds works on the upgraded file.
        await store.set_persona(CHANNEL, prompting, "U1", "ada")
        assert await store.get_persona(CHANNEL) == prompting
        await store.record_feedback(Feedback(CHANNEL, "1700000000.000200", "U1", False))
        await store.record_feedback(Feedback(CHANNEL, "1700000000.000200", "U2", True))
        assert await store.feedback_totals(CHANNEL) == FeedbackTotals(1, 1)

    check = raw()
    assert check.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION == 7
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    async with SQLiteStore(db_path) as store:
        newest, _ = await store.persona_history(CHANNEL, 10)
        assert (newest.before, newest.after) == (V5_PERSONA, prompting)


async def test_a_database_from_a_newer_chatwright_is_refused(
    db_path: Path, raw: RawConnect
) -> None:
    async with SQLiteStore(db_path):
        pass
    raw().execute(f"PRAGMA user_version = {migrations.SCHEMA_VERSION + 1}")
    store = SQLiteStore(db_path)

    with pytest.raises(StoreError, match="newer than"):
        await store.open()
    with pytest.raises(StoreError, match="not open"):
        await store.recent_turns(CONVERSATION, 1)


# -- cost of reading history -----------------------------------------------------------


async def test_recent_turns_is_an_index_range_scan(
    store: SQLiteStore, raw: RawConnect
) -> None:
    await store.seed_turns(CONVERSATION, turns(500))
    params = (*_key(CONVERSATION), 2**63 - 1, 20)

    plan = " | ".join(row[3] for row in raw().execute(
        "EXPLAIN QUERY PLAN " + _RECENT_TURNS, params))

    assert "SEARCH turns USING INDEX turns_by_conversation (conversation_id=? AND id<?)" in plan
    assert "SCAN" not in plan
    assert "TEMP B-TREE" not in plan


async def test_recent_turns_costs_the_same_however_long_the_history(
    store: SQLiteStore, raw: RawConnect
) -> None:
    short, long = ConversationRef("slack", "T1", "C1", "short"), CONVERSATION
    await store.seed_turns(short, turns(40))
    await store.seed_turns(long, turns(20_000))
    last_long = (await store.recent_turns(long, 1))[0].id

    steps = [
        _vm_steps(raw(), (*_key(short), 2**63 - 1, 20)),
        _vm_steps(raw(), (*_key(long), 2**63 - 1, 20)),
        _vm_steps(raw(), (*_key(long), last_long - 10_000, 20)),
    ]

    assert max(steps) - min(steps) <= 2, steps


def _key(conversation: ConversationRef) -> tuple[str, ...]:
    return (conversation.platform, conversation.workspace, conversation.channel,
            conversation.thread)


def _vm_steps(connection: sqlite3.Connection, params: tuple[object, ...]) -> int:
    """How many SQLite virtual-machine instructions the query runs: its cost, exactly."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    connection.set_progress_handler(count, 1)
    assert len(connection.execute(_RECENT_TURNS, params).fetchall()) == 20
    return steps[0]


async def test_finding_and_pruning_images_reads_only_their_indexes(
    store: SQLiteStore, raw: RawConnect
) -> None:
    found = _plan(raw(), _IMAGE_DATA, ("[1, 2]",))
    pruned = _plan(raw(), _PRUNE_IMAGES, (*_key(CONVERSATION), 2))

    assert "SEARCH turn_images USING INDEX sqlite_autoindex_turn_images_1 (turn_id=?)" in found
    assert ("SEARCH turn_images USING COVERING INDEX turn_images_by_conversation"
            " (conversation_id=? AND turn_id<?)") in pruned
    assert "SEARCH turns USING INDEX turns_by_conversation (conversation_id=?)" in pruned
    for plan in (found, pruned):
        assert "SCAN turn" not in plan and "TEMP B-TREE" not in plan, plan


async def test_pruning_images_costs_the_same_however_long_the_history(
    store: SQLiteStore, raw: RawConnect
) -> None:
    short, long = ConversationRef("slack", "T1", "C1", "short"), CONVERSATION
    await store.seed_turns(short, turns(40))
    await store.seed_turns(long, turns(20_000))
    for conversation in (short, long):
        for n in range(3):
            await store.add_turn(conversation, pictured(str(n)))

    def steps(conversation: ConversationRef) -> int:
        connection, count = raw(), [0]

        def step() -> int:
            count[0] += 1
            return 0

        connection.execute("BEGIN")
        connection.set_progress_handler(step, 1)
        assert connection.execute(_PRUNE_IMAGES, (*_key(conversation), 1)).rowcount == 2
        connection.set_progress_handler(None, 1)
        connection.execute("ROLLBACK")
        return count[0]

    assert abs(steps(short) - steps(long)) <= 2, (steps(short), steps(long))


# -- atomicity and races ---------------------------------------------------------------


async def test_a_turn_with_images_is_all_or_nothing(store: SQLiteStore, raw: RawConnect) -> None:
    raw().execute(
        "CREATE TRIGGER fail_images BEFORE INSERT ON turn_images "
        "BEGIN SELECT RAISE(ABORT, 'images refused'); END"
    )

    with pytest.raises(StoreError, match="images refused"):
        await store.add_turn(CONVERSATION, pictured("look"))

    assert await store.recent_turns(CONVERSATION, 10) == []
    # The connection is usable again: the transaction was rolled back, not left open.
    assert (await store.add_turn(CONVERSATION, NewTurn("user", "plain", 1))).images == ()
    assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == ["plain"]


async def test_add_reply_is_all_or_nothing(store: SQLiteStore, raw: RawConnect) -> None:
    raw().execute(
        "CREATE TRIGGER fail_usage BEFORE INSERT ON usage_daily "
        "BEGIN SELECT RAISE(ABORT, 'usage refused'); END"
    )

    with pytest.raises(StoreError, match="usage refused") as caught:
        await store.add_reply(CONVERSATION, NewTurn("assistant", "x", 1), Usage(1, 1), DAY)

    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert await store.recent_turns(CONVERSATION, 10) == []


async def test_set_channel_tools_is_all_or_nothing(store: SQLiteStore, raw: RawConnect) -> None:
    await store.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada")
    raw().execute(
        "CREATE TRIGGER fail_audit BEFORE INSERT ON tools_audit "
        "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
    )

    with pytest.raises(StoreError, match="audit refused"):
        await store.set_channel_tools(CHANNEL, None, "U1", "ada")

    assert await store.get_channel_tools(CHANNEL) == frozenset({"time"})
    assert len(await store.tools_history(CHANNEL, 10)) == 1


async def test_set_persona_is_all_or_nothing(store: SQLiteStore, raw: RawConnect) -> None:
    raw().execute(
        "CREATE TRIGGER fail_audit BEFORE INSERT ON persona_audit "
        "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
    )

    with pytest.raises(StoreError, match="audit refused"):
        await store.set_persona(CHANNEL, Persona("x"), "U1", "ada")

    assert await store.get_persona(CHANNEL) is None


async def test_200_concurrent_add_turns_land_in_order(store: SQLiteStore) -> None:
    conversations = [ConversationRef("slack", "T1", "C1", f"thread-{n}") for n in range(4)]

    stored = await asyncio.gather(*(
        store.add_turn(conversations[i % 4], NewTurn("user", str(i), 1)) for i in range(200)
    ))

    assert [t.id for t in stored] == sorted(t.id for t in stored)
    for n, conversation in enumerate(conversations):
        contents = [t.content for t in await store.recent_turns(conversation, 1000)]
        assert contents == [str(i) for i in range(n, 200, 4)]


async def test_one_of_50_racing_claims_wins(store: SQLiteStore) -> None:
    results = await asyncio.gather(*(store.claim_event("slack", "Ev1") for _ in range(50)))

    assert results.count(True) == 1


async def test_one_claim_wins_across_two_connections(db_path: Path) -> None:
    async with SQLiteStore(db_path) as first, SQLiteStore(db_path) as second:
        results = await asyncio.gather(*(
            store.claim_event("slack", "Ev1") for _ in range(25) for store in (first, second)
        ))

    assert results.count(True) == 1


# -- seeding ---------------------------------------------------------------------------


async def test_seed_turns_appends_in_order_after_existing_turns(store: SQLiteStore) -> None:
    first = await store.add_turn(CONVERSATION, NewTurn("user", "first", 1))

    # More than one executemany batch, from a one-shot iterator.
    await store.seed_turns(CONVERSATION, iter(turns(25_000, prefix="s")))

    newest = await store.recent_turns(CONVERSATION, 2)
    assert [t.content for t in newest] == ["s24998", "s24999"]
    oldest = await store.recent_turns(CONVERSATION, 5, before_id=first.id + 3)
    assert [t.content for t in oldest] == ["first", "s0", "s1"]


async def test_seed_turns_with_nothing_is_harmless(store: SQLiteStore) -> None:
    dm = ConversationRef("discord", "", "D9")

    await store.seed_turns(dm, [])

    assert await store.recent_turns(dm, 5) == []


# -- round-trips -----------------------------------------------------------------------


async def test_every_read_is_one_trip_and_every_write_one_statement(
    store: SQLiteStore, trips: list[object]
) -> None:
    # The plain store reads the file every time (see test_sqlite_caches.py for the
    # cached configuration of `chatwright run`, where a message costs its two writes).
    await store.add_turn(CONVERSATION, NewTurn("user", "learns the conversation id", 1))
    calls = {
        "recent_turns": lambda: store.recent_turns(CONVERSATION, 64),
        "get_persona": lambda: store.get_persona(CHANNEL),
        "usage": lambda: store.usage(CHANNEL, DAY),
        "add_turn": lambda: store.add_turn(CONVERSATION, NewTurn("user", "x", 1)),
        "add_reply": lambda: store.add_reply(
            CONVERSATION, NewTurn("assistant", "y", 1), Usage(1, 1), DAY),
        # A tool step is a turn like any other: one INSERT.
        "add_tool_step": lambda: store.add_turn(
            CONVERSATION, NewTurn("assistant", "", 1, tool_calls=(TOOL_CALL,))),
        "add_tool_result": lambda: store.add_turn(
            CONVERSATION, NewTurn("tool", "12:00", 1, tool_call_id="call_1")),
        "get_channel_tools": lambda: store.get_channel_tools(CHANNEL),
        "record_feedback": lambda: store.record_feedback(Feedback(CHANNEL, "A1", "U1", True)),
        "feedback_totals": lambda: store.feedback_totals(CHANNEL),
        "claim_event": lambda: store.claim_event("slack", "Ev1"),
        "image_data": lambda: store.image_data([1, 2, 3]),
        "prune_images": lambda: store.prune_images(CONVERSATION, 1),
        "forget": lambda: store.forget(CONVERSATION),
    }

    for _ in range(2):  # nothing is remembered but the conversation's id
        counts = {}
        for name, call in calls.items():
            trips.clear()
            await call()
            counts[name] = len(trips)
        assert counts == dict.fromkeys(calls, 1)


async def test_reads_of_many_tasks_at_once_share_one_select(
    store: SQLiteStore, trips: list[object], db_path: Path
) -> None:
    conversations = [ConversationRef("slack", "T1", f"C{i}", "1.0") for i in range(30)]
    for i, conversation in enumerate(conversations[:20]):  # ten have no row at all
        await store.seed_turns(conversation, turns(i % 4, prefix=f"{i}:"))
    trips.clear()

    pages = await asyncio.gather(*(
        store.recent_turns(conversation, 2, before_id=None if n % 2 else 10**6)
        for n, conversation in enumerate(conversations)))

    assert 1 <= len(trips) <= 2  # the first may go alone; the rest queue behind it
    for i, page in enumerate(pages):
        seeded = [f"{i}:{n}" for n in range(i % 4)] if i < 20 else []
        assert [t.content for t in page] == seeded[-2:]


async def test_a_rolled_back_conversation_id_is_not_remembered(
    store: SQLiteStore, raw: RawConnect
) -> None:
    # SQLite hands a rolled-back conversation's id to the next new conversation: a
    # remembered id would then file this conversation's turns under another one.
    first, second = CONVERSATION, ConversationRef("slack", "T1", "C1", "other")
    raw().execute(
        "CREATE TRIGGER fail_usage BEFORE INSERT ON usage_daily "
        "BEGIN SELECT RAISE(ABORT, 'usage refused'); END"
    )
    with pytest.raises(StoreError):
        await store.add_reply(first, NewTurn("assistant", "lost", 1), Usage(1, 1), DAY)

    await store.add_turn(second, NewTurn("user", "second's", 1))
    await store.add_turn(first, NewTurn("user", "first's", 1))

    assert [t.content for t in await store.recent_turns(first, 10)] == ["first's"]
    assert [t.content for t in await store.recent_turns(second, 10)] == ["second's"]


async def test_a_conversation_created_by_another_process_is_found(
    store: SQLiteStore, raw: RawConnect
) -> None:
    other = raw()
    other.execute(
        "INSERT INTO conversations (id, platform, workspace, channel, thread, created_at) "
        "VALUES (42, ?, ?, ?, ?, '2024-05-01T00:00:00.000000+00:00')", _key(CONVERSATION))

    await store.add_turn(CONVERSATION, NewTurn("user", "x", 1))
    await store.add_reply(CONVERSATION, NewTurn("assistant", "y", 1), Usage(1, 1), DAY)

    assert other.execute("SELECT DISTINCT conversation_id FROM turns").fetchall() == [(42,)]
    assert other.execute("SELECT count(*) FROM conversations").fetchone() == (1,)


async def test_turns_written_by_another_process_read_right_when_first_loaded(
    store: SQLiteStore, raw: RawConnect
) -> None:
    mine = await store.add_turn(CONVERSATION, NewTurn("user", "mine", 1))
    other = raw()
    other.execute(
        "INSERT INTO turns (conversation_id, role, content, tokens, author_id, author_name,"
        " created_at) SELECT conversation_id, 'assistant', 'theirs', 2, '', '',"
        " '2024-05-01T02:00:00.000000+02:00' FROM turns")

    both = await store.recent_turns(CONVERSATION, 10)
    assert [t.content for t in both] == ["mine", "theirs"]
    assert both[0] == mine
    assert both[1].created_at == datetime(2024, 5, 1, tzinfo=UTC)
    assert both[1].created_at.tzinfo is UTC

    assert await store.forget(CONVERSATION) == 2
    assert await store.recent_turns(CONVERSATION, 10) == []
    again = await store.add_turn(CONVERSATION, NewTurn("user", "after", 1))
    assert await store.recent_turns(CONVERSATION, 10) == [again]


# -- answer records --------------------------------------------------------------------


def _plan(connection: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> str:
    return " | ".join(row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql, params))


async def test_finding_answers_reads_only_their_indexes(
    store: SQLiteStore, raw: RawConnect
) -> None:
    now = "2024-05-01T00:00:00.000000+00:00"

    expired = _plan(raw(), _TAKE_EXPIRED_ANSWERS, ("B", now, now, "slack", now, 10))
    leases = _plan(raw(), _SET_LEASES, (now, now, "A", '[["slack", "Ev1"]]'))
    finish = _plan(raw(), _finish_answers_sql(2), (now, *(["x"] * 10)))
    prune = _plan(raw(), _PRUNE_ANSWERS, (now,))
    linked = _plan(raw(), _ANSWER_TURNS, (*_key(CONVERSATION), "Ev1"))

    # Expired leases come from the partial index of answers in flight, never a scan of
    # the finished ones; pruning reads only the finished ones.
    assert "SEARCH answers USING INDEX answers_expiring (platform=? AND lease_until<?)" in expired
    assert "SCAN answers" not in expired
    assert "SEARCH answers USING INDEX answers_finished (updated_at<?)" in prune
    for plan in (leases, finish):
        assert "SEARCH answers USING INDEX sqlite_autoindex_answers_1 (platform=? AND event_id=?)" in plan
        assert "SCAN answers" not in plan
    assert "SEARCH turns USING INDEX turns_by_event (conversation_id=? AND event_id=?)" in linked


async def test_turns_without_an_event_store_null(store: SQLiteStore, raw: RawConnect) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "plain", 1))
    await store.add_reply(CONVERSATION, NewTurn("assistant", "linked", 1, event_id="Ev1"),
                          Usage(1, 1), DAY)
    await store.seed_turns(CONVERSATION, [NewTurn("user", "seeded", 1, event_id="Ev2")])

    rows = raw().execute("SELECT content, event_id FROM turns ORDER BY id").fetchall()

    assert rows == [("plain", None), ("linked", "Ev1"), ("seeded", "Ev2")]


async def test_what_has_no_images_or_files_stores_null(
    store: SQLiteStore, raw: RawConnect
) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "plain", 1))
    await store.add_reply(CONVERSATION, NewTurn("assistant", "reply", 1), Usage(1, 1), DAY)
    await store.add_turn(CONVERSATION, pictured("look"))
    await store.claim_answer(_asked("Ev1"), {}, "A", 30)
    files = (FileRef("a.txt", "text/plain", 3, "https://files.example/a.txt"),)
    await store.claim_answer(IncomingMessage(CONVERSATION, "U1", "ada", "q", event_id="Ev2",
                                             files=files), {}, "A", 30)
    await store.set_persona(CHANNEL, Persona("default"), "U1", "ada")

    connection = raw()
    images = connection.execute("SELECT content, images FROM turns ORDER BY id").fetchall()
    assert [(content, json is None) for content, json in images] == [
        ("plain", True), ("reply", True), ("look", False)]
    assert connection.execute("SELECT count(*) FROM turn_images").fetchone() == (1,)
    assert [files is None for (files,) in connection.execute(
        "SELECT files FROM answers ORDER BY event_id")] == [True, False]
    assert connection.execute("SELECT vision FROM personas").fetchall() == [(None,)]


async def test_what_has_no_tools_stores_null(store: SQLiteStore, raw: RawConnect) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "plain", 1))
    await store.add_turn(CONVERSATION, NewTurn("assistant", "", 1, tool_calls=(TOOL_CALL,)))
    await store.add_turn(CONVERSATION, NewTurn("tool", "12:00", 1, tool_call_id="call_1"))
    await store.seed_turns(CONVERSATION, [NewTurn("user", "seeded", 1)])
    await store.set_persona(CHANNEL, Persona("default"), "U1", "ada")
    await store.set_persona(CHANNEL.workspace_default, Persona("timed", tools=("time",)),
                            "U1", "ada")
    await store.set_channel_tools(CHANNEL, frozenset({"time", "orders.lookup"}), "U1", "ada")

    connection = raw()
    assert connection.execute(
        "SELECT content, tool_calls, tool_call_id FROM turns ORDER BY id").fetchall() == [
        ("plain", None, None),
        ("", '[{"id":"call_1","name":"time","arguments":"{\\"zone\\": \\"UTC\\"}"}]', None),
        ("12:00", None, "call_1"),
        ("seeded", None, None)]
    assert connection.execute("SELECT tools FROM personas ORDER BY channel").fetchall() == [
        ('["time"]',), (None,)]  # "*", the workspace default, sorts first
    # Sorted: the same choice is always the same text.
    assert connection.execute("SELECT tools FROM channel_tools").fetchall() == [
        ('["orders.lookup","time"]',)]


async def test_what_has_no_prompts_or_loading_messages_stores_null(
    store: SQLiteStore, raw: RawConnect
) -> None:
    await store.set_persona(CHANNEL, Persona("default"), "U1", "ada")
    await store.set_persona(CHANNEL.workspace_default, Persona(
        "guided", suggested_prompts=("Summarise", 'Say "hi"'), loading_messages=("Thinking…",)),
        "U1", "ada")

    assert raw().execute("SELECT suggested_prompts, loading_messages FROM personas"
                         " ORDER BY channel").fetchall() == [
        ('["Summarise","Say \\"hi\\""]', '["Thinking\\u2026"]'),  # "*" sorts first
        (None, None)]


async def test_feedback_is_one_row_per_person_and_answer_at_the_last_clicks_time(
    db_path: Path, raw: RawConnect
) -> None:
    clock = FakeClock()
    async with SQLiteStore(db_path, clock=clock) as store:
        await store.record_feedback(Feedback(CHANNEL, "A1", "U1", True))
        clock.advance(60)
        await store.record_feedback(Feedback(CHANNEL, "A1", "U1", False))

    assert raw().execute("SELECT answer_id, user_id, helpful, given_at FROM answer_feedback"
                         ).fetchall() == [("A1", "U1", 0, clock.now.isoformat())]


async def test_feedback_totals_read_a_range_of_the_key(
    store: SQLiteStore, raw: RawConnect
) -> None:
    plan = " | ".join(row[3] for row in raw().execute(
        "EXPLAIN QUERY PLAN " + _FEEDBACK_TOTALS, channel_key(CHANNEL)))

    assert ("SEARCH answer_feedback USING PRIMARY KEY"
            " (platform=? AND workspace=? AND channel=?)") in plan
    assert "SCAN" not in plan


async def test_seeded_tool_steps_read_back_with_their_calls(store: SQLiteStore) -> None:
    await store.seed_turns(CONVERSATION, [
        NewTurn("assistant", "", 1, tool_calls=(TOOL_CALL,)),
        NewTurn("tool", "12:00", 1, tool_call_id="call_1")])

    step, result = await store.recent_turns(CONVERSATION, 10)

    assert (step.tool_calls, result.role, result.tool_call_id) == ((TOOL_CALL,), "tool", "call_1")


async def test_a_personas_vision_is_read_back_after_a_restart(db_path: Path) -> None:
    seeing, blind = ChannelRef("slack", "T1", "C1"), ChannelRef("slack", "T1", "C2")
    async with SQLiteStore(db_path) as store:
        await store.set_persona(seeing, Persona("Look.", vision=True), "U1", "ada")
        await store.set_persona(blind, Persona("Listen.", vision=False), "U1", "ada")

    # The cached store reads every persona at open (``all_personas``); the plain one each.
    async with CachedStore(SQLiteStore(db_path)) as cached, SQLiteStore(db_path) as plain:
        for store in (cached, plain):
            assert await store.get_persona(seeing) == Persona("Look.", vision=True)
            assert await store.get_persona(blind) == Persona("Listen.", vision=False)


async def test_each_answer_call_is_one_trip(store: SQLiteStore, trips: list[object]) -> None:
    keys = [("slack", f"Ev{i}") for i in range(50)]
    for _, event_id in keys:
        await store.claim_answer(_asked(event_id), {}, "A", 30)
    calls = {
        "claim_answer": lambda: store.claim_answer(_asked("new"), {}, "A", 30),
        "take_answer": lambda: store.take_answer(keys[0], "B", 30),
        "take_expired_answers": lambda: store.take_expired_answers("slack", "B", 30, 10),
        "renew_answers": lambda: store.renew_answers(keys, "A", 30),
        "release_answers": lambda: store.release_answers(keys, "A"),
        "save_delivery": lambda: store.save_delivery(keys[1], "A", Delivery(("m",), 0)),
        "finish_answer": lambda: store.finish_answer(keys[1], "A", "delivered", Delivery()),
        "get_answer": lambda: store.get_answer(keys[1]),
        "answer_turns": lambda: store.answer_turns(CONVERSATION, "Ev1"),
    }

    counts = {}
    for name, call in calls.items():
        trips.clear()
        await call()
        counts[name] = len(trips)

    assert counts == dict.fromkeys(calls, 1)


async def test_a_burst_of_claims_and_finishes_shares_trips(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = count_trips(store, monkeypatch)
    events = [f"Ev{i}" for i in range(300)]

    claimed = await asyncio.gather(*(
        store.claim_answer(_asked(event_id), {}, "A", 30) for event_id in events))
    claim_trips = len(trips)
    trips.clear()
    finished = await asyncio.gather(*(
        store.finish_answer(("slack", event_id), "A", "delivered", Delivery((event_id,), 1))
        for event_id in events))

    assert claimed == finished == [True] * 300
    # The first goes alone, the rest queue behind it: 200 rows a statement.
    assert claim_trips <= 3
    assert len(trips) <= 3


def _asked(event_id: str) -> IncomingMessage:
    return IncomingMessage(CONVERSATION, "U1", "ada", "q", event_id=event_id)
