"""Masking secrets in text that may reach a log, ``doctor`` or a console: one rule for all.

A secret of ``MIN_ANYWHERE`` characters or more is masked wherever it appears: that
long, it does not turn up by chance. A shorter one (``OPENAI_API_KEY=x`` for a local
server) is masked only where it stands alone as a token: masked inside words too, every
``x`` of an error text would go ("ma[redacted]_tokens"), and the text would no longer say,
or be recognised as, what went wrong. Either way the secret itself is never printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MASK", "MIN_ANYWHERE", "Redactor"]

MASK = "[redacted]"
MIN_ANYWHERE = 8
# What a key is made of: a short secret next to one of these is part of a longer word.
_WORD = r"[\w-]"


class Redactor:
    """``redactor(text)`` is ``text`` with every secret of ``secrets`` masked."""

    __slots__ = ("_long", "_short")

    def __init__(self, secrets: Iterable[str]) -> None:
        unique = {s for s in secrets if s}
        # Longest first, so that a secret containing another is masked whole.
        self._long = sorted((s for s in unique if len(s) >= MIN_ANYWHERE), key=len, reverse=True)
        short = sorted((s for s in unique if len(s) < MIN_ANYWHERE), key=len, reverse=True)
        alternatives = "|".join(re.escape(s) for s in short)
        self._short = re.compile(rf"(?<!{_WORD})(?:{alternatives})(?!{_WORD})") if short else None

    def __bool__(self) -> bool:
        return bool(self._long) or self._short is not None

    def __call__(self, text: str) -> str:
        for secret in self._long:
            text = text.replace(secret, MASK)
        if self._short is not None:
            text = self._short.sub(MASK, text)
        return text
