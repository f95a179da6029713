"""``FileSource``: how the engine gets the bytes of a message's files from its platform."""

from __future__ import annotations

from typing import Protocol

from core.attachments.types import IncomingFile
from core.types import FileRef

__all__ = ["FileSource"]


class FileSource(Protocol):
    """Fetches files a platform described in ``IncomingMessage.files``.

    Each adapter has one (Slack: the bot token on Slack's file host; Discord: its CDN;
    the console: local paths). The engine calls ``fetch`` once per file, one file at a
    time, when it writes the answer.
    """

    async def fetch(self, ref: FileRef, max_bytes: int) -> IncomingFile:
        """The file's bytes, never reading more than ``max_bytes`` of them.

        A file over ``max_bytes`` (by the platform's word, or found while reading) comes
        back with no data and ``declared_size`` set: it is named, not read. Raises
        ``AttachmentRefused`` with a reason the user can act on when the platform
        refuses it (e.g. a missing permission) or it cannot be fetched in time.
        """
        ...
