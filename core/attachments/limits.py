"""How much of the files in one message is read, and how much of them the model gets."""

from __future__ import annotations

from dataclasses import dataclass, fields

from core.errors import ConfigurationError

__all__ = ["AttachmentLimits"]


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    """The bounds ``prepare`` applies. Each must be positive.

    The first three are settings (their names in brackets); the rest are safety bounds
    with defaults meant to be left alone. To give one message less room for text (the
    engine knows what is left of the context), pass ``dataclasses.replace(limits,
    text_budget=…)``.
    """

    # Bytes of one file [ATTACHMENT_MAX_BYTES]. Larger files are named, never read.
    max_bytes: int = 20 * 1024 * 1024
    # Files read in one message [ATTACHMENTS_MAX_PER_MESSAGE]; the rest are named.
    max_per_message: int = 10
    # The long side of an image as sent, in pixels [IMAGE_MAX_PIXELS]. 1568 keeps a
    # screenshot's text legible while a 4:3 image still costs only 4 OpenAI tiles.
    image_max_pixels: int = 1568
    # Characters of text (text files and PDFs together) in one message; the files share
    # it fairly, and a long file is cut with a visible note.
    text_budget: int = 40_000
    # Pixels an image may have (width × height, as its header says): the
    # decompression-bomb bound. 40 M lets an 8K screenshot (33 M) and a 40 MP photo
    # through. Memory peaks near 8 bytes a pixel while a PNG is decoded and converted
    # (320 MB at the bound); a JPEG is decoded at a reduced scale and costs far less.
    max_source_pixels: int = 40_000_000
    # Pages of one PDF whose text is read; reading also stops once the text budget is full.
    pdf_max_pages: int = 200
    # Seconds for reading the PDFs of one message, together: what was read by then is
    # used, and PDFs not started by then are not read.
    pdf_seconds: float = 10.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not value > 0:
                raise ConfigurationError(
                    f"attachment limit {field.name} must be positive, not {value!r}"
                )
