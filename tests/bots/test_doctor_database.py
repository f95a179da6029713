"""``chatwright doctor`` on PostgreSQL: the connection and the schema version, run as a user
runs it; never the password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from core.store import PostgresStore
from core.store.postgres_migrations import SCHEMA_VERSION
from tests.bots.test_cli_e2e import api, chatwright, env_for  # noqa: F401 - api is a fixture

pytestmark = pytest.mark.e2e


def with_password(url: str) -> tuple[str, str]:
    """``url`` with a password in it (the test server trusts local users, so any will
    do), and that password."""
    parts = urlsplit(url)
    if parts.password:
        return url, parts.password
    user = parts.username or "postgres"
    return urlunsplit(parts._replace(netloc=f"{user}:s3cret-pw@{parts.netloc.rpartition('@')[2]}")), "s3cret-pw"


def database_line(out: str) -> str:
    [line] = [line for line in out.splitlines() if line.startswith("[") and " database:" in line]
    return line


async def test_doctor_reports_the_schema_version_and_hides_the_password(tmp_path, api, postgres_url):
    url, password = with_password(postgres_url)
    env = env_for(tmp_path, api, DATABASE_URL=url)

    empty = await chatwright(tmp_path, env, "doctor")
    async with PostgresStore(url):
        pass
    current = await chatwright(tmp_path, env, "doctor")
    connection = await asyncpg.connect(url)
    await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", SCHEMA_VERSION + 1)
    await connection.close()
    newer = await chatwright(tmp_path, env, "doctor")

    assert empty.code == 0 and current.code == 0 and newer.code == 1
    assert database_line(empty.out).startswith("[ ok ] database: reached PostgreSQL")
    assert f"schema version 0 will be migrated to {SCHEMA_VERSION} at start" in empty.out
    assert f"schema version {SCHEMA_VERSION} (current)" in database_line(current.out)
    assert database_line(newer.out).startswith("[FAIL] database")
    assert f"{SCHEMA_VERSION + 1} is newer than the {SCHEMA_VERSION}" in newer.out
    for result in (empty, current, newer):
        assert ":***@" in database_line(result.out)
        assert password not in result.out + result.err


async def test_doctor_fails_plainly_when_postgres_is_unreachable(tmp_path, api):
    env = env_for(tmp_path, api, DATABASE_URL="postgresql://bot:s3cret-pw@127.0.0.1:1/chatwright")

    result = await chatwright(tmp_path, env, "doctor")

    assert result.code == 1
    line = database_line(result.out)
    assert line.startswith("[FAIL] database") and "check DATABASE_URL" in line
    assert "postgresql://bot:***@127.0.0.1:1/chatwright" in line
    assert "s3cret-pw" not in result.out + result.err and "Traceback" not in result.out + result.err
