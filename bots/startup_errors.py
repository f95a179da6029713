"""The one line ``chatwright`` prints when a command cannot start, saying what to fix.

An operator reads it, not a chat user: so the error's own text (``str(exc)``), never the
apology ``user_message()`` gives users ("Sorry, I couldn't reach my memory"), never a
traceback, and every secret masked. A database that cannot be opened and a port that
cannot be bound get a hint on what to change.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from collections.abc import Iterable

from core.errors import ChatwrightError, StoreError
from core.redaction import Redactor

__all__ = ["configured_secrets", "startup_error_line"]

_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}
# aiohttp/uvloop/asyncio say "... bind on address ('0.0.0.0', 3000): ...".
_ADDRESS = re.compile(r"\('([^']*)', (\d+)\)")


def startup_error_line(exc: ChatwrightError | OSError, secrets: Iterable[str] = ()) -> str:
    """``exc`` as one line for stderr (without the ``chatwright:`` prefix)."""
    if isinstance(exc, StoreError):
        line = _store_line(exc)
    elif isinstance(exc, ChatwrightError):
        line = str(exc) or exc.user_message()
    else:
        line = _os_line(exc)
    return " ".join(Redactor(secrets)(line).split())  # one line, even for a multi-line text


def configured_secrets() -> list[str]:
    """The secrets of the settings, to mask; none when the settings themselves are invalid
    (that error names settings, not their values)."""
    from bots.settings import load_settings

    try:
        return load_settings().secret_values()
    except Exception:  # noqa: BLE001 - the line is printed either way
        return []


def _store_line(exc: StoreError) -> str:
    cause = _os_cause(exc)
    if cause is not None and cause.errno in _PERMISSION:
        return (f"database: {exc} — {_user()} may not write there: make that directory "
                "writable for it (in Docker: the volume), or set DATABASE_URL to a writable path")
    if cause is not None or isinstance(exc.__cause__, sqlite3.Error):
        return (f"database: {exc} — check DATABASE_URL: its file must lie in a directory "
                f"that exists or can be created, and that {_user()} may write")
    return f"database: {exc} — check DATABASE_URL and that the database is reachable"


def _os_line(exc: OSError) -> str:
    address = _address(exc)
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen on {address}: another process is using it — stop it, or set "
                "HTTP_PORT (METRICS_PORT for /metrics) to a free port")
    if exc.errno == errno.EACCES and address != "its address":
        return (f"cannot listen on {address}: permission denied (ports below 1024 need "
                "privileges) — set HTTP_PORT to e.g. 3000")
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {address}: not an address of this machine — check HTTP_HOST"
    return str(exc) or type(exc).__name__


def _address(exc: OSError) -> str:
    found = _ADDRESS.search(str(exc))
    return f"{found.group(1)}:{found.group(2)}" if found else "its address"


def _os_cause(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc`` (a directory that cannot be made, a read-only file)."""
    seen = exc.__cause__
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__
    return None


def _user() -> str:
    if not hasattr(os, "geteuid"):
        return "this user"
    uid = os.geteuid()
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"
