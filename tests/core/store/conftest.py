"""Fixtures of the SQLite store tests: a real file in ``tmp_path``, and a second connection.

``store`` is the plain ``SQLiteStore`` (every read goes to the file); ``cached`` is the
configuration ``chatwright run`` uses, ``CachedStore`` around it (without the lock, which
has tests of its own).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.store import CachedStore, SQLiteStore

RawConnect = Callable[[], sqlite3.Connection]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "chatwright.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(db_path) as opened:
        yield opened


@pytest.fixture
async def cached(db_path: Path) -> AsyncIterator[CachedStore]:
    async with CachedStore(SQLiteStore(db_path)) as opened:
        yield opened


@pytest.fixture
def raw(db_path: Path) -> Iterator[Callable[[], sqlite3.Connection]]:
    """Opens other connections to the same file, as a second process would have."""
    opened: list[sqlite3.Connection] = []

    def connect() -> sqlite3.Connection:
        opened.append(sqlite3.connect(db_path, isolation_level=None))
        return opened[-1]

    yield connect
    for connection in opened:
        connection.close()


@pytest.fixture
def trips(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    return count_trips(store, monkeypatch)


@pytest.fixture
def cached_trips(cached: CachedStore, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    return count_trips(cached, monkeypatch)


def count_trips(store: SQLiteStore | CachedStore, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The calls the store sends to aiosqlite's worker thread from now on, one per trip.

    ``Connection._execute`` is aiosqlite's single entry to that thread (the benchmark
    counts trips the same way).
    """
    plain = store._inner if isinstance(store, CachedStore) else store
    assert isinstance(plain, SQLiteStore) and plain._db is not None
    sent: list[object] = []
    db = plain._db
    execute = db._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(fn)
        return await execute(fn, *args, **kwargs)

    monkeypatch.setattr(db, "_execute", counted)
    return sent
