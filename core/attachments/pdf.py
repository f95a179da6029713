"""A PDF's text (pypdf), bounded in pages, characters and time.

pypdf is pure Python, so the reading runs in a thread: the event loop keeps serving
(though it shares the GIL). The bounds:

- pages: at most ``max_pages``, and reading stops once ``max_chars`` are read;
- time: between pages the thread checks the deadline and stops, keeping what it read.
  Inside one page only pypdf's own limits on stream sizes and parsing work hold, so
  ``read_pdf`` stops waiting a grace period after the deadline and answers with the
  pages read so far. A thread cannot be killed: one stuck inside a page is left to
  finish it (pypdf's limits bound that) and then stops at its next check;
- encrypted: opened with the empty password (a PDF that only restricts printing or
  copying), else refused; malformed: refused, whatever pypdf raised.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from dataclasses import dataclass, field

from pypdf import PdfReader

from core.attachments.text import clean
from core.errors import AttachmentRefused

__all__ = ["PdfText", "read_pdf"]

# How long past the deadline ``read_pdf`` still waits for the page being read.
_GRACE_SECONDS = 2.0
_UNREADABLE_PAGE = "[this page could not be read]"


@dataclass(frozen=True, slots=True)
class PdfText:
    text: str  # "--- page 1 ---\n…" for each page read
    page_count: int
    pages_read: int
    timed_out: bool  # reading stopped at the deadline, not at a page or character limit


@dataclass(slots=True)
class _Progress:
    """What the reading thread has done so far; read by ``read_pdf`` when time is up."""

    stop: threading.Event = field(default_factory=threading.Event)
    pages: list[tuple[str, bool]] = field(default_factory=list)  # (its text, any text?)
    page_count: int | None = None
    timed_out: bool = False


async def read_pdf(data: bytes, *, max_chars: int, max_pages: int, seconds: float) -> PdfText:
    """The text of the PDF ``data``; raises ``AttachmentRefused`` if none can be read."""
    progress = _Progress()
    deadline = time.monotonic() + seconds
    reading = asyncio.to_thread(_read, data, progress, max_chars, max_pages, deadline)
    try:
        await asyncio.wait_for(reading, seconds + _GRACE_SECONDS)
    except TimeoutError:
        progress.timed_out = True
    finally:
        progress.stop.set()  # also when cancelled: the thread stops at its next page
    return _result(progress)


def _result(progress: _Progress) -> PdfText:
    pages = list(progress.pages)  # the thread may still append one
    if progress.page_count is None:
        raise AttachmentRefused("it took too long to open")
    if not any(has_text for _, has_text in pages):
        if progress.timed_out:
            raise AttachmentRefused("it took too long to read")
        raise AttachmentRefused("it has no text I can extract (a scanned document?)")
    text = "".join(page for page, _ in pages)
    return PdfText(text, progress.page_count, len(pages), progress.timed_out)


def _read(
    data: bytes, progress: _Progress, max_chars: int, max_pages: int, deadline: float
) -> None:
    try:
        reader = PdfReader(io.BytesIO(data))
        _unlock(reader)
        page_count = progress.page_count = len(reader.pages)
    except AttachmentRefused:
        raise
    except Exception as exc:  # pypdf raises PdfReadError, ValueError, KeyError… for bad files
        raise AttachmentRefused("it is damaged or not really a PDF") from exc
    chars = 0
    for number in range(min(page_count, max_pages)):
        if progress.stop.is_set() or time.monotonic() >= deadline:
            progress.timed_out = True
            return
        if chars >= max_chars:
            return
        text = _page_text(reader, number)
        page = f"--- page {number + 1} ---\n{_UNREADABLE_PAGE if text is None else text}\n"
        progress.pages.append((page, bool(text)))
        chars += len(page)


def _unlock(reader: PdfReader) -> None:
    if not reader.is_encrypted:
        return
    try:
        if reader.decrypt(""):  # PasswordType.NOT_DECRYPTED is 0
            return
    except Exception:  # AES without the cryptography package, a broken encryption dict
        pass
    raise AttachmentRefused("it is protected with a password")


def _page_text(reader: PdfReader, number: int) -> str | None:
    # One damaged page costs that page only (None), not the whole file.
    try:
        return clean(reader.pages[number].extract_text()).strip()
    except Exception:
        return None
