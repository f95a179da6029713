"""What only the PostgreSQL store promises: migrations, replicas, pooling, secrets.

Everything runs on a real server, in a fresh database per test (``postgres_url``, see
tests/postgres.py); a plain asyncpg connection (``raw``) plays an operator's shell or an
old chatwright. Two ``PostgresStore`` objects on one database are two replicas.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from core.answers import Delivery
from core.errors import ConfigurationError, StoreError
from core.store import PostgresStore, open_store, redacted_url
from core.store import postgres_migrations as migrations
from core.store.postgres import (
    _CONVERSATION_CLAIMS,
    _FEEDBACK_TOTALS,
    _PRUNE_IMAGES,
    _RECENT_TURNS,
)
from core.types import (
    ChannelRef,
    ConversationRef,
    Feedback,
    FeedbackTotals,
    ImageRef,
    IncomingMessage,
    NewTurn,
    Persona,
    ToolCall,
    Usage,
    UsageTotals,
)
from tests.core.store.test_contract import FakeClock

CONVERSATION = ConversationRef("slack", "T1", "C1", "1700000000.000100")
CHANNEL = CONVERSATION.channel_ref
DAY = date(2024, 5, 1)
LEASE = 30.0
ROUTE = {"channel": "C1"}


@pytest.fixture
async def raw(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(postgres_url)
    yield connection
    await connection.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def replicas(postgres_url: str, clock: FakeClock) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    async with PostgresStore(postgres_url, clock=clock) as first, \
            PostgresStore(postgres_url, clock=clock) as second:
        yield first, second


def asked(event_id: str, conversation: ConversationRef = CONVERSATION) -> IncomingMessage:
    return IncomingMessage(conversation, "U1", "ada", f"question {event_id}", event_id=event_id)


IMAGE = ImageRef("a.png", "image/png", 8, 8, 4, "ab" * 32, 85)


def pictured(text: str, data: bytes = b"\x89P\x00G") -> NewTurn:
    return NewTurn("user", text, 86, images=(IMAGE,), image_data=(data,))


async def versions(raw: asyncpg.Connection) -> list[int]:
    return [row["version"] for row in await raw.fetch("SELECT version FROM schema_version ORDER BY 1")]


# -- migrations ------------------------------------------------------------------------


async def test_an_empty_database_gets_the_whole_schema(postgres_url: str, raw: asyncpg.Connection) -> None:
    async with PostgresStore(postgres_url):
        pass

    tables = {row[0] for row in await raw.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    assert await versions(raw) == list(range(1, migrations.SCHEMA_VERSION + 1))
    assert await migrations.current_version(raw) == migrations.SCHEMA_VERSION
    assert {"conversations", "turns", "personas", "persona_audit", "processed_events",
            "usage_daily", "answers", "schema_version"} <= tables


async def test_migrations_are_idempotent(postgres_url: str, raw: asyncpg.Connection) -> None:
    for _ in range(3):
        async with PostgresStore(postgres_url) as store:
            await store.add_turn(CONVERSATION, NewTurn("user", "x", 1))

    async with PostgresStore(postgres_url) as store:
        assert len(await store.recent_turns(CONVERSATION, 10)) == 3
    assert await migrations.apply(raw) == migrations.SCHEMA_VERSION
    assert await versions(raw) == list(range(1, migrations.SCHEMA_VERSION + 1))


async def test_replicas_starting_together_migrate_once(postgres_url: str, raw: asyncpg.Connection) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(4)]

    await asyncio.gather(*(store.open() for store in stores))
    try:
        await stores[0].add_turn(CONVERSATION, NewTurn("user", "hi", 1))
        assert [t.content for t in await stores[3].recent_turns(CONVERSATION, 5)] == ["hi"]
    finally:
        await asyncio.gather(*(store.aclose() for store in stores))
    assert await versions(raw) == list(range(1, migrations.SCHEMA_VERSION + 1))


# The version 1 schema as released (step 1, and the version table), with an old
# chatwright's rows in it.
_VERSION_TABLE_V1 = """
    CREATE TABLE schema_version (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now())
