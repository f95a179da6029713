"""The values going into ``prepare`` (files) and coming out (parts for the model, notices)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from core.attachments.wire import ContentPart, ImageContentPart, TextContentPart
from core.types import ImageRef

__all__ = [
    "IncomingFile",
    "ImagePart",
    "TextPart",
    "FileNote",
    "Prepared",
    "NoticeKind",
    "Notice",
    "PreparedFiles",
]


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A file as an adapter downloaded it.

    ``mime_type`` is what the platform declared ("" if nothing); it is never trusted,
    the bytes decide. ``declared_size`` is for a file that was not (fully) downloaded,
    e.g. because the platform said it is over ``max_bytes``: it is then named with that
    size and not read.
    """

    name: str
    mime_type: str
    data: bytes
    declared_size: int | None = None

    @property
    def size(self) -> int:
        return max(len(self.data), self.declared_size or 0)


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image the model sees: re-encoded, downscaled and without metadata."""

    name: str
    mime_type: str  # "image/png" or "image/jpeg"
    data_url: str  # "data:image/png;base64,…"
    width: int
    height: int
    size: int  # bytes of the encoded image
    sha256: str  # hex digest of the encoded image: the bytes the model sees
    tokens: int  # OpenAI's tile estimate at detail "high"
    data: bytes = field(default=b"", repr=False, compare=False)  # the encoded image

    def content_part(self) -> ImageContentPart:
        return {"type": "image_url", "image_url": {"url": self.data_url}}

    def ref(self) -> ImageRef:
        """The durable reference a stored turn keeps of it."""
        return ImageRef(self.name, self.mime_type, self.width, self.height, self.size,
                        self.sha256, self.tokens)


@dataclass(frozen=True, slots=True)
class TextPart:
    """A text file or a PDF's text: a "[file: …]" line and a fenced block, maybe cut."""

    name: str
    text: str  # what the model reads
    shown_chars: int  # characters of the file's text in ``text``
    total_chars: int  # characters of text that were extracted
    truncated: bool  # the model saw less than the whole file

    def content_part(self) -> TextContentPart:
        return {"type": "text", "text": self.text}


@dataclass(frozen=True, slots=True)
class FileNote:
    """A file named to the model but not shown: "[file: x.zip, application/zip, 3 MiB — …]"."""

    name: str
    text: str

    def content_part(self) -> TextContentPart:
        return {"type": "text", "text": self.text}


Prepared = ImagePart | TextPart | FileNote


class NoticeKind(StrEnum):
    TOO_MANY = "too_many"  # past ATTACHMENTS_MAX_PER_MESSAGE
    TOO_LARGE = "too_large"  # over ATTACHMENT_MAX_BYTES
    NOT_READABLE = "not_readable"  # a zip, a video, unknown binary
    REFUSED = "refused"  # a bomb, a damaged or encrypted file, too slow to read
    NO_VISION = "no_vision"  # an image, and a model that can't see
    TRUNCATED = "truncated"  # a file longer than the text budget


@dataclass(frozen=True, slots=True)
class Notice:
    """A short text for the user about their files; at most one of each kind a message."""

    kind: NoticeKind
    text: str


@dataclass(frozen=True, slots=True)
class PreparedFiles:
    """What ``prepare`` makes of one message's files: one part a file, in their order."""

    parts: tuple[Prepared, ...] = ()
    notices: tuple[Notice, ...] = ()

    @property
    def image_tokens(self) -> int:
        """The images' token estimate; text parts are counted by the caller's counter."""
        return sum(part.tokens for part in self.parts if isinstance(part, ImagePart))

    def content_parts(self) -> list[ContentPart]:
        return [part.content_part() for part in self.parts]
