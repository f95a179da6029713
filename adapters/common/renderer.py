"""``Renderer``: how one platform shows one answer. The pipeline does everything else.

A renderer is made for each answer (``RendererFactory``). While the model writes, the
pipeline calls ``start`` once, ``update`` with the text so far (and ``status`` before it
when what the bot is doing changes, e.g. "Running time…"), then ``settle``. Then it
delivers the final ``parts`` (or ``failure_parts``) itself, through ``edit`` and
``post``, retrying and remembering what was posted (``adapters/common/delivery.py``):
a renderer never retries and never decides what has been posted already.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from core.answers import Route
from core.types import IncomingMessage

__all__ = ["Posted", "Renderer", "RendererFactory"]

# Told the id of each message the renderer posts while the answer is written (a
# placeholder, a preview, a native stream), so that it is known after a restart.
Posted = Callable[[str], Awaitable[None]]


class Renderer(Protocol):
    async def start(self, posted: Posted, written: Callable[[], bool], live: str | None) -> None:
        """The answer begins: show that it is coming (typing, a placeholder after a
        moment unless ``written()`` is true by then, a native stream). ``live``: the
        message a resumed answer already has (its placeholder or preview from before a
        restart): show the answer in that one rather than post another."""
        ...

    async def update(self, text: str) -> None:
        """The answer so far; the renderer decides how often it reaches the platform."""
        ...

    async def status(self, text: str) -> None:
        """What the bot is doing while no words come ("Running time…", "Thinking…"), ""
        once it writes again. Shown beside the answer so far (with the next ``update``,
        which follows at once) or where the platform shows a status; never part of the
        final ``parts``. Never raises for a status that could not be shown."""
        ...

    async def settle(self) -> None:
        """Live rendering is over: stop it, after a message on its way has been posted
        (and reported to ``posted``). Idempotent; never raises for a lost preview."""
        ...

    async def abandon(self) -> None:
        """The answer was cancelled (shutdown): stop at once, without posting; never raises."""
        ...

    def parts(self, text: str) -> list[str]:
        """The finished answer as the messages to show, in the platform's dialect."""
        ...

    def failure_parts(self, partial: str, reason: str) -> list[str]:
        """What to show when the answer failed after ``partial`` was written."""
        ...

    async def post(self, part: str, index: int) -> str:
        """Post part ``index`` as a new message; its id."""
        ...

    async def edit(self, message_id: str, part: str) -> None:
        """Make message ``message_id`` (posted for this answer) show ``part``."""
        ...

    async def delete(self, message_id: str) -> None:
        """Remove a message of this answer that could not be edited."""
        ...

    def retry_after(self, exc: Exception) -> float | None:
        """Seconds to wait before calling again after ``exc`` (0: the pipeline's own
        back-off), or None when trying again cannot help (e.g. a missing channel)."""
        ...


# Makes the renderer of one answer; ``resumed`` when a restart picked the answer up.
RendererFactory = Callable[[IncomingMessage, Route, bool], Awaitable[Renderer]]
