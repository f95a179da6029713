"""Files people paste, turned into what the model receives. Platform-neutral.

The engine calls ``fetch_and_prepare(message.files, source, limits, vision=…)``: each
file is fetched through the adapter's ``FileSource`` (``source.py``) just before it is
read. Called directly, an adapter downloads each file (at most ``limits.max_bytes``; past that it may pass no
bytes and the platform's ``declared_size``) and calls, once per message::

    prepared = await prepare(
        [IncomingFile(name, declared_mime_type, data), …], limits, vision=model_can_see
    )
    prepared.content_parts()  # OpenAI content parts, one per file, in order:
                              #   {"type": "image_url", "image_url": {"url": "data:…"}}
                              #   {"type": "text", "text": "[file: notes.md, …]\\n```…```"}
    prepared.image_tokens     # the images' token estimate (OpenAI's tile formula);
                              # text parts are counted by the engine's token counter
    prepared.notices          # at most one Notice per NoticeKind, to show the user once

``prepare`` never raises for any bytes (only ``CancelledError`` passes through). Each
file becomes one part (``PreparedFiles.parts``):

- ``ImagePart``: PNG, JPEG, GIF or WebP, by content; downscaled to ``image_max_pixels``
  on the long side, re-encoded without metadata; its data URL, size, SHA-256 and tokens.
  With ``vision=False`` a ``FileNote`` "[image: name, W×H]" instead, and a notice.
- ``TextPart``: text by content (UTF-8, UTF-16/32 with BOM, Windows-1252), or a PDF's
  text (pypdf): a "[file: …]" line and a fenced block. The files of a message share
  ``text_budget`` characters fairly; a cut file ends with "[… truncated: N of M
  characters shown]" and the user is told.
- ``FileNote``: anything else, named "[file: name, type, size — not readable]", with the
  reason when it was refused (over ``max_bytes``, a decompression bomb, a damaged or
  encrypted PDF, too slow to read); files past ``max_per_message`` are named too.

The modules, one job each: ``sniff`` (what the bytes are), ``images`` (Pillow, bounded),
``image_tokens`` (the tile formula), ``pdf`` (pypdf, bounded in pages and time),
``text`` (clean, cut, fence), ``budget`` (sharing the text budget), ``notes`` (the words
for model and user), ``limits``, ``types``, ``wire`` (content part shapes), ``source``
(the ``FileSource`` protocol), ``prepare``.
"""

from __future__ import annotations

from core.attachments.image_tokens import image_tokens
from core.attachments.limits import AttachmentLimits
from core.attachments.prepare import fetch_and_prepare, prepare
from core.attachments.source import FileSource
from core.attachments.types import (
    FileNote,
    ImagePart,
    IncomingFile,
    Notice,
    NoticeKind,
    Prepared,
    PreparedFiles,
    TextPart,
)
from core.attachments.wire import ContentPart, data_url

__all__ = [
    "AttachmentLimits",
    "ContentPart",
    "FileNote",
    "FileSource",
    "ImagePart",
    "IncomingFile",
    "Notice",
    "NoticeKind",
    "Prepared",
    "PreparedFiles",
    "TextPart",
    "data_url",
    "fetch_and_prepare",
    "image_tokens",
    "prepare",
]
