"""Fixtures for every test package: a real PostgreSQL (see tests/postgres.py).

``postgres_url`` is a fresh, empty database for the test that asks for it, on a server
started once per session (only if some test asks). End-to-end tests hand the same URL to
several bot processes, as replicas share one database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.postgres import TestServer, start_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TestServer]:
    try:
        server = start_server()
    except RuntimeError as exc:
        unavailable = str(exc)
    else:
        yield server
        server.stop()
        return
    # Fail, never skip: each test that needs PostgreSQL reports this message.
    pytest.fail(unavailable, pytrace=False)


@pytest.fixture
async def postgres_url(postgres_server: TestServer) -> AsyncIterator[str]:
    url = await postgres_server.create_database()
    yield url
    await postgres_server.drop_database(url)
