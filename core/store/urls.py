"""Database URLs as they may be shown: in errors, logs, reprs and ``chatwright doctor``.

A server URL may hold a password, in its user part (``user:secret@host``) or as an
option (``?password=secret``). Nothing chatwright prints shows it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["redacted_url", "url_passwords"]

HIDDEN = "***"
_PASSWORD_OPTION = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)
_HIDDEN_OPTION = rf"\g<1>{HIDDEN}"
_DELIMITERS = re.compile(r"[/?#@:]")


def redacted_url(url: str) -> str:
    """``url`` with every password in it replaced by ``***``.

    It errs on the side of hiding: the user part is taken to end at the *last* ``@``
    (a password may hold an unescaped ``@``, ``/`` or ``?``), so an ``@`` further on may
    hide more than the password, never less.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return _PASSWORD_OPTION.sub(_HIDDEN_OPTION, url)
    userinfo, at, host_and_rest = rest.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        rest = f"{user}:{HIDDEN}@{host_and_rest}"
    return f"{scheme}://{_PASSWORD_OPTION.sub(_HIDDEN_OPTION, rest)}"


def url_passwords(url: str) -> set[str]:
    """Every text in ``url`` that a driver might take for the password, as written and
    unescaped: what must be scrubbed from a driver's error message before showing it."""
    found: set[str] = set()
    _, separator, rest = url.partition("://")
    if separator:
        netloc = rest.split("/", 1)[0].split("?", 1)[0]
        # Drivers split the user part at the first "@" of the host part; we also try the
        # last "@" of the whole URL, as ``redacted_url`` does.
        for userinfo in (netloc.partition("@")[0] if "@" in netloc else "",
                         rest.rpartition("@")[0]):
            if ":" in userinfo:
                found.add(userinfo.split(":", 1)[1])
    found.update(match.group(2) for match in _PASSWORD_OPTION.finditer(url))
    found |= {unquote(password) for password in found}
    # A password with an unescaped "/", "?", "#", "@" or ":" is read by drivers in
    # pieces (as a port, a path...), and a piece may be quoted alone.
    found |= {piece for password in found for piece in _DELIMITERS.split(password)}
    found.discard("")
    return found
