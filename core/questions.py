"""A question as the model reads it and as memory keeps it: its text, its files' text,
its images.

A message without files is its text. With files, the stored user turn's ``content`` is
the text followed by one block per file: a text file's or PDF's fenced text, a note
naming a file that could not be read, and "[image: name, W×H]" for each image. So the
turn reads sensibly to the model however long ago it was, even once its images are no
longer shown; while they are, the images go with it as image parts.

In a shared conversation the content begins with its speaker's name ("Ada: …",
``core/speakers.py``); in a DM it does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.attachments import ImagePart, Prepared, PreparedFiles, data_url
from core.attachments.notes import image_note
from core.speakers import said
from core.tokens import TokenCounter
from core.types import ChatImage, ChatMessage, ImageRef, IncomingMessage, NewTurn, Turn

__all__ = ["Question", "ImageBytes", "files_content", "history_message"]

# The stored bytes of images, by (turn id, position in ``Turn.images``).
ImageBytes = Mapping[tuple[int, int], bytes]


@dataclass(frozen=True, slots=True)
class Question:
    """What the model is asked now, and what the user is told before the answer."""

    content: str
    images: tuple[ImageRef, ...] = ()
    image_data: tuple[bytes, ...] = ()
    # The images sent with it now (none when the model can't see, or their bytes are gone).
    shown: tuple[ChatImage, ...] = ()
    # Notices about the files ("I couldn't read …"), shown to the user before the answer.
    preface: str = ""

    @classmethod
    def of(cls, message: IncomingMessage) -> Question:
        return cls(said(message, message.text))

    @classmethod
    def with_files(cls, message: IncomingMessage, files: PreparedFiles) -> Question:
        content = said(message, files_content(message.text, files))
        images = [part for part in files.parts if isinstance(part, ImagePart)]
        return cls(
            content,
            tuple(image.ref() for image in images),
            tuple(image.data for image in images),
            tuple(ChatImage(image.data_url, image.tokens) for image in images),
            _preface([notice.text for notice in files.notices]),
        )

    @classmethod
    def stored(cls, turn: Turn, data: ImageBytes) -> Question:
        """A question stored before (an answer resumed after a restart)."""
        return cls(turn.content, turn.images, shown=_shown(turn, data))

    def tokens(self, counter: TokenCounter) -> int:
        """Its text's tokens and its images' estimate: what storing it counts."""
        return counter.count(self.content) + sum(image.tokens for image in self.images)

    def chat_message(self) -> ChatMessage:
        return ChatMessage("user", self.content, self.shown)

    def new_turn(self, message: IncomingMessage, tokens: int) -> NewTurn:
        return NewTurn("user", self.content, tokens, message.user_id, message.user_name,
                       message.event_id, self.images, self.image_data)


def files_content(text: str, files: PreparedFiles) -> str:
    """A message's text followed by one block per file (see the module's docstring)."""
    blocks = [_block(part) for part in files.parts]
    return "\n\n".join([text, *blocks] if text else blocks)


def history_message(turn: Turn, data: ImageBytes) -> ChatMessage:
    """A stored turn for the model, with those of its images whose bytes are in ``data``."""
    shown = _shown(turn, data)
    return ChatMessage(turn.role, turn.content, shown) if shown else turn.message


def _shown(turn: Turn, data: ImageBytes) -> tuple[ChatImage, ...]:
    return tuple(
        ChatImage(data_url(image.mime_type, data[turn.id, position]), image.tokens)
        for position, image in enumerate(turn.images)
        if (turn.id, position) in data
    )


def _block(part: Prepared) -> str:
    if isinstance(part, ImagePart):
        return image_note(part.name, part.width, part.height)
    return part.text


def _preface(notices: list[str]) -> str:
    """The notices as lines before the answer, set off from it by a blank line."""
    return "".join(f"Note: {text}\n" for text in notices) + "\n" if notices else ""
