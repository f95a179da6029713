"""``ThreadSource``: what was said in a thread before the bot was first asked there.

When the bot is first mentioned in a Slack thread, or replied to in a Discord reply
chain, that it has not answered before, the engine asks the adapter's source for the
earlier messages once, and stores them as turns of the conversation (so later questions
never read the platform again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.types import FileRef, IncomingMessage

__all__ = ["EarlierMessage", "ThreadSource"]


@dataclass(frozen=True, slots=True)
class EarlierMessage:
    """One message said before the question, as the platform has it."""

    author_id: str
    author_name: str  # a display name, resolved by the adapter
    text: str  # with user mentions already turned into names
    from_bot: bool  # the bot's own message: stored as an assistant turn
    event_id: str  # the platform's id of the message ("" if none)
    files: tuple[FileRef, ...] = ()


class ThreadSource(Protocol):
    async def earlier(self, message: IncomingMessage, limit: int) -> list[EarlierMessage]:
        """The newest ``limit`` messages of ``message``'s thread (or reply chain) before
        it, oldest first; [] when it is not in a thread. Raises nothing for platform
        failures: an answer without the context is better than none (log and return [])."""
        ...
