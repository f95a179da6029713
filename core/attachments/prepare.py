"""``prepare``: one message's files → the parts the model receives and notices for the user."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.attachments.budget import share
from core.attachments.image_tokens import image_tokens
from core.attachments.limits import AttachmentLimits
from core.attachments.notes import (
    display_name,
    file_header,
    human_size,
    image_note,
    left_out_note,
    notices,
    unreadable_note,
)
from core.attachments.sniff import IMAGE_FORMATS, Sniffed, sniff
from core.attachments.text import cut, decode, fence, truncation_note
from core.attachments.types import (
    FileNote,
    ImagePart,
    IncomingFile,
    NoticeKind,
    Prepared,
    PreparedFiles,
    TextPart,
)
from core.attachments.source import FileSource
from core.attachments.wire import data_url
from core.errors import AttachmentRefused
from core.types import FileRef

if TYPE_CHECKING:
    from core.attachments.pdf import PdfText

__all__ = ["prepare", "fetch_and_prepare"]

log = logging.getLogger(__name__)

_DEFAULT_LIMITS = AttachmentLimits()


async def prepare(
    files: Sequence[IncomingFile], limits: AttachmentLimits = _DEFAULT_LIMITS, *, vision: bool
) -> PreparedFiles:
    """What the model receives for ``files``, one part each in their order, and notices.

    Never raises for any file: what cannot be read becomes a note to the model and a
    notice for the user. Files are read one after another, so a message holds at most
    one decoded image in memory. Decoding runs in threads; the event loop never blocks.
    """
    reader = _Reader(limits, vision)
    readings = [await reader.read(file) for file in files[: limits.max_per_message]]
    return reader.finish(readings, [file.name for file in files[limits.max_per_message :]])


async def fetch_and_prepare(
    refs: Sequence[FileRef], source: FileSource, limits: AttachmentLimits = _DEFAULT_LIMITS,
    *, vision: bool,
) -> PreparedFiles:
    """``prepare`` for files still on their platform: each is fetched from ``source``
    just before it is read and dropped after, so a message holds one file's raw bytes at
    a time. A file the platform refuses becomes a note and a notice, as a bad file does.
    """
    reader = _Reader(limits, vision)
    readings = [await reader.fetch_and_read(ref, source) for ref in refs[: limits.max_per_message]]
    return reader.finish(readings, [ref.name for ref in refs[limits.max_per_message :]])


@dataclass(frozen=True, slots=True)
class _Text:
    """A file's text waiting for its share of the message's text budget."""

    name: str
    header: str
    body: str  # at most the whole budget: no file can be shown more
    total: int  # characters extracted
    unread: str  # what was not even extracted ("pages 1–12 of 40 read"), or ""


_Reading = ImagePart | FileNote | _Text


class _Reader:
    """Reads the files of one message, remembering what the user must be told."""

    __slots__ = ("_limits", "_vision", "_pdf_deadline", "events")

    def __init__(self, limits: AttachmentLimits, vision: bool) -> None:
        self._limits = limits
        self._vision = vision
        self._pdf_deadline: float | None = None  # set when the first PDF is read
        self.events: list[tuple[NoticeKind, str]] = []

    async def fetch_and_read(self, ref: FileRef, source: FileSource) -> _Reading:
        try:
            file = await source.fetch(ref, self._limits.max_bytes)
        except AttachmentRefused as exc:
            reason = exc.reason
        except Exception:  # a bug in a source: the user still gets an answer about the rest
            log.exception("fetching the file %r failed", display_name(ref.name))
            reason = "something went wrong fetching it"
        else:
            return await self.read(file)
        name = display_name(ref.name)
        log.info("file %r not fetched: %s", name, reason)
        self.events.append((NoticeKind.REFUSED, f"{name} ({reason})"))
        mime = ref.mime_type or "application/octet-stream"
        return FileNote(name, unreadable_note(name, mime, ref.size, reason))

    async def read(self, file: IncomingFile) -> _Reading:
        name = display_name(file.name)
        # Only the first 64 KiB are looked at; cheap enough for the event loop.
        sniffed = sniff(file.data)
        try:
            return await self._read(file, name, sniffed)
        except AttachmentRefused as exc:
            log.info("file %r not read: %s (%r)", name, exc.reason, exc.__cause__)
            reason = exc.reason
        except Exception:  # a bug: the user still gets an answer about the rest
            log.exception("reading the file %r failed", name)
            reason = "something went wrong reading it"
        self.events.append((NoticeKind.REFUSED, f"{name} ({reason})"))
        return FileNote(name, unreadable_note(name, sniffed.mime_type, file.size, reason))

    async def _read(self, file: IncomingFile, name: str, sniffed: Sniffed) -> _Reading:
        if file.size > self._limits.max_bytes:
            return self._too_large(file, name, sniffed)
        if sniffed.kind == "image":
            return await self._image(file, name, IMAGE_FORMATS[sniffed.mime_type])
        if sniffed.kind == "pdf":
            return self._pdf_text(name, await self._read_pdf(file.data))
        if sniffed.kind == "text":
            return await self._text(file, name, sniffed.encoding)
        self.events.append((NoticeKind.NOT_READABLE, name))
        return FileNote(name, unreadable_note(name, sniffed.mime_type, file.size))

    def _too_large(self, file: IncomingFile, name: str, sniffed: Sniffed) -> FileNote:
        self.events.append((NoticeKind.TOO_LARGE, name))
        # Without the bytes (not downloaded) only the platform's word is left.
        mime = sniffed.mime_type if file.data else file.mime_type or "application/octet-stream"
        reason = f"over the limit of {human_size(self._limits.max_bytes)}"
        return FileNote(name, unreadable_note(name, mime, file.size, reason))

    async def _image(self, file: IncomingFile, name: str, pil_format: str) -> ImagePart | FileNote:
        if not self._vision:
            from core.attachments.images import image_size  # see _image_part

            width, height = await asyncio.to_thread(image_size, file.data, pil_format)
            self.events.append((NoticeKind.NO_VISION, name))
            return FileNote(name, image_note(name, width, height))
        return await asyncio.to_thread(_image_part, name, file.data, pil_format, self._limits)

    async def _read_pdf(self, data: bytes) -> PdfText:
        # One time bound for all the PDFs of a message, so ten of them cannot take ten times.
        if self._pdf_deadline is None:
            self._pdf_deadline = time.monotonic() + self._limits.pdf_seconds
        seconds = self._pdf_deadline - time.monotonic()
        if seconds <= 0:
            raise AttachmentRefused("the time for reading this message's PDFs ran out")
        limits = self._limits
        from core.attachments.pdf import read_pdf  # see _image_part

        return await read_pdf(
            data, max_chars=limits.text_budget, max_pages=limits.pdf_max_pages, seconds=seconds
        )

    def _pdf_text(self, name: str, pdf: PdfText) -> _Text:
        pages = f"{pdf.page_count} page{'s' if pdf.page_count != 1 else ''}"
        unread = ""
        if pdf.pages_read < pdf.page_count:
            unread = f"pages 1–{pdf.pages_read} of {pdf.page_count} read"
            unread += "; reading took too long" if pdf.timed_out else ""
        header = file_header(name, f"PDF, {pages}")
        return _Text(name, header, pdf.text[: self._limits.text_budget], len(pdf.text), unread)

    async def _text(self, file: IncomingFile, name: str, encoding: str) -> _Text:
        # Decoding and cleaning 20 MB takes a few hundred milliseconds: not on the loop.
        text = await asyncio.to_thread(decode, file.data, encoding)
        header = file_header(name, f"text, {human_size(file.size)}")
        return _Text(name, header, text[: self._limits.text_budget], len(text), "")

    def finish(self, readings: list[_Reading], left_out: list[str]) -> PreparedFiles:
        """The parts of the files read, then notes for those past the limit; the notices."""
        parts = self.fit(readings) + tuple(self.left_out(name) for name in left_out)
        return PreparedFiles(parts, notices(self.events, self._limits))

    def fit(self, readings: list[_Reading]) -> tuple[Prepared, ...]:
        """The readings as parts, the texts cut to their fair share of the budget."""
        lengths = [len(reading.body) for reading in readings if isinstance(reading, _Text)]
        allowed = iter(share(lengths, self._limits.text_budget))
        return tuple(
            self._fitted(reading, next(allowed)) if isinstance(reading, _Text) else reading
            for reading in readings
        )

    def _fitted(self, text: _Text, allowed: int) -> TextPart:
        body = cut(text.body, allowed)
        truncated = len(body) < text.total or bool(text.unread)
        block = f"{text.header}\n{fence(body)}"
        if truncated:
            self.events.append((NoticeKind.TRUNCATED, text.name))
            block += "\n" + truncation_note(len(body), text.total, also=text.unread)
        return TextPart(text.name, block, len(body), text.total, truncated)

    def left_out(self, file_name: str) -> FileNote:
        name = display_name(file_name)
        self.events.append((NoticeKind.TOO_MANY, name))
        return FileNote(name, left_out_note(name, self._limits.max_per_message))


def _image_part(name: str, data: bytes, pil_format: str, limits: AttachmentLimits) -> ImagePart:
    # Runs in a thread: decoding, hashing and base64 all take CPU time.
    # Pillow (and pypdf) are imported by the first file that needs them: a bot that is
    # never sent one does without their 11 MiB, and without their ~10,000 objects, which
    # every full pass of the cycle collector walks (a third slower engine in
    # bench/core_bench.py when imported up front).
    from core.attachments.images import encode_image

    image = encode_image(
        data, pil_format, max_side=limits.image_max_pixels, max_pixels=limits.max_source_pixels
    )
    return ImagePart(
        name=name,
        mime_type=image.mime_type,
        data_url=data_url(image.mime_type, image.data),
        width=image.width,
        height=image.height,
        size=len(image.data),
        sha256=hashlib.sha256(image.data).hexdigest(),
        tokens=image_tokens(image.width, image.height),
        data=image.data,
    )