"""


async def test_a_version_1_database_is_upgraded_with_its_data(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    await raw.execute(";".join(migrations.MIGRATIONS[0]))
    await raw.execute(_VERSION_TABLE_V1)
    await raw.execute("INSERT INTO schema_version (version) VALUES (1)")
    conversation_id = await raw.fetchval(
        "INSERT INTO conversations (platform, workspace, channel, thread, created_at)"
        " VALUES ($1, $2, $3, $4, '2024-05-01T00:00:00Z') RETURNING id", *_key(CONVERSATION))
    await raw.execute(
        "INSERT INTO turns (conversation_id, role, content, tokens, author_id, author_name,"
        " created_at) VALUES ($1, 'user', 'from v1', 3, 'U1', 'ada', '2024-05-01T00:00:00Z')",
        conversation_id)
    await raw.execute("INSERT INTO usage_daily VALUES ($1, $2, $3, $4, 100, 10)",
                      *_key(CONVERSATION)[:3], DAY)
    await raw.execute(
        "INSERT INTO personas VALUES ($1, $2, $3, 'Be kind.', 'kind', '', NULL, 0.5, NULL,"
        " '2024-05-01T00:00:00Z')", *_key(CONVERSATION)[:3])
    await raw.execute("INSERT INTO processed_events VALUES ('slack', 'Ev0', '2024-05-01T00:00:00Z')")

    async with PostgresStore(postgres_url) as store:
        reply = await store.add_reply(
            CONVERSATION, NewTurn("assistant", "from v2", 1, event_id="Ev1"), Usage(7, 1), DAY)
        assert await store.claim_answer(asked("Ev1"), ROUTE, "A", LEASE) is True

        assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == ["from v1", "from v2"]
        assert await store.usage(CHANNEL, DAY) == UsageTotals(Usage(107, 11), Usage(107, 11))
        assert await store.get_persona(CHANNEL) == Persona("Be kind.", "kind", temperature=0.5)
        assert await store.claim_event("slack", "Ev0") is False
        assert await store.answer_turns(CONVERSATION, "Ev1") == (None, reply)
        assert (await store.get_answer(("slack", "Ev1"))).message == asked("Ev1")
    assert await versions(raw) == list(range(1, migrations.SCHEMA_VERSION + 1))
    assert [row[0] for row in await raw.fetch("SELECT event_id FROM turns ORDER BY id")] == [None, "Ev1"]


async def test_a_version_2_database_is_upgraded_with_its_turns_personas_and_answers(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    await raw.execute(";".join((*migrations.MIGRATIONS[0], *migrations.MIGRATIONS[1])))
    await raw.execute(_VERSION_TABLE_V1)
    await raw.execute("INSERT INTO schema_version (version) VALUES (1), (2)")
    conversation_id = await raw.fetchval(
        "INSERT INTO conversations (platform, workspace, channel, thread, created_at)"
        " VALUES ($1, $2, $3, $4, '2024-05-01T00:00:00Z') RETURNING id", *_key(CONVERSATION))
    await raw.execute(
        "INSERT INTO turns (conversation_id, role, content, tokens, author_id, author_name,"
        " created_at, event_id) VALUES ($1, 'user', 'from v2', 3, 'U1', 'ada',"
        " '2024-05-01T00:00:00Z', 'Ev1')", conversation_id)
    await raw.execute(
        "INSERT INTO personas VALUES ($1, $2, $3, 'Be kind.', 'kind', '', NULL, 0.5, NULL,"
        " '2024-05-01T00:00:00Z')", *_key(CONVERSATION)[:3])
    await raw.execute(
        "INSERT INTO answers (platform, event_id, workspace, channel, thread, user_id,"
        " user_name, text, is_dm, is_admin, route, state, owner, lease_until, attempts,"
        " delivery, created_at, updated_at) VALUES ('slack', 'Ev1', $1, $2, $3, 'U1', 'ada',"
        " 'question Ev1', false, false, $4, 'answering', 'A', '2024-05-01T00:00:30Z', 1, $5,"
        " '2024-05-01T00:00:00Z', '2024-05-01T00:00:00Z')",
        *_key(CONVERSATION)[1:], '{"channel":"C1"}', Delivery().to_json())

    async with PostgresStore(postgres_url) as store:
        (question,) = await store.recent_turns(CONVERSATION, 10)
        assert (question.content, question.images) == ("from v2", ())
        assert await store.answer_turns(CONVERSATION, "Ev1") == (question, None)
        assert await store.get_persona(CHANNEL) == Persona("Be kind.", "kind", temperature=0.5)
        taken = await store.take_answer(("slack", "Ev1"), "B", LEASE)  # its lease ran out in 2024
        assert taken is not None and taken.message == asked("Ev1")
        # What the new step adds works on the upgraded database, forgetting images too.
        shown = await store.add_turn(CONVERSATION, pictured("look"))
        assert await store.image_data([question.id, shown.id]) == {(shown.id, 0): b"\x89P\x00G"}
        assert await store.forget(CONVERSATION) == 2
        assert await store.image_data([shown.id]) == {}
    assert await versions(raw) == list(range(1, migrations.SCHEMA_VERSION + 1))


TOOL_CALL = ToolCall("call_1", "time", '{"zone": "UTC"}')


async def test_a_version_3_database_is_upgraded_to_store_tool_turns(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    await raw.execute(";".join(statement for step in migrations.MIGRATIONS[:3]
                               for statement in step))
    await raw.execute(_VERSION_TABLE_V1)
    await raw.execute("INSERT INTO schema_version (version) VALUES (1), (2), (3)")
    conversation_id = await raw.fetchval(
        "INSERT INTO conversations (platform, workspace, channel, thread, created_at)"
        " VALUES ($1, $2, $3, $4, '2024-05-01T00:00:00Z') RETURNING id", *_key(CONVERSATION))
    await raw.execute(
        "INSERT INTO turns (conversation_id, role, content, tokens, author_id, author_name,"
        " created_at, event_id) VALUES ($1, 'user', 'from v3', 3, 'U1', 'ada',"
        " '2024-05-01T00:00:00Z', 'Ev1'), ($1, 'assistant', 'reply v3', 2, '', '',"
        " '2024-05-01T00:00:00Z', 'Ev1')", conversation_id)
    await raw.execute(
        "INSERT INTO personas VALUES ($1, $2, $3, 'Be kind.', 'kind', '', NULL, 0.5, NULL,"
        " '2024-05-01T00:00:00Z', true)", *_key(CONVERSATION)[:3])

    async with PostgresStore(postgres_url) as store:
        question, old_reply = await store.recent_turns(CONVERSATION, 10)
        assert (question.content, question.tool_calls, question.tool_call_id) == ("from v3", (), "")
        assert await store.answer_turns(CONVERSATION, "Ev1") == (question, old_reply)
        assert await store.get_persona(CHANNEL) == Persona("Be kind.", "kind", temperature=0.5,
                                                           vision=True)
        # What the new step adds works on the upgraded database.
        step = await store.add_turn(CONVERSATION, NewTurn(
            "assistant", "", 4, event_id="Ev2", tool_calls=(TOOL_CALL,)))
        result = await store.add_turn(CONVERSATION, NewTurn(
            "tool", "12:00", 1, event_id="Ev2", tool_call_id="call_1"))
        assert await store.recent_turns(CONVERSATION, 10) == [question, old_reply, step, result]
        assert await store.answer_turns(CONVERSATION, "Ev2") == (None, None)
        await store.set_persona(CHANNEL, Persona("Tell the time.", tools=("time",)), "U1", "ada")
        assert (await store.get_persona(CHANNEL)).tools == ("time",)
        await store.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada")
        assert await store.get_channel_tools(CHANNEL) == frozenset({"time"})
    assert await versions(raw) == list(range(1, migrations.SCHEMA_VERSION + 1))
    # The role CHECK was replaced, not added beside the old one: it still refuses the rest.
    assert [row[0] for row in await raw.fetch(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'turns'::regclass AND contype = 'c'"
    )] == ["turns_role_check"]
    with pytest.raises(asyncpg.CheckViolationError):
        await raw.execute(
            "INSERT INTO turns (conversation_id, role, content, tokens, author_id, author_name,"
            " created_at) VALUES ($1, 'system', 'x', 1, '', '', now())", conversation_id)


# An audit entry's persona as version 4 wrote it: no suggested prompts, no loading messages.
_V4_AUDIT_JSON = ('{"description": "", "max_tokens": null, "model": null, "name": "kind",'
                  ' "system_prompt": "Be kind.", "temperature": 0.5, "tools": ["time"],'
                  ' "vision": true}')
V4_PERSONA = Persona("Be kind.", "kind", temperature=0.5, vision=True, tools=("time",))


async def test_a_version_4_database_is_upgraded_to_keep_feedback_and_prompts(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    await raw.execute(";".join(statement for step in migrations.MIGRATIONS[:4]
                               for statement in step))
    await raw.execute(_VERSION_TABLE_V1)
    await raw.execute("INSERT INTO schema_version (version) VALUES (1), (2), (3), (4)")
    await raw.execute(
        "INSERT INTO personas VALUES ($1, $2, $3, 'Be kind.', 'kind', '', NULL, 0.5, NULL,"
        " '2024-05-01T00:00:00Z', true, '[\"time\"]')", *_key(CONVERSATION)[:3])
    await raw.execute(
        "INSERT INTO persona_audit (platform, workspace, channel, actor_id, actor_name, before,"
        " after, changed_at) VALUES ($1, $2, $3, 'U1', 'ada', NULL, $4, '2024-05-01T00:00:00Z')",
        *_key(CONVERSATION)[:3], _V4_AUDIT_JSON)
    prompting = Persona("Be kind.", suggested_prompts=("Summarise this",),
                        loading_messages=("Thinking…",))

    async with PostgresStore(postgres_url) as store:
        assert await store.get_persona(CHANNEL) == V4_PERSONA
        (entry,) = await store.persona_history(CHANNEL, 10)
        assert (entry.before, entry.after) == (None, V4_PERSONA)
        # What the new step adds works on the upgraded database.
        await store.set_persona(CHANNEL, prompting, "U1", "ada")
        assert await store.get_persona(CHANNEL) == prompting
        newest, _ = await store.persona_history(CHANNEL, 10)
        assert (newest.before, newest.after) == (V4_PERSONA, prompting)
        await store.record_feedback(Feedback(CHANNEL, "1700000000.000200", "U1", False))
        await store.record_feedback(Feedback(CHANNEL, "1700000000.000200", "U2", True))
        assert await store.feedback_totals(CHANNEL) == FeedbackTotals(1, 1)
    assert await versions(raw) == list(range(1, migrations.SCHEMA_VERSION + 1)) == [1, 2, 3, 4, 5, 6]
    assert await raw.fetch("SELECT suggested_prompts, loading_messages FROM personas") == [
        ('["Summarise this"]', '["Thinking\\u2026"]')]


async def test_feedback_totals_read_a_range_of_the_key(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    async with PostgresStore(postgres_url) as store:
        for n in range(50):
            channel = ChannelRef("slack", "T1", f"C{n}")
            await store.record_feedback(Feedback(channel, "A1", "U1", True))
    await raw.execute("ANALYZE answer_feedback")
    await raw.execute("SET enable_seqscan = off")  # 50 rows: the planner would rather scan

    plan = "\n".join(row[0] for row in await raw.fetch(
        "EXPLAIN " + _FEEDBACK_TOTALS, *_key(CONVERSATION)[:3]))

    # The channel is the key's prefix: the whole WHERE is the index's condition.
    assert "using answer_feedback_pkey" in plan, plan
    assert ("Index Cond: ((platform = 'slack'::text) AND (workspace = 'T1'::text)"
            " AND (channel = 'C1'::text))") in plan, plan


async def test_a_database_from_a_newer_chatwright_is_refused(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    async with PostgresStore(postgres_url):
        pass
    await raw.execute("INSERT INTO schema_version (version) VALUES ($1)", migrations.SCHEMA_VERSION + 1)
    store = PostgresStore(postgres_url)

    with pytest.raises(StoreError, match="newer than"):
        await store.open()
    with pytest.raises(StoreError, match="not open"):
        await store.recent_turns(CONVERSATION, 1)
    await store.aclose()


async def test_probe_reports_versions_without_migrating(postgres_url: str, raw: asyncpg.Connection) -> None:
    store = PostgresStore(postgres_url)

    before = await store.probe()
    async with store:
        pass
    after = await PostgresStore(postgres_url).probe()

    assert before.schema_version == 0
    assert after.schema_version == migrations.SCHEMA_VERSION
    assert before.server_version == await raw.fetchval("SHOW server_version")


# -- replicas see each other at once (no cache) ----------------------------------------


async def test_channel_tools_set_on_one_replica_are_seen_by_the_other(
    replicas: tuple[PostgresStore, PostgresStore]
) -> None:
    first, second = replicas
    assert await second.get_channel_tools(CHANNEL) is None  # read once before: nothing may stick

    await first.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada")
    assert await second.get_channel_tools(CHANNEL) == frozenset({"time"})

    change = await second.set_channel_tools(CHANNEL, frozenset(), "U2", "bob")
    assert change.before == frozenset({"time"})
    assert await first.get_channel_tools(CHANNEL) == frozenset()
    assert [c.actor_name for c in await first.tools_history(CHANNEL, 10)] == ["bob", "ada"]


async def test_tools_changes_on_two_replicas_at_once_chain_their_audit_entries(
    replicas: tuple[PostgresStore, PostgresStore]
) -> None:
    # The channel has no row to lock at first: the advisory lock queues the changes.
    await asyncio.gather(*(replica.set_channel_tools(CHANNEL, frozenset({f"t{n}"}), "U1", "ada")
                           for n in range(10) for replica in replicas))

    history = await replicas[0].tools_history(CHANNEL, 30)
    assert len(history) == 20 and history[-1].before is None
    assert all(newer.before == older.after for newer, older in zip(history, history[1:]))


async def test_a_persona_set_on_one_replica_is_seen_by_the_other(
    replicas: tuple[PostgresStore, PostgresStore]
) -> None:
    first, second = replicas
    assert await second.get_persona(CHANNEL) is None  # read once before: nothing may stick

    await first.set_persona(CHANNEL, Persona("Be terse."), "U1", "ada")
    assert await second.get_persona(CHANNEL) == Persona("Be terse.")

    change = await second.set_persona(CHANNEL, Persona("Be kind."), "U2", "bob")
    assert change.before == Persona("Be terse.")
    assert await first.get_persona(CHANNEL) == Persona("Be kind.")

    await first.set_persona(CHANNEL, None, "U1", "ada")
    assert await second.get_persona(CHANNEL) is None
    assert [c.actor_name for c in await second.persona_history(CHANNEL, 10)] == ["ada", "bob", "ada"]


async def test_turns_and_a_forget_on_one_replica_are_seen_by_the_other(
    replicas: tuple[PostgresStore, PostgresStore]
) -> None:
    first, second = replicas
    await first.add_turn(CONVERSATION, NewTurn("user", "a", 1))
    assert [t.content for t in await second.recent_turns(CONVERSATION, 10)] == ["a"]

    await second.add_turn(CONVERSATION, NewTurn("assistant", "b", 1))
    assert [t.content for t in await first.recent_turns(CONVERSATION, 10)] == ["a", "b"]

    assert await second.forget(CONVERSATION) == 2
    assert await first.recent_turns(CONVERSATION, 10) == []
    fresh = await first.add_turn(CONVERSATION, NewTurn("user", "again", 1))
    assert await second.recent_turns(CONVERSATION, 10) == [fresh]


async def test_usage_counted_on_one_replica_is_seen_by_the_other(
    replicas: tuple[PostgresStore, PostgresStore]
) -> None:
    first, second = replicas
    answer = NewTurn("assistant", "answer", 1)
    assert await second.usage(CHANNEL, DAY) == UsageTotals(Usage(0, 0), Usage(0, 0))

    await first.add_reply(CONVERSATION, answer, Usage(10, 1), DAY)
    assert (await second.usage(CHANNEL, DAY)).today == Usage(10, 1)

    await asyncio.gather(*(store.add_reply(CONVERSATION, answer, Usage(1, 1), DAY)
                           for _ in range(20) for store in replicas))
    assert await first.usage(CHANNEL, DAY) == UsageTotals(Usage(50, 41), Usage(50, 41))


async def test_a_new_conversation_created_by_both_replicas_at_once_is_one(
    replicas: tuple[PostgresStore, PostgresStore], raw: asyncpg.Connection
) -> None:
    stored = await asyncio.gather(*(store.add_turn(CONVERSATION, NewTurn("user", str(n), 1))
                                    for n in range(10) for store in replicas))

    assert await raw.fetchval("SELECT count(*) FROM conversations") == 1
    assert len(await replicas[0].recent_turns(CONVERSATION, 100)) == len(stored) == 20


# -- exactly once across replicas ------------------------------------------------------


async def test_of_concurrent_event_claims_on_two_replicas_one_wins(
    replicas: tuple[PostgresStore, PostgresStore]
) -> None:
    results = await asyncio.gather(*(store.claim_event("slack", "Ev1")
                                     for _ in range(25) for store in replicas))

    assert results.count(True) == 1


async def test_two_replicas_taking_expired_answers_take_each_once(
    replicas: tuple[PostgresStore, PostgresStore], clock: FakeClock
) -> None:
    events = [f"E{n}" for n in range(60)]
    for n, event_id in enumerate(events):
        conversation = ConversationRef("slack", "T1", "C1", f"thread-{n % 7}")
        assert await replicas[0].claim_answer(asked(event_id, conversation), ROUTE, "gone", LEASE)
    clock.advance(LEASE)

    rounds = await asyncio.gather(*(
        store.take_expired_answers("slack", f"{name}{n}", LEASE, 12)
        for n in range(4) for store, name in zip(replicas, "AB", strict=True)))
    rest = await replicas[0].take_expired_answers("slack", "last", LEASE, 100)

    taken = [record.message.event_id for records in (*rounds, rest) for record in records]
    assert sorted(taken) == sorted(events)  # each exactly once
    for event_id in events:
        assert (await replicas[1].get_answer(("slack", event_id))).attempts == 2


async def test_a_later_claim_of_a_conversation_waits_behind_an_earlier_one(
    replicas: tuple[PostgresStore, PostgresStore]
) -> None:
    first, second = replicas
    assert await first.claim_answer(asked("Ev1"), ROUTE, "A", LEASE)
    assert await second.claim_answer(asked("Ev2"), ROUTE, "B", LEASE)

    assert await second.earlier_unfinished(("slack", "Ev2")) is True
    assert await first.earlier_unfinished(("slack", "Ev1")) is False
    assert await first.finish_answer(("slack", "Ev1"), "A", "delivered", Delivery())
    assert await second.earlier_unfinished(("slack", "Ev2")) is False


async def test_claims_of_one_conversation_queue_behind_its_lock(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    # The lock makes claim order the order claims become visible (see _CLAIM_ANSWER);
    # held here, it must hold a claim up: it is taken, not planned away.
    lock = ("SELECT pg_advisory_lock($1, hashtext(concat_ws(chr(31), $2::text, $3::text,"
            " $4::text, $5::text)))")
    async with PostgresStore(postgres_url) as store:
        await raw.execute(lock, _CONVERSATION_CLAIMS, *_key(CONVERSATION))
        claiming = asyncio.ensure_future(store.claim_answer(asked("Ev1"), ROUTE, "A", LEASE))
        await asyncio.sleep(0.2)
        assert not claiming.done()
        # A claim made while that one waits goes out in a batch of its own, and is not
        # held up by it.
        other = ConversationRef("slack", "T1", "C2")
        assert await store.claim_answer(asked("Ev2", other), ROUTE, "A", LEASE) is True
        assert not claiming.done()

        await raw.execute(lock.replace("pg_advisory_lock", "pg_advisory_unlock"),
                          _CONVERSATION_CLAIMS, *_key(CONVERSATION))
        assert await asyncio.wait_for(claiming, 10) is True


# -- batches ---------------------------------------------------------------------------


class CountingPool:
    """The store's pool, counting the connections taken from it: its round trips."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.taken = 0

    def acquire(self):  # type: ignore[no-untyped-def]
        self.taken += 1
        return self.pool.acquire()

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.pool, name)


