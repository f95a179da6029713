"""``open_store``: which store each ``DATABASE_URL`` names."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigurationError, StoreError
from core.store import InMemoryStore, SQLiteStore, open_store
from core.types import ConversationRef, NewTurn

CONVERSATION = ConversationRef("console", "", "local")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/chatwright.db", "data/chatwright.db"),
        ("sqlite:///chatwright.db", "chatwright.db"),
        ("sqlite:////var/lib/chatwright/bot.db", "/var/lib/chatwright/bot.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite+aiosqlite:///data/x.db", "data/x.db"),
        ("sqlite:///my%20data/x.db", "my data/x.db"),
        ("  sqlite:///data/x.db\n", "data/x.db"),
    ],
)
def test_sqlite_urls(url: str, path: str) -> None:
    store = open_store(url)

    assert isinstance(store, SQLiteStore)
    assert store.path == path


@pytest.mark.parametrize("url", ["memory://", "memory:"])
def test_memory_urls(url: str) -> None:
    assert isinstance(open_store(url), InMemoryStore)


@pytest.mark.parametrize(
    "url",
    [
        # PostgreSQL URLs open a PostgresStore (tests/core/store/test_postgres.py).
        "mysql://bot:s3cret@db/chatwright",
        "",
    ],
)
def test_other_databases_are_a_one_line_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_store(url)

    message = str(caught.value)
    assert "use SQLite or PostgreSQL" in message
    assert "s3cret" not in message
    assert "\n" not in message


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///x.db?mode=ro"])
def test_incomplete_sqlite_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        open_store(url)


async def test_the_store_comes_back_unopened() -> None:
    store = open_store("sqlite:///:memory:")

    with pytest.raises(StoreError, match="not open"):
        await store.recent_turns(CONVERSATION, 1)


async def test_a_relative_path_is_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///data/chatwright.db")

    await store.open()
    await store.add_turn(CONVERSATION, NewTurn("user", "hi", 1))
    await store.aclose()

    assert (tmp_path / "data" / "chatwright.db").is_file()


async def test_an_in_memory_sqlite_store_works() -> None:
    store = open_store("sqlite:///:memory:")
    await store.open()

    await store.add_turn(CONVERSATION, NewTurn("user", "hi", 1))

    assert [t.content for t in await store.recent_turns(CONVERSATION, 5)] == ["hi"]
    await store.aclose()
