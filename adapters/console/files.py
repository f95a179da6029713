"""Local files for the console: ``/attach PATH`` describes one, ``LocalFiles`` reads it.

The console's ``FileRef.url`` is the file's absolute path. Reading is bounded like a
download: the size is checked before the file is opened, and at most ``max_bytes + 1``
bytes are read (a file that grew since) in a worker thread, so a large or slow file
never holds the event loop.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import stat
from pathlib import Path

from core.attachments import IncomingFile
from core.errors import AttachmentRefused
from core.types import FileRef

__all__ = ["LocalFiles", "local_file"]


def local_file(path: str) -> FileRef:
    """The ``FileRef`` for ``path`` (``~`` expanded); ``ValueError`` with one line for
    the person when it is not a readable regular file."""
    resolved = Path(path).expanduser().resolve()
    try:
        info = resolved.stat()
    except OSError as exc:
        raise ValueError(f"can't attach {path}: {_why(exc)}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"can't attach {path}: it is not a regular file")
    if not os.access(resolved, os.R_OK):
        raise ValueError(f"can't attach {path}: permission denied")
    mime_type, _ = mimetypes.guess_type(resolved.name)
    return FileRef(resolved.name, mime_type or "", info.st_size, str(resolved))


class LocalFiles:
    """The console's ``FileSource``: reads the paths ``local_file`` described."""

    async def fetch(self, ref: FileRef, max_bytes: int) -> IncomingFile:
        return await asyncio.to_thread(_read, ref, max_bytes)


def _read(ref: FileRef, max_bytes: int) -> IncomingFile:
    try:
        # Looked at before opening: opening a FIFO waits for a writer, a device such as
        # /dev/zero never ends. Opened without blocking and looked at again, in case
        # the path was swapped for one in between.
        _check_regular(os.stat(ref.url))
        with open(os.open(ref.url, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as file:
            info = os.fstat(file.fileno())
            _check_regular(info)
            if info.st_size > max_bytes:
                return _not_read(ref, info.st_size)
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise AttachmentRefused(_why(exc)) from exc
    if len(data) > max_bytes:  # it grew after the check
        return _not_read(ref, len(data))
    return IncomingFile(ref.name, ref.mime_type, data)


def _check_regular(info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise AttachmentRefused("it is no longer a regular file")


def _not_read(ref: FileRef, size: int) -> IncomingFile:
    return IncomingFile(ref.name, ref.mime_type, b"", declared_size=size)


def _why(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
