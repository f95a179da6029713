"""Text from the platforms made safe to store and send: no lone surrogates, no NULs.

JSON may escape half of a UTF-16 surrogate pair on its own (``"\\ud800"``), and Python
decodes it into a ``str`` that cannot be encoded as UTF-8: the store, the token counter
and the chat client then fail on it, and the question is lost. Replaced by U+FFFD, the
rest of the text is still answered. PostgreSQL's text type cannot hold a NUL character
(``"\u0000"`` is valid JSON too): it is replaced the same way.
"""

from __future__ import annotations

__all__ = ["scrub"]


def scrub(text: str) -> str:
    """``text`` with each lone surrogate and NUL replaced by U+FFFD (a split pair rejoined).

    Text without any is returned as it is, the same object: the usual case costs a
    search for NUL and an ASCII check (constant time in CPython), or one UTF-8 encoding
    for other text.
    """
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # UTF-16 pairs a high and a low half that stand side by side back into one
        # character, and its decoder replaces each half left alone.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