def count_acquisitions(store: PostgresStore, monkeypatch: pytest.MonkeyPatch) -> CountingPool:
    counting = CountingPool(store._pool)  # noqa: SLF001 - the store's seam to its connections
    monkeypatch.setattr(store, "_pool", counting)
    return counting


def in_thread(n: int) -> ConversationRef:
    return ConversationRef("slack", "T1", f"C{n % 20}", f"thread-{n % 7}")


async def test_a_burst_of_claims_shares_statements(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_url) as store:
        taken = count_acquisitions(store, monkeypatch)
        # Each of 200 events claimed twice at once (two batches of 200 rows, on two
        # connections at once): one claim of each wins.
        claims = await asyncio.gather(*(
            store.claim_answer(asked(f"E{n % 200}", in_thread(n)), ROUTE, f"O{n // 200}", LEASE)
            for n in range(400)))
        # In one batch, the first call of a key wins.
        repeated = await asyncio.gather(*(
            store.claim_answer(asked(f"R{n % 100}", in_thread(n)), ROUTE, f"O{n // 100}", LEASE)
            for n in range(200)))

        assert [claims[n] + claims[n + 200] for n in range(200)] == [1] * 200
        assert repeated == [True] * 100 + [False] * 100
        assert taken.taken <= 3, taken.taken
        for n in (0, 99):
            assert (await store.get_answer(("slack", f"R{n}"))).owner == "O0"


