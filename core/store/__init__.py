"""Durable storage: the ``Store`` contract, its implementations, and ``open_store``.

``DATABASE_URL`` forms understood:

    sqlite:///relative/path.db     a file, relative to the working directory
    sqlite:////absolute/path.db    a file at an absolute path
    sqlite:///:memory:             a private in-memory SQLite database
    memory://                      the dict-based ``InMemoryStore`` (tests, demos)
    postgresql://user:pass@host:5432/db
                                   PostgreSQL (also postgres://, postgresql+asyncpg://),
                                   with asyncpg's options after '?', e.g. sslmode=require

Show a URL only through ``redacted_url``: a server URL may hold a password.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from core.errors import ConfigurationError
from core.store.cached import CachedStore
from core.store.memory import InMemoryStore
from core.store.postgres import PostgresStore
from core.store.protocol import Store
from core.store.single_writer import SingleWriterLock
from core.store.sqlite import SQLiteStore
from core.store.urls import redacted_url

__all__ = [
    "CachedStore", "InMemoryStore", "PostgresStore", "SQLiteStore", "Store", "open_store",
    "redacted_url",
]

# SQLAlchemy spells the same URL with its driver; accept it so a copied URL just works.
_SQLITE_PREFIXES = ("sqlite:///", "sqlite+aiosqlite:///")
_MEMORY_URLS = ("memory://", "memory:")
_POSTGRES_PREFIXES = ("postgresql://", "postgres://", "postgresql+asyncpg://")


def open_store(
    database_url: str, *, single_writer: bool = False, pool_size: int = 10
) -> Store:
    """The store ``database_url`` names, not yet opened: the caller awaits ``open()``.

    ``single_writer``: this process means to be the database's only writer (``chatwright
    run``). On a SQLite file that is then enforced, by a lock held from ``open()`` to
    ``aclose()`` (a second such process is refused with ``DatabaseInUse``), and reads are
    cached (``CachedStore``). Otherwise the store reads the file every time, right
    beside any other process.

    ``pool_size``: how many connections a PostgreSQL store may hold at once. A
    PostgreSQL store never caches (other replicas write the same rows).
    """
    url = database_url.strip()
    if url in _MEMORY_URLS:
        return InMemoryStore()
    for prefix in _SQLITE_PREFIXES:
        if url.startswith(prefix):
            return _sqlite_store(_sqlite_path(url.removeprefix(prefix)), single_writer)
    if url.startswith(_POSTGRES_PREFIXES):
        return PostgresStore(url, pool_size=pool_size)
    raise ConfigurationError(
        f"DATABASE_URL: unsupported database {_scheme(url)!r}; use SQLite or PostgreSQL, "
        "e.g. sqlite:///data/chatwright.db or postgresql://user:password@host:5432/chatwright"
    )


def _sqlite_store(path: str, single_writer: bool) -> Store:
    if not single_writer:
        return SQLiteStore(path)
    # A private in-memory database has no other writer to lock out.
    guard = None if path == ":memory:" else SingleWriterLock(path)
    return CachedStore(SQLiteStore(path), guard=guard)


def _sqlite_path(rest: str) -> str:
    # After "sqlite:///" comes the path itself: "data/x.db", or "/abs/x.db" from "////".
    if "?" in rest:
        raise ConfigurationError(
            "DATABASE_URL: options after '?' are not supported in a SQLite URL; "
            "give only the file path, e.g. sqlite:///data/chatwright.db"
        )
    path = unquote(rest)
    if not path:
        raise ConfigurationError(
            "DATABASE_URL: a SQLite URL needs a file path, e.g. sqlite:///data/chatwright.db"
        )
    return path


def _scheme(url: str) -> str:
    # Only the scheme goes into the message: the rest may hold a password.
    return urlsplit(url).scheme or url.split(":", 1)[0] or "(empty)"
