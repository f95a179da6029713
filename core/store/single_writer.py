"""``SingleWriterLock``: at most one process at a time may write a SQLite file as its sole writer.

The caching layer (``core/store/cached.py``) is right only while its process is the one
writer of the database: another process's ``/forget`` or persona would never reach its
caches. ``chatwright run`` therefore holds an exclusive advisory lock on a file beside
the database (``chatwright.db.lock``) for as long as its store is open, and a second run
on the same file is refused with one line instead of serving stale answers.

The lock is ``flock``: the kernel drops it when the process ends, however it ends
(``kill -9`` included), so a crashed run never blocks the next start. The lock file is
left in place on release: deleting it would let two processes lock two different files
of the same name. Its content (the holder's pid) is only for the refusal message.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.errors import ConfigurationError, StoreError

__all__ = ["DatabaseInUse", "SingleWriterLock", "lock_path"]

_SUFFIX = ".lock"


class DatabaseInUse(ConfigurationError):
    """Another process holds the database's single-writer lock."""


def lock_path(database: str | os.PathLike[str]) -> Path:
    """The lock file of a database: beside it, with ``.lock`` added to its name.

    Resolved, so that two spellings of one file (relative, absolute, a symlink) share it.
    """
    resolved = Path(database).resolve()
    return resolved.with_name(resolved.name + _SUFFIX)


class SingleWriterLock:
    """``acquire()`` the lock or raise ``DatabaseInUse``; ``release()`` it. Both repeatable."""

    def __init__(self, database: str | os.PathLike[str]) -> None:
        self.database = Path(database).resolve()
        self.path = lock_path(database)
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"SingleWriterLock({os.fspath(self.path)!r})"

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # os.open's descriptors are not inherited by child processes (PEP 446): an MCP
            # server started by the bot must not keep the lock alive after the bot dies.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"opening the lock file {self.path} failed: {exc}") from exc
        try:
            locked = _try_lock(fd)
        except OSError as exc:  # e.g. a file system without locks
            os.close(fd)
            raise StoreError(f"locking {self.path} failed: {exc}") from exc
        if not locked:
            holder = _read_holder(fd)
            os.close(fd)
            raise DatabaseInUse(_refusal(self.database, holder))
        _write_holder(fd)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock


def _refusal(database: Path, holder: int | None) -> str:
    who = "another chatwright run" if holder is None else f"another chatwright run (pid {holder})"
    return (f"{who} is using the database {database}; stop it first, or use PostgreSQL "
            "(DATABASE_URL=postgresql://...) to run several processes on one database")


def _read_holder(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _write_holder(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError:
        pass  # the pid is only a hint for the refusal message; the lock is what counts


if sys.platform == "win32":  # pragma: no cover - no Windows runner here
    import msvcrt

    def _try_lock(fd: int) -> bool:
        # A lock on the first byte; Windows drops it when the process's handles close.
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