async def test_a_burst_of_checks_saves_and_finishes_shares_statements(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_url) as store:
        keys = [("slack", f"E{n}") for n in range(200)]
        await asyncio.gather(*(store.claim_answer(asked(key[1], in_thread(n)), ROUTE, "A", LEASE)
                               for n, key in enumerate(keys)))
        taken = count_acquisitions(store, monkeypatch)

        waits = await asyncio.gather(*(store.earlier_unfinished(key) for key in keys))
        saves = await asyncio.gather(*(
            store.save_delivery(key, owner, Delivery(("m",), 1))
            for key in keys for owner in ("A", "intruder")))
        finishes = await asyncio.gather(*(
            call for key in keys for call in (
                store.save_delivery(key, "A", Delivery(("m", "n"), 2)),
                store.finish_answer(key, "A", "delivered", Delivery(("m", "n", "o"), 3)),
                store.finish_answer(key, "A", "failed", Delivery()))))

        # The first of each conversation (thread) answers; every later one waits.
        assert waits == [n >= 140 for n in range(200)]
        assert saves == [True, False] * 200
        assert finishes == [True, True, False] * 200
        assert taken.taken <= 4 * 4, taken.taken
        record = await store.get_answer(keys[0])
        assert (record.state, record.delivery) == ("delivered", Delivery(("m", "n", "o"), 3))


