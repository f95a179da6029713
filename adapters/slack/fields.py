"""What the fields of a Slack payload must be before the adapter reads them.

A payload with a valid signature may still leave a field out or give it another type
(a list for ``thread_ts``, an object for ``user``, ``null`` for ``text``); read as it is,
that raised deep in the adapter or the store. These checks let the readers say no instead.
"""

from __future__ import annotations

__all__ = ["is_id", "is_optional_id", "is_optional_text"]


def is_id(value: object) -> bool:
    """A Slack id or timestamp ("C0123", "1700000000.000100"): non-empty ASCII text.

    ASCII also keeps a lone surrogate (valid JSON, unstorable) out of conversation keys.
    """
    return isinstance(value, str) and value.isascii() and value != ""


def is_optional_id(value: object) -> bool:
    """Absent (None or "") or an id."""
    return value is None or value == "" or is_id(value)


def is_optional_text(value: object) -> bool:
    """Absent (None) or text of any kind."""
    return value is None or isinstance(value, str)
