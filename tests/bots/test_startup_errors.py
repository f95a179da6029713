"""Start-up errors: one line on stderr saying what to fix, exit code 2, never the chat
user's apology, never a traceback (bots/startup_errors.py, bots/cli.py)."""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bots import cli
from bots.settings import Settings
from bots.startup_errors import startup_error_line
from core.errors import ConfigurationError, StoreError
from tests.bot_process import free_port

ROOT = Path(__file__).resolve().parents[2]
APOLOGY = "Sorry"


def _store_error(cause: BaseException, text: str = "opening the database at /app/data/chatwright.db failed") -> StoreError:
    try:
        raise StoreError(f"{text}: {cause}") from cause
    except StoreError as exc:
        return exc


# --- the line for each kind of error (pure) --------------------------------------------------

def test_database_permission_says_who_may_not_write_and_what_to_set():
    denied = PermissionError(errno.EACCES, "Permission denied", "/app/data")
    line = startup_error_line(_store_error(denied))
    assert line.startswith("database: opening the database at /app/data/chatwright.db failed")
    assert "may not write there" in line and "DATABASE_URL" in line and f"uid {os.geteuid()}" in line
    assert APOLOGY not in line


def test_database_file_sqlite_cannot_open_names_the_setting():
    line = startup_error_line(_store_error(sqlite3.OperationalError("unable to open database file")))
    assert "unable to open database file" in line and "check DATABASE_URL" in line


def test_port_in_use_as_an_os_error_names_the_address_and_the_setting():
    exc = OSError(errno.EADDRINUSE, "error while attempting to bind on address ('0.0.0.0', 3000): address already in use")
    line = startup_error_line(exc)
    assert line.startswith("cannot listen on 0.0.0.0:3000: another process is using it")
    assert "HTTP_PORT" in line


def test_configuration_error_is_printed_as_written_on_one_line_with_secrets_masked():
    exc = ConfigurationError("DATABASE_URL: cannot reach postgresql://bot:hunter2-long-pw@db\n  at start")
    line = startup_error_line(exc, ["hunter2-long-pw"])
    assert line == "DATABASE_URL: cannot reach postgresql://bot:[redacted]@db at start"


def test_cli_prints_an_os_error_at_start_as_one_line(monkeypatch, capsys):
    # A port refused below chatwright's own errors (an OSError) still ends in one line.
    async def refuse(args):
        raise OSError(errno.EADDRINUSE, "error while attempting to bind on address ('127.0.0.1', 3000): in use")

    monkeypatch.setattr("bots.cli_commands.run.run", refuse)
    monkeypatch.chdir(ROOT / "tests")  # no .env here
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("chatwright: cannot listen on 127.0.0.1:3000"), err


def test_cli_prints_every_invalid_setting_on_a_line_of_its_own(monkeypatch, capsys):
    monkeypatch.chdir(ROOT / "tests")
    for name, value in (("HTTP_PORT", "lots"), ("ADMIN_USER_IDS", "U123"), ("CONTEXT_TOKEN_BUDGET", "1")):
        monkeypatch.setenv(name, value)
    assert cli.main(["run"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(line.startswith("chatwright: invalid setting ") for line in lines), lines
    assert any("ADMIN_USER_IDS" in line and "slack:U123" in line for line in lines), lines


def test_cli_prints_a_store_error_as_operator_text_not_the_apology(monkeypatch, capsys):
    async def fail(args):
        raise _store_error(PermissionError(errno.EACCES, "Permission denied", "/data"))

    monkeypatch.setattr("bots.cli_commands.run.run", fail)
    monkeypatch.chdir(ROOT / "tests")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chatwright: database: ") and APOLOGY not in err, err


# --- `chatwright run` in a real process -------------------------------------------------------

def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``chatwright run`` in ``tmp_path`` (no .env), Slack in HTTP mode against a dead port:
    these errors come before any platform is reached."""
    settings = {name.upper() for name in Settings.model_fields}
    inherited = {k: v for k, v in os.environ.items() if k.upper() not in settings}
    base = {
        "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": "xoxb-start-up-test", "SLACK_SIGNING_SECRET": "start-up-secret",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/", "OPENAI_API_KEY": "sk-start-up-test",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", "run"], cwd=tmp_path, env={**inherited, **base, **env},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and APOLOGY not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("chatwright: "), result.stderr
    return last


@pytest.mark.e2e
def test_run_with_an_unusable_database_directory_prints_what_to_fix(tmp_path):
    # A regular file where the directory should be: refused for root too, unlike chmod.
    (tmp_path / "data").write_text("not a directory")
    line = _one_line(_run(tmp_path, DATABASE_URL="sqlite:///data/chatwright.db"))
    assert line.startswith("chatwright: database: ") and "DATABASE_URL" in line


@pytest.mark.e2e
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_run_with_a_read_only_database_directory_prints_what_to_fix(tmp_path):
    (tmp_path / "locked").mkdir(mode=0o555)
    line = _one_line(_run(tmp_path, DATABASE_URL="sqlite:///locked/sub/chatwright.db"))
    assert "may not write there" in line and "DATABASE_URL" in line


@pytest.mark.e2e
def test_run_on_a_port_in_use_prints_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line(_run(tmp_path, HTTP_PORT=str(port), DATABASE_URL="sqlite:///chatwright.db"))
    assert str(port) in line and "HTTP_PORT" in line
