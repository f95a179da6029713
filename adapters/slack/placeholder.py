"""The "thinking" message of an answer, posted only when the answer is slow.

The placeholder is posted beside the model's work, not before it: the model never waits
for a Slack round trip. An answer that is complete before the placeholder's ``delay``
is up is posted as it is (one Web API call, and no placeholder flashing by); so is one
that the model has finished writing by then (``unless``), which only has to be stored
first. A slower one finds the placeholder there, posted or on its way, and replaces it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Placeholder"]

Posted = TypeVar("Posted")


class Placeholder(Generic[Posted]):
    """Runs ``post()`` after ``delay`` seconds, unless ``withdraw()`` comes first or
    ``unless()`` is true by then.

    ``post`` returns what the caller needs to edit the placeholder later (its ts, say).
    """

    __slots__ = ("_posting", "_task")

    def __init__(
        self,
        post: Callable[[], Awaitable[Posted]],
        delay: float,
        *,
        unless: Callable[[], bool] = lambda: False,
        name: str = "slack-placeholder",
    ) -> None:
        self._posting = False
        self._task = asyncio.create_task(self._post_after(post, delay, unless), name=name)

    def posted(self) -> Posted | None:
        """What ``post`` returned, once it has; None before, if it failed, and if none was needed."""
        task = self._task
        if not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    async def withdraw(self) -> Posted | None:
        """The answer is ready: None if no placeholder was posted (and now none will be);
        else what ``post`` returned, waiting for it if the placeholder is on its way.
        Raises what ``post`` raised if it failed."""
        if not self._posting:
            self._task.cancel()
            return None
        return await self._task

    def discard(self) -> None:
        """The answer was abandoned (cancelled): stop, whatever the state; never raises."""
        if not self._task.done():
            self._task.cancel()
        elif not self._task.cancelled():
            # Retrieved, so asyncio does not report it as never retrieved.
            self._task.exception()

    async def _post_after(
        self, post: Callable[[], Awaitable[Posted]], delay: float, unless: Callable[[], bool]
    ) -> Posted | None:
        await asyncio.sleep(delay)
        if unless():
            return None
        # From here on the message may reach Slack: withdrawing waits for it instead.
        self._posting = True
        return await post()
