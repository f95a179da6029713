"""What a file is, decided by its bytes: never by its name or the type it claims.

Known binary formats are told by their magic bytes. Anything else is text if it decodes
(UTF-8, UTF-16/32 with a byte-order mark, or Windows-1252 as the legacy fallback) with
at most a small share of control characters; otherwise it is unknown binary.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Kind", "Sniffed", "sniff", "IMAGE_FORMATS"]

Kind = Literal["image", "pdf", "text", "other"]

# The image formats that are decoded and sent (the ones OpenAI accepts), by MIME type,
# with the name Pillow gives the format.
IMAGE_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}

# Text is judged by this much of its start: enough for any real header, cheap for 20 MB.
_SNIFF_BYTES = 64 * 1024

# Control characters that do not occur in text. Tab, newlines, form feed and ESC (the
# colours in a log) do; so the share of the others tells text from binary.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
_MAX_CONTROL_SHARE = 0.01

# (offset, magic, MIME type). Order matters only where one magic starts another.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),
    (0, b"PK\x07\x08", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"\xfd7zXZ\x00", "application/x-xz"),
    (0, b"\x28\xb5\x2f\xfd", "application/zstd"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"\x7fELF", "application/x-executable"),
    (0, b"SQLite format 3\x00", "application/vnd.sqlite3"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # old .doc/.xls
    (257, b"ustar", "application/x-tar"),
)
_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
_FTYP = {
    b"avif": "image/avif",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM starts it
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: Kind
    mime_type: str  # what the bytes are; "application/octet-stream" when unknown
    encoding: str = ""  # for text: the codec to decode it with


def sniff(data: bytes) -> Sniffed:
    """The kind of ``data``, by its content."""
    mime = _magic(data)
    if mime is not None:
        return Sniffed(_kind(mime), mime)
    encoding = _text_encoding(data)
    if encoding is not None:
        return Sniffed("text", "text/plain", encoding)
    # PDF readers accept up to 1 KiB of junk before the header; checked after text, so
    # a note that merely mentions "%PDF-" stays text.
    if b"%PDF-" in data[:1024]:
        return Sniffed("pdf", "application/pdf")
    return Sniffed("other", "application/octet-stream")


def _magic(data: bytes) -> str | None:
    for offset, magic, mime in _MAGIC:
        if data.startswith(magic, offset):
            return mime
    if data.startswith(b"RIFF"):
        return _RIFF.get(data[8:12])
    if data[4:8] == b"ftyp":
        return _FTYP.get(data[8:12], "video/mp4")
    return None


def _kind(mime: str) -> Kind:
    if mime in IMAGE_FORMATS:
        return "image"
    return "pdf" if mime == "application/pdf" else "other"


def _text_encoding(data: bytes) -> str | None:
    head = data[:_SNIFF_BYTES]
    whole = len(data) <= _SNIFF_BYTES
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec if _is_text(_decoded(head, codec, whole)) else None
    # UTF-8 first: a file that decodes as UTF-8 is almost surely UTF-8. Windows-1252
    # decodes most bytes, so it is only the fallback (old CSV exports, logs); bytes that
    # decode as UTF-8 but to control characters are binary, not Windows-1252.
    for codec in ("utf-8", "cp1252"):
        text = _decoded(head, codec, whole)
        if text is not None:
            return codec if _is_text(text) else None
    return None


def _decoded(head: bytes, codec: str, whole: bool) -> str | None:
    # Incremental, so a character cut at the end of the sniffed head is not an error.
    try:
        return codecs.getincrementaldecoder(codec)().decode(head, final=whole)
    except UnicodeDecodeError:
        return None


def _is_text(text: str | None) -> bool:
    if text is None:
        return False
    controls = len(text) - len(_CONTROL.sub("", text))
    return controls <= len(text) * _MAX_CONTROL_SHARE
