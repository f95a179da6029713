"""``RecordingRenderer``: a ``Renderer`` that keeps the "platform" in a dict, for tests of
the answer pipeline without any platform.

Messages get ids "m1", "m2", …; ``shown`` is what each message shows now, ``calls`` every
call made. A status is shown under the preview as "(status)", as platforms show it. ``failures`` scripts errors: ``renderer.fail("edit", Transient(), times=3)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.common.renderer import Posted
from core.answers import Route
from core.types import IncomingMessage

__all__ = ["Permanent", "RecordingRenderer", "RendererBank", "Transient"]


class Transient(Exception):
    """A failure worth retrying (the platform's 429 or 5xx)."""


class Permanent(Exception):
    """A failure that retrying cannot fix (a missing channel)."""


@dataclass
class RecordingRenderer:
    route: Route = field(default_factory=dict)
    resumed: bool = False
    # Post a preview message on the first update, as a platform that streams into a message does.
    preview: bool = True
    shown: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)
    settled: bool = False
    abandoned: bool = False
    # Every preview shown, status included, in order: what a user saw while waiting.
    previews: list[str] = field(default_factory=list)
    _status: str = ""
    _next_id: int = 0
    _posted: Posted | None = None
    _live: str | None = None

    def fail(self, method: str, error: Exception, times: int = 1) -> None:
        self.failures.setdefault(method, []).extend([error] * times)

    async def start(self, posted: Posted, written: Callable[[], bool], live: str | None) -> None:
        self.calls.append(("start", live or ""))
        self._posted = posted
        self._live = live

    async def update(self, text: str) -> None:
        self.calls.append(("update", text))
        self._raise_scripted("update")
        if not self.preview:
            return
        shown = f"{text}\n({self._status})" if self._status else text
        self.previews.append(shown)
        if self._live is None:
            self._live = self._new_message(shown)
            assert self._posted is not None
            await self._posted(self._live)
        else:
            self.shown[self._live] = shown

    async def status(self, text: str) -> None:
        self.calls.append(("status", text))
        self._raise_scripted("status")
        self._status = text

    async def settle(self) -> None:
        self.settled = True

    async def abandon(self) -> None:
        self.abandoned = True

    def parts(self, text: str) -> list[str]:
        # Parts of at most 10 characters, so that tests can make many-part answers.
        return [text[i:i + 10] for i in range(0, len(text), 10)] or ["(empty)"]

    def failure_parts(self, partial: str, reason: str) -> list[str]:
        return [f"{partial} [{reason}]" if partial else f"[{reason}]"]

    async def post(self, part: str, index: int) -> str:
        self.calls.append(("post", part))
        self._raise_scripted("post")
        return self._new_message(part)

    async def edit(self, message_id: str, part: str) -> None:
        self.calls.append(("edit", message_id))
        self._raise_scripted("edit")
        self.shown[message_id] = part

    async def delete(self, message_id: str) -> None:
        self.calls.append(("delete", message_id))
        self._raise_scripted("delete")
        self.shown.pop(message_id, None)

    def retry_after(self, exc: Exception) -> float | None:
        return 0.0 if isinstance(exc, Transient) else None

    def texts(self) -> list[str]:
        return list(self.shown.values())

    def _new_message(self, text: str) -> str:
        self._next_id += 1
        message_id = f"m{self._next_id}"
        self.shown[message_id] = text
        return message_id

    def _raise_scripted(self, method: str) -> None:
        queued = self.failures.get(method)
        if queued:
            raise queued.pop(0)


class RendererBank:
    """A ``RendererFactory`` that hands out ``RecordingRenderer``s and keeps them, and
    that one "platform" (``shown``) is shared by every renderer made for one route."""

    def __init__(self, **options: object) -> None:
        self.made: list[RecordingRenderer] = []
        self._options = options
        self.made_event = asyncio.Event()

    async def __call__(self, message: IncomingMessage, route: Route, resumed: bool) -> RecordingRenderer:
        renderer = RecordingRenderer(route=route, resumed=resumed, **self._options)  # type: ignore[arg-type]
        if self.made:
            # The same platform: messages posted before a restart are still there.
            previous = self.made[-1]
            renderer.shown = previous.shown
            renderer._next_id = previous._next_id + 100
        self.made.append(renderer)
        self.made_event.set()
        return renderer
