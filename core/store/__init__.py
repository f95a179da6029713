"""Durable storage: the ``Store`` contract, its implementations, and ``open_store``.

``DATABASE_URL`` forms understood:

    sqlite:///relative/path.db     a file, relative to the working directory
    sqlite:////absolute/path.db    a file at an absolute path
    sqlite:///:memory:             a private in-memory SQLite database
    memory://                      the dict-based ``InMemoryStore`` (tests, demos)
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from core.errors import ConfigurationError
from core.store.memory import InMemoryStore
from core.store.protocol import Store
from core.store.sqlite import SQLiteStore

__all__ = ["InMemoryStore", "SQLiteStore", "Store", "open_store"]

# SQLAlchemy spells the same URL with its driver; accept it so a copied URL just works.
_SQLITE_PREFIXES = ("sqlite:///", "sqlite+aiosqlite:///")
_MEMORY_URLS = ("memory://", "memory:")


def open_store(database_url: str) -> Store:
    """The store ``database_url`` names, not yet opened: the caller awaits ``open()``."""
    url = database_url.strip()
    if url in _MEMORY_URLS:
        return InMemoryStore()
    for prefix in _SQLITE_PREFIXES:
        if url.startswith(prefix):
            return SQLiteStore(_sqlite_path(url.removeprefix(prefix)))
    raise ConfigurationError(
        f"DATABASE_URL: unsupported database {_scheme(url)!r}; only SQLite is supported "
        "so far, e.g. sqlite:///data/chatwright.db"
    )


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
