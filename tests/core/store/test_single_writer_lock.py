"""``SingleWriterLock`` and the stores ``open_store`` gives with ``single_writer=True``.

``flock`` locks belong to an open file, not to a process, so a second lock in this same
process is refused as a second process's would be (the process tests are in
``tests/bots/test_single_writer.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import ConfigurationError, StoreError
from core.store import CachedStore, SQLiteStore, open_store
from core.store.single_writer import DatabaseInUse, SingleWriterLock, lock_path
from core.types import ConversationRef, NewTurn

pytestmark = pytest.mark.skipif(os.name == "nt", reason="flock: POSIX only")

CONVERSATION = ConversationRef("slack", "T1", "C1", "1.0")


def test_the_lock_file_is_beside_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")

    assert lock_path("data/chatwright.db") == tmp_path / "data" / "chatwright.db.lock"
    # Two spellings of one file share one lock.
    assert lock_path("link/x.db") == lock_path(tmp_path / "real" / "x.db")


def test_a_second_holder_is_refused_in_one_line_with_the_way_out(db_path: Path) -> None:
    first, second = SingleWriterLock(db_path), SingleWriterLock(db_path)
    first.acquire()
    try:
        with pytest.raises(DatabaseInUse) as caught:
            second.acquire()
    finally:
        first.release()

    message = str(caught.value)
    assert isinstance(caught.value, ConfigurationError)  # the CLI's one line and exit 2
    assert "\n" not in message
    assert f"another chatwright run (pid {os.getpid()}) is using the database {db_path}" in message
    assert "stop it" in message and "PostgreSQL" in message
    second.acquire()  # refused, it kept nothing: now the lock is free, it gets it
    second.release()


def test_release_lets_the_next_one_in_and_both_calls_repeat(db_path: Path) -> None:
    first = SingleWriterLock(db_path)
    first.acquire()
    first.acquire()  # already held: nothing happens
    first.release()
    first.release()

    again = SingleWriterLock(db_path)
    again.acquire()
    with pytest.raises(DatabaseInUse):
        SingleWriterLock(db_path).acquire()
    again.release()
    # The file stays: deleting it would let two processes lock two different files.
    assert lock_path(db_path).read_text() == f"{os.getpid()}\n"


def test_an_unusable_place_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")

    with pytest.raises(StoreError, match="lock file"):
        SingleWriterLock(tmp_path / "file" / "x.db").acquire()


async def test_a_single_writer_store_is_cached_and_holds_the_lock_while_open(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    store = open_store(url, single_writer=True)
    assert isinstance(store, CachedStore) and isinstance(store._inner, SQLiteStore)

    async with store:
        await store.add_turn(CONVERSATION, NewTurn("user", "mine", 1))
        refused = open_store(url, single_writer=True)
        with pytest.raises(DatabaseInUse, match="another chatwright run"):
            await refused.open()
        # Nothing was touched, and the refused store can be closed as any other.
        await refused.aclose()
        # A plain store (a console, doctor) still shares the file.
        async with open_store(url) as plain:
            assert [t.content for t in await plain.recent_turns(CONVERSATION, 5)] == ["mine"]

    async with open_store(url, single_writer=True) as successor:
        assert [t.content for t in await successor.recent_turns(CONVERSATION, 5)] == ["mine"]


async def test_a_store_that_fails_to_open_lets_go_of_the_lock(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_text("not a database")
    store = open_store(f"sqlite:///{db_path}", single_writer=True)

    with pytest.raises(StoreError):
        await store.open()

    db_path.unlink()
    async with open_store(f"sqlite:///{db_path}", single_writer=True):
        pass


async def test_a_private_in_memory_database_needs_no_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first, second = (open_store("sqlite:///:memory:", single_writer=True) for _ in range(2))

    async with first, second:
        assert isinstance(first, CachedStore)
    assert list(tmp_path.iterdir()) == []