async def test_a_burst_of_persona_lookups_shares_statements(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_url) as store:
        channels = [ChannelRef("slack", "T1", f"C{n}") for n in range(200)]
        for channel in channels[::3]:
            await store.set_persona(channel, Persona(f"Be {channel.channel}."), "U1", "ada")
        taken = count_acquisitions(store, monkeypatch)

        personas = await asyncio.gather(*(store.get_persona(channel)
                                          for channel in channels + channels[:50]))

        assert personas == [Persona(f"Be C{n % 200}.") if n % 200 % 3 == 0 else None
                            for n in range(250)]
        assert taken.taken <= 3, taken.taken


async def test_a_burst_of_channel_tools_lookups_shares_statements(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_url) as store:
        channels = [ChannelRef("slack", "T1", f"C{n}") for n in range(200)]
        for channel in channels[::3]:
            await store.set_channel_tools(channel, frozenset({channel.channel}), "U1", "ada")
        taken = count_acquisitions(store, monkeypatch)

        tools = await asyncio.gather(*(store.get_channel_tools(channel)
                                       for channel in channels + channels[:50]))

        assert tools == [frozenset({f"C{n % 200}"}) if n % 200 % 3 == 0 else None
                         for n in range(250)]
        assert taken.taken <= 3, taken.taken


