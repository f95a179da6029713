"""In-memory caches for a store that is the only writer of its database.

``CachedStore`` (``core/store/cached.py``) keeps what every message reads (the
conversation's newest turns, the channel's persona and usage) here, so that a message
costs only its two writes; it says when each may change. These classes only hold.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.types import ConversationRef, Turn

__all__ = ["MISSING", "LruCache", "RecentTurns"]

_K = TypeVar("_K")
_V = TypeVar("_V")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


# What ``LruCache.get`` returns for an absent key, so that ``None`` can be a cached value.
MISSING = _Missing()


class LruCache(Generic[_K, _V]):
    """A dict bounded to ``size`` entries, dropping the least recently used.

    OrderedDict, not dict: evicting a plain dict's first key again and again makes
    ``next(iter(d))`` walk the deleted slots left in front, quadratic until a resize.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[_K, _V] = OrderedDict()
        # Set by whoever filled the cache with every row of its table: then an absent
        # key has no row at all. Dropping an entry (to stay within ``size``) ends it.
        self.complete = False

    def get(self, key: _K) -> _V | _Missing:
        value = self._entries.get(key, MISSING)
        if value is not MISSING:
            self._entries.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
            self.complete = False

    def pop(self, key: _K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
        self.complete = False

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(slots=True)
class _Window:
    turns: list[Turn]  # the conversation's newest turns, oldest first
    ids: list[int]  # their ids, for bisecting on ``before_id``
    complete: bool  # True when ``turns`` is the whole conversation


class RecentTurns:
    """The newest ``depth`` turns of recently active conversations.

    Bounded by the number of turns held in all, not by conversations: a busy bot keeps
    the conversations it is talking in, and memory stays flat however many it has seen.
    """

    def __init__(self, depth: int = 256, capacity: int = 100_000) -> None:
        self.depth = depth
        self._capacity = capacity
        self._held = 0
        self._windows: OrderedDict[ConversationRef, _Window] = OrderedDict()

    def get(self, conversation: ConversationRef, limit: int, before_id: int | None) -> list[Turn] | None:
        """The newest ``limit`` turns older than ``before_id``, or None if not known here."""
        window = self._windows.get(conversation)
        if window is None:
            return None
        end = len(window.ids) if before_id is None else bisect_left(window.ids, before_id)
        if end < limit and not window.complete:
            return None
        self._windows.move_to_end(conversation)
        return window.turns[max(0, end - limit):end]

    def load(self, conversation: ConversationRef, newest: list[Turn], complete: bool) -> None:
        """Hold ``newest`` (oldest first) as the conversation's newest turns, as just read."""
        self._drop(conversation)
        kept = newest[-self.depth:]
        complete = complete and len(kept) == len(newest)
        self._windows[conversation] = _Window(kept, [turn.id for turn in kept], complete)
        self._held += len(kept)
        self._evict()

    def added(self, conversation: ConversationRef, turn: Turn) -> None:
        """A turn was committed; a conversation not held here stays not held.

        Turns committed together may be reported in any order: each goes where its id
        puts it (ids grow with commits), and one reported twice is held once.
        """
        window = self._windows.get(conversation)
        if window is None:
            return
        if not window.ids or turn.id > window.ids[-1]:
            window.turns.append(turn)
            window.ids.append(turn.id)
        else:
            at = bisect_left(window.ids, turn.id)
            if at < len(window.ids) and window.ids[at] == turn.id:
                return
            if at == 0 and not window.complete:
                return  # older than the window, which is not the whole conversation
            window.turns.insert(at, turn)
            window.ids.insert(at, turn.id)
        self._held += 1
        if len(window.turns) > self.depth:
            del window.turns[0], window.ids[0]
            window.complete = False
            self._held -= 1
        self._windows.move_to_end(conversation)
        self._evict()

    def discard(self, conversation: ConversationRef) -> None:
        """Stop holding the conversation (e.g. after a bulk write that bypassed ``added``)."""
        self._drop(conversation)

    def forgotten(self, conversation: ConversationRef) -> None:
        """Every turn of the conversation was deleted: it is now known to be empty."""
        self.load(conversation, [], complete=True)

    def clear(self) -> None:
        self._windows.clear()
        self._held = 0

    @property
    def held(self) -> int:
        """Turns held in all (for tests and benchmarks)."""
        return self._held

    def _drop(self, conversation: ConversationRef) -> None:
        window = self._windows.pop(conversation, None)
        if window is not None:
            self._held -= len(window.turns)

    def _evict(self) -> None:
        while self._held > self._capacity and len(self._windows) > 1:
            _, window = self._windows.popitem(last=False)
            self._held -= len(window.turns)
