"""What was said in a thread before the bot's first question there, as turns to store.

The engine asks the adapter's ``ThreadSource`` (``core/threads.py``) only when a
question comes in a conversation with no stored turns, under the conversation's lock,
and stores what this module makes of the answer before the question: so the thread is
read once, and every later question finds it in memory like any other turn.

What is kept:

- at most ``limit`` messages (THREAD_CONTEXT_MESSAGES), and of those the newest that
  fit ``token_budget``: the engine gives them at most half the context budget
  (``THREAD_SHARE``), so that the question, its files and the answers that follow still
  fit beside them; more would be stored only to be left out of every context;
- people's messages as user turns with their author, named in a shared conversation as
  a question is (``core/speakers.py``); the bot's own messages as assistant turns;
- their files, read as a question's are (``core/attachments``, the same ``FileSource``):
  at most ``limits.max_per_message`` files in all, the newest; older ones are named
  only. Reading is what makes "summarise this thread" work when the thread is a
  shared log or screenshot; the bound keeps the first answer from waiting on dozens of
  downloads. What could not be read is named in the turn; the notices meant for the
  asker are not shown (those files are not the asker's).

The turns carry no ``event_id``: that links a turn to an answer record of the bot's,
and these messages have none.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from core.attachments import AttachmentLimits, FileSource, IncomingFile, ImagePart, fetch_and_prepare
from core.context import CHARS_PER_TOKEN, MESSAGE_OVERHEAD
from core.errors import AttachmentRefused
from core.questions import files_content
from core.speakers import speaker, spoken_by
from core.threads import EarlierMessage, ThreadSource
from core.tokens import TokenCounter
from core.types import FileRef, IncomingMessage, NewTurn

__all__ = ["THREAD_SHARE", "earlier_turns"]

log = logging.getLogger(__name__)

# The share of the context budget the thread's earlier messages may take (see above).
THREAD_SHARE = 0.5


async def earlier_turns(
    message: IncomingMessage,
    source: ThreadSource,
    files: FileSource,
    counter: TokenCounter,
    *,
    limit: int,
    token_budget: int,
    limits: AttachmentLimits,
    vision: bool,
) -> list[NewTurn]:
    """The turns to store before ``message``, oldest first ([] when nothing came before)."""
    if limit <= 0 or token_budget <= 0:
        return []
    try:
        earlier = await source.earlier(message, limit)
    except Exception as exc:  # noqa: BLE001 - an answer without the thread beats none
        log.warning("could not read the thread before %s: %r", message.event_id or "a question", exc)
        return []
    reader = _Reader(message, files, counter, limits, vision, token_budget)
    turns: list[NewTurn] = []
    for said in reversed(earlier[-limit:]):
        turn = await reader.turn(said)
        if turn is None:
            continue
        if not reader.spend(turn):
            break  # the newest that fit, and none skipped in the middle
        turns.append(turn)
    return turns[::-1]


class _Reader:
    """Turns earlier messages, newest first, into turns, within one token budget."""

    __slots__ = ("_message", "_files", "_counter", "_limits", "_vision", "_budget", "_files_left")

    def __init__(
        self, message: IncomingMessage, files: FileSource, counter: TokenCounter,
        limits: AttachmentLimits, vision: bool, budget: int,
    ) -> None:
        self._message = message
        self._files = files
        self._counter = counter
        self._limits = limits
        self._vision = vision
        self._budget = budget
        self._files_left = limits.max_per_message

    def spend(self, turn: NewTurn) -> bool:
        cost = turn.tokens + MESSAGE_OVERHEAD
        if cost > self._budget:
            return False
        self._budget -= cost
        return True

    async def turn(self, said: EarlierMessage) -> NewTurn | None:
        if said.from_bot:
            if not said.text.strip():
                return None
            return NewTurn("assistant", said.text, self._counter.count(said.text), said.author_id, said.author_name)
        if not said.text.strip() and not said.files:
            return None
        content, images, image_data, image_tokens = said.text, (), (), 0
        if said.files:
            prepared = await fetch_and_prepare(said.files, *self._file_reading(said.files), vision=self._vision)
            content = files_content(said.text, prepared)
            shown = [part for part in prepared.parts if isinstance(part, ImagePart)]
            images = tuple(image.ref() for image in shown)
            image_data = tuple(image.data for image in shown)
            image_tokens = prepared.image_tokens
        if not self._message.is_dm:
            content = spoken_by(speaker(said.author_name, said.author_id), content)
        tokens = self._counter.count(content) + image_tokens
        return NewTurn("user", content, tokens, said.author_id, said.author_name, "", images, image_data)

    def _file_reading(self, refs: tuple[FileRef, ...]) -> tuple[FileSource, AttachmentLimits]:
        """Where this message's files are read from, and within what: the files left to
        read in the thread, and text that fits what is left of the budget."""
        text_budget = max(1, min(self._limits.text_budget, self._budget * CHARS_PER_TOKEN))
        if self._files_left <= 0:
            return _NAMED_ONLY, replace(self._limits, text_budget=text_budget)
        count = min(len(refs), self._files_left)
        self._files_left -= count
        return self._files, replace(self._limits, text_budget=text_budget, max_per_message=count)


class _NamedOnly:
    """The files past the thread's bound: named in their turn, never fetched."""

    async def fetch(self, ref: FileRef, max_bytes: int) -> IncomingFile:
        raise AttachmentRefused("not read: earlier in the thread than the files I read")


_NAMED_ONLY = _NamedOnly()