async def test_a_burst_of_turns_and_replies_shares_statements(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One batch (200 rows at most): new and shared conversations, several replies of one
    # channel and day; each caller gets its own turn, numbered in call order.
    async with PostgresStore(postgres_url) as store:
        taken = count_acquisitions(store, monkeypatch)
        stored = await asyncio.gather(*(
            store.add_reply(in_thread(n), NewTurn("assistant", f"a{n}", 2), Usage(n, 1), DAY)
            if n % 2 else store.add_turn(in_thread(n), NewTurn("user", f"q{n}", 1))
            for n in range(200)))

        assert taken.taken == 1, taken.taken
        assert [turn.content for turn in stored] == [
            f"a{n}" if n % 2 else f"q{n}" for n in range(200)]
        ids = [turn.id for turn in stored]
        assert len(set(ids)) == 200
        for thread in (0, 1, 139):
            history = await store.recent_turns(in_thread(thread), 10)
            assert [turn.id for turn in history] == [ids[n] for n in range(thread, 200, 140)]
            assert [turn.content for turn in history] == [
                stored[n].content for n in range(thread, 200, 140)]
        channel = in_thread(1).channel_ref
        assert await store.usage(channel, DAY) == UsageTotals(*[Usage(
            sum(n for n in range(200) if n % 2 and n % 20 == 1),
            sum(1 for n in range(200) if n % 2 and n % 20 == 1))] * 2)


async def test_claims_from_two_replicas_at_once_keep_one_winner_and_claim_order(
    replicas: tuple[PostgresStore, PostgresStore], raw: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Both replicas claim every event, in opposite orders, over shared conversations:
    # their batches (one each: 200 rows at most) take the same conversation locks at once.
    events = [f"E{n}" for n in range(200)]
    first, second = replicas
    pools = [count_acquisitions(store, monkeypatch) for store in replicas]
    results = await asyncio.wait_for(asyncio.gather(
        asyncio.gather(*(first.claim_answer(asked(event_id, in_thread(n)), ROUTE, "A", LEASE)
                         for n, event_id in enumerate(events))),
        asyncio.gather(*(second.claim_answer(asked(event_id, in_thread(n)), ROUTE, "B", LEASE)
                         for n, event_id in reversed(list(enumerate(events)))))), 30)

    won_by_first, won_by_second = results[0], results[1][::-1]
    # One statement each: no deadlock made them fall back to one claim at a time.
    assert [pool.taken for pool in pools] == [1, 1]
    assert all(a != b for a, b in zip(won_by_first, won_by_second, strict=True))
    rows = await raw.fetch("SELECT event_id, owner, claim_order FROM answers")
    owners = {row["event_id"]: row["owner"] for row in rows}
    assert owners == {event_id: "A" if won else "B"
                      for event_id, won in zip(events, won_by_first, strict=True)}
    # Within one replica, a conversation's claims are numbered in the order they were made.
    order = {row["event_id"]: row["claim_order"] for row in rows}
    for owner, made in (("A", events), ("B", events[::-1])):
        for conversation in range(140):
            numbers = [order[event_id] for event_id in made
                       if owners[event_id] == owner and int(event_id[1:]) % 140 == conversation]
            assert numbers == sorted(numbers)


# -- atomicity -------------------------------------------------------------------------


async def test_add_reply_is_all_or_nothing(postgres_url: str, raw: asyncpg.Connection) -> None:
    async with PostgresStore(postgres_url) as store:
        await _refuse_inserts(raw, "usage_daily", "usage refused")

        with pytest.raises(StoreError, match="usage refused") as caught:
            await store.add_reply(CONVERSATION, NewTurn("assistant", "x", 1), Usage(1, 1), DAY)

        assert isinstance(caught.value.__cause__, asyncpg.PostgresError)
        assert await store.recent_turns(CONVERSATION, 10) == []


async def test_a_turn_with_images_is_all_or_nothing(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    async with PostgresStore(postgres_url) as store:
        await _refuse_inserts(raw, "turn_images", "images refused")

        with pytest.raises(StoreError, match="images refused"):
            await store.add_turn(CONVERSATION, pictured("look"))

        assert await store.recent_turns(CONVERSATION, 10) == []
        assert (await store.add_turn(CONVERSATION, NewTurn("user", "plain", 1))).images == ()


async def test_set_channel_tools_is_all_or_nothing(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    async with PostgresStore(postgres_url) as store:
        await store.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada")
        await _refuse_inserts(raw, "tools_audit", "audit refused")

        with pytest.raises(StoreError, match="audit refused"):
            await store.set_channel_tools(CHANNEL, None, "U1", "ada")

        assert await store.get_channel_tools(CHANNEL) == frozenset({"time"})


async def test_set_persona_is_all_or_nothing(postgres_url: str, raw: asyncpg.Connection) -> None:
    async with PostgresStore(postgres_url) as store:
        await store.set_persona(CHANNEL, Persona("Be kind."), "U1", "ada")
        await _refuse_inserts(raw, "persona_audit", "audit refused")

        with pytest.raises(StoreError, match="audit refused"):
            await store.set_persona(CHANNEL, Persona("Be terse."), "U1", "ada")

        assert await store.get_persona(CHANNEL) == Persona("Be kind.")


@pytest.mark.parametrize("plans", ["force_custom_plan", "force_generic_plan"])
async def test_recent_turns_reads_a_range_of_its_index(
    postgres_url: str, raw: asyncpg.Connection, plans: str
) -> None:
    # A long conversation beside a short one: neither read may walk the other's turns.
    short = ConversationRef("slack", "T1", "C1", "short")
    async with PostgresStore(postgres_url) as store:
        await store.add_turn(short, NewTurn("user", "x", 1))
        long_id = (await store.add_turn(CONVERSATION, NewTurn("user", "x", 1))).id
    await raw.execute(
        "INSERT INTO turns (conversation_id, role, content, tokens, author_id, author_name,"
        " created_at) SELECT conversation_id, 'user', 'seed', 1, '', '', now()"
        " FROM turns, generate_series(1, 20000) WHERE id = $1", long_id)
    await raw.execute("ANALYZE")
    # As asyncpg runs it: prepared, so the planner may choose a plan for any parameters.
    await raw.execute(f"SET plan_cache_mode = {plans}")

    for conversation in (short, CONVERSATION):
        plan = "\n".join(row[0] for row in await raw.fetch(
            "EXPLAIN " + _RECENT_TURNS, *_key(conversation), 2**63 - 1, 20))

        assert "Index Scan Backward using turns_by_conversation" in plan, plan
        assert "Seq Scan on turns" not in plan and "Sort" not in plan, plan


@pytest.mark.parametrize("plans", ["force_custom_plan", "force_generic_plan"])
async def test_prune_images_reads_ranges_of_its_indexes(
    postgres_url: str, raw: asyncpg.Connection, plans: str
) -> None:
    # A long history with images in many conversations: pruning one reads only its images
    # and its newest turns.
    async with PostgresStore(postgres_url) as store:
        for n in range(3):
            await store.add_turn(CONVERSATION, pictured(str(n)))
            await store.add_turn(ConversationRef("slack", "T1", "C1", f"other-{n}"), pictured("x"))
        long_id = (await store.add_turn(CONVERSATION, NewTurn("user", "x", 1))).id
    await raw.execute(
        "INSERT INTO turns (conversation_id, role, content, tokens, author_id, author_name,"
        " created_at) SELECT conversation_id, 'user', 'seed', 1, '', '', now()"
        " FROM turns, generate_series(1, 20000) WHERE id = $1", long_id)
    await raw.execute(
        "INSERT INTO turn_images SELECT -n, 0, -n, 'x' FROM generate_series(1, 20000) AS n")
    await raw.execute("ANALYZE")
    await raw.execute(f"SET plan_cache_mode = {plans}")

    plan = "\n".join(row[0] for row in await raw.fetch(
        "EXPLAIN " + _PRUNE_IMAGES, *_key(CONVERSATION), 2))

    assert "turn_images_by_conversation on turn_images" in plan, plan
    assert "Index Scan Backward using turns_by_conversation" in plan, plan
    # Each image's turn by its key, never a walk of every turn.
    assert "Index Scan using turns_pkey on turns" in plan and "Join" not in plan, plan
    for table in ("turns", "turn_images"):
        assert f"Seq Scan on {table}" not in plan, plan
    assert "Sort" not in plan, plan


# -- the pool --------------------------------------------------------------------------


@pytest.mark.parametrize("pool_size", [1, 3])
async def test_the_pool_never_holds_more_than_pool_size_connections(
    postgres_url: str, raw: asyncpg.Connection, pool_size: int
) -> None:
    async with open_store(postgres_url, pool_size=pool_size) as store:
        # Claims share statements (see test_a_burst_of_claims_shares_statements); reads
        # of answers each take a connection.
        claims = await asyncio.gather(*(
            store.claim_answer(asked(f"E{n}", ConversationRef("slack", "T1", f"C{n}")), ROUTE,
                               "A", LEASE) for n in range(40)))
        await asyncio.gather(*(store.get_answer(("slack", f"E{n}")) for n in range(40)))
        connections = await raw.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()")

    assert claims == [True] * 40
    assert connections == pool_size  # all of them under a burst, and no more


def test_a_pool_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="pool_size"):
        PostgresStore("postgresql://localhost/db", pool_size=0)


# -- URLs and secrets ------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "postgresql://bot:s3cret@db.internal:5432/chatwright",
    "postgres://bot:s3cret@db.internal/chatwright",
    "postgresql+asyncpg://bot:s3cret@db.internal/chatwright",
    "  postgresql://bot:s3cret@db.internal/chatwright\n",
])
def test_postgres_urls_open_a_postgres_store(url: str) -> None:
    store = open_store(url, pool_size=7)

    assert isinstance(store, PostgresStore)
    assert store.pool_size == 7
    assert "s3cret" not in repr(store) and "s3cret" not in store.url
    assert "bot:***@db.internal" in repr(store)


def test_the_pool_size_defaults_to_the_settings_default() -> None:
    store = open_store("postgresql://db.internal/chatwright")

    assert isinstance(store, PostgresStore) and store.pool_size == 10


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://bot:s3cret@db:5432/chat", "postgresql://bot:***@db:5432/chat"),
    ("postgresql://bot:p@ss/w?rd@db/chat", "postgresql://bot:***@db/chat"),
    ("postgresql://db/chat?user=bot&password=s3cret&sslmode=require",
     "postgresql://db/chat?user=bot&password=***&sslmode=require"),
    ("postgresql://bot@db/chat", "postgresql://bot@db/chat"),
    ("sqlite:///data/chatwright.db", "sqlite:///data/chatwright.db"),
    ("memory://", "memory://"),
])
def test_redacted_url_hides_every_password(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


async def test_an_unreachable_server_is_a_store_error_without_the_password() -> None:
    # Port 1 on the loopback: refused at once.
    store = PostgresStore("postgresql://bot:s3cret@127.0.0.1:1/chatwright", connect_timeout=5)

    with pytest.raises(StoreError) as caught:
        await store.open()
    with pytest.raises(StoreError) as probed:
        await store.probe()

    for error in (caught.value, probed.value):
        assert "s3cret" not in str(error)
        assert "bot:***@127.0.0.1:1" in str(error)
    with pytest.raises(StoreError, match="not open"):
        await store.get_persona(CHANNEL)


async def test_a_driver_message_never_shows_the_password() -> None:
    # asyncpg cannot read this port, and says so quoting it: the password's tail.
    store = PostgresStore("postgresql://bot:abc/def@db.internal/chatwright", connect_timeout=5)

    with pytest.raises(StoreError) as caught:
        await store.open()

    assert "abc" not in str(caught.value) and "def" not in str(caught.value)


def test_other_databases_are_still_refused_plainly() -> None:
    with pytest.raises(ConfigurationError, match="use SQLite or PostgreSQL") as caught:
        open_store("mysql://bot:s3cret@db/chatwright")

    assert "s3cret" not in str(caught.value)


def _key(conversation: ConversationRef) -> tuple[str, str, str, str]:
    return (conversation.platform, conversation.workspace, conversation.channel,
            conversation.thread)


async def _refuse_inserts(raw: asyncpg.Connection, table: str, message: str) -> None:
    await raw.execute(
        f"CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        f" $$ BEGIN RAISE EXCEPTION '{message}'; END $$;"
        f" CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse()")
