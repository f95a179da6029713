"""Token counting: exact with tiktoken when its encoding is cached locally, else an estimate.

tiktoken downloads its encodings on first use. Startup and tests must never need the
network, so we only use tiktoken when the encoding file is already in its cache (the
Docker image fills the cache at build time) and fall back to a conservative estimate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol

__all__ = ["TokenCounter", "EstimatingCounter", "TiktokenCounter", "default_counter"]

log = logging.getLogger(__name__)

_ENCODING = "o200k_base"
_ENCODING_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


class TokenCounter(Protocol):
    def count(self, text: str) -> int: ...


class EstimatingCounter:
    """Over-estimates on purpose: three UTF-8 bytes a token (English averages about four)."""

    __slots__ = ()

    def count(self, text: str) -> int:
        return (len(text.encode("utf-8")) + 2) // 3


class TiktokenCounter:
    __slots__ = ("_encoding",)

    def __init__(self, encoding: object) -> None:
        self._encoding = encoding

    def count(self, text: str) -> int:
        return len(self._encoding.encode(text, disallowed_special=()))  # type: ignore[attr-defined]


def _tiktoken_cache_file() -> Path:
    # Mirrors tiktoken's own cache lookup (tiktoken/load.py): the file is named by the
    # SHA-1 of the encoding's URL inside TIKTOKEN_CACHE_DIR or the temp dir.
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    base = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "data-gym-cache"
    return base / hashlib.sha1(_ENCODING_URL.encode()).hexdigest()


def default_counter() -> TokenCounter:
    """tiktoken if installed and its encoding is cached; the estimate otherwise."""
    if not _tiktoken_cache_file().is_file():
        return EstimatingCounter()
    try:
        import tiktoken

        return TiktokenCounter(tiktoken.get_encoding(_ENCODING))
    except Exception as exc:  # an unreadable cache must not stop the bot
        log.warning("tiktoken unavailable (%s); using estimated token counts", exc)
        return EstimatingCounter()
