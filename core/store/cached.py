"""``CachedStore``: what every message reads, held in memory, around a store that is the
only writer of its database.

Every message reads its conversation's newest turns, its channel's persona (and the
workspace default), its channel's chosen tools and its channel's usage. On SQLite each
read is a round-trip to aiosqlite's thread, and round-trips are most of what a message
costs, so this layer answers them from memory (``core/store/caches.py``) and a message
costs only its two writes. Everything else goes straight to the inner store.

A cache can only be kept in step with the writes it sees: one written by another
process would never reach it. So this layer is used only where one writer is
guaranteed (``open_store(..., single_writer=True)`` takes ``SingleWriterLock`` for it,
``core/store/single_writer.py``); with several processes the plain store is right as it
is. Turning caching off is leaving this wrapper out.

How the caches stay right with many tasks writing at once:

- a value read from the inner store is held only if no write to its key (a
  conversation, a channel) was in flight at any moment of the read: such a write may
  land before or after the SELECT, and its own cache update before or after the read's;
- a write updates the cache after it returns. Adding turns or usage commutes (turns go
  where their ids put them), so concurrent adds keep the cache. A ``forget``, a new
  persona or new tools drop their entry while it is written (reads meanwhile go to the inner store),
  and sets it when done, unless another write to the key overlapped it: which one
  committed last is not known here, so the next read loads it afresh;
- a write that failed drops what it may have changed; one whose caller was cancelled
  may still land (the inner store's shared INSERT goes on), so its keys count as in
  flight until the inner store has drained.

Every cache is bounded (least recently used entries go first), so memory stays flat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, Protocol, TypeVar

from core.answers import AnswerKey, AnswerRecord, AnswerState, Delivery, Route
from core.errors import StoreError
from core.store.lifecycle import OpenedInContext
from core.store.caches import MISSING, LruCache, RecentTurns
from core.store.protocol import Store
from core.store.single_writer import SingleWriterLock
from core.store.values import usage_from_row, usage_row
from core.types import (
    ChannelRef,
    ConversationRef,
    Feedback,
    FeedbackTotals,
    IncomingMessage,
    NewTurn,
    Persona,
    PersonaChange,
    ToolsChange,
    Turn,
    Usage,
    UsageTotals,
)

__all__ = ["CachedStore", "CacheableStore"]

# Entries of each per-channel cache; past this many the least recently used are dropped
# (a miss costs a trip), so memory stays flat for any bot.
_CACHE_SIZE = 100_000
# Turns held: up to ``_RECENT_DEPTH`` per conversation (more than a 6,000-token context
# holds), ``_RECENT_CAPACITY`` in all (tens of MB at most).
_RECENT_DEPTH = 256
_RECENT_CAPACITY = 100_000


class CacheableStore(Store, Protocol):
    """What ``CachedStore`` needs of the store it wraps, beyond the ``Store`` contract."""

    async def all_personas(self, limit: int) -> dict[ChannelRef, Persona] | None:
        """Every persona, or None if there are more than ``limit``."""
        ...

    async def all_channel_tools(self, limit: int) -> dict[ChannelRef, frozenset[str]] | None:
        """Every channel's chosen tools, or None if more than ``limit`` channels chose."""
        ...

    async def drain(self) -> None:
        """Wait until every write handed over so far has finished."""
        ...

    async def seed_turns(self, conversation: ConversationRef, turns: Iterable[NewTurn]) -> None:
        ...


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


# A channel's value (persona, tools) whose last write was not seen to land: read again,
# though the cache is complete.
_UNKNOWN = _Unknown()
_V = TypeVar("_V")


@dataclass(slots=True)
class _Read:
    spoiled: bool


@dataclass(slots=True)
class _Flight:
    writes: int = 0
    overlapped: bool = False


class _InFlight:
    """The writes in flight by key, and the reads they spoil.

    Both tables hold only what is in flight now, so they stay small. Every message passes
    here twice or thrice: one dict look-up each way (a key's hash is not cached).
    """

    def __init__(self) -> None:
        self._writes: dict[Hashable, _Flight] = {}
        self._reads: dict[Hashable, list[_Read]] = {}

    def begin(self, key: Hashable) -> None:
        flight = self._writes.setdefault(key, _Flight())
        flight.writes += 1
        if flight.writes > 1:
            flight.overlapped = True
        if self._reads:  # most often no read is out
            for read in self._reads.get(key, ()):
                read.spoiled = True

    def end(self, key: Hashable) -> bool:
        """One write to ``key`` is over; whether it overlapped another write to it."""
        flight = self._writes.pop(key)
        flight.writes -= 1
        if flight.writes:
            self._writes[key] = flight
        return flight.overlapped

    @contextmanager
    def reading(self, key: Hashable) -> Iterator[_Read]:
        """Around a read: ``spoiled`` is then True if a write to ``key`` was in flight."""
        read = _Read(spoiled=key in self._writes)
        reads = self._reads.setdefault(key, [])
        reads.append(read)
        try:
            yield read
        finally:
            reads.remove(read)
            if not reads:
                del self._reads[key]


class _PerChannel(Generic[_V]):
    """A value of each channel that every message reads and admins seldom change (its
    persona, its chosen tools): held once read, or every one from the start if they fit,
    so that no message waits to learn that its channel has none (most have none).
    ``None`` is a value: the channel has none."""

    def __init__(self, size: int) -> None:
        self._values: LruCache[ChannelRef, _V | None | _Unknown] = LruCache(size)
        self._writes = _InFlight()

    def load(self, every: dict[ChannelRef, _V] | None) -> None:
        """Hold ``every`` channel's value; None: too many, each is read when first needed."""
        if every is None:
            return
        for channel, value in every.items():
            self._values.put(channel, value)
        self._values.complete = True

    async def get(
        self,
        channel: ChannelRef,
        read: Callable[[ChannelRef], Awaitable[_V | None]],
        keep: Callable[[], bool],
    ) -> _V | None:
        """The held value, else ``read``'s, held if no write overlapped it and ``keep()``."""
        cached = self._values.get(channel)
        if cached is not MISSING and cached is not _UNKNOWN:
            return cached  # type: ignore[return-value]  # MISSING, _UNKNOWN were ruled out
        if cached is MISSING and self._values.complete:
            return None  # every channel's is held: this one has none
        with self._writes.reading(channel) as reading:
            value = await read(channel)
        if not reading.spoiled and keep():
            self._values.put(channel, value)
        return value

    def writing(self, channel: ChannelRef) -> None:
        """A write begins: the store's answer is the one until it is done."""
        self._writes.begin(channel)
        self._values.put(channel, _UNKNOWN)

    def written(self, channel: ChannelRef, value: _V | None) -> None:
        # Overlapping writes: either may have committed last; read it again when needed.
        self._values.put(channel, _UNKNOWN if self._writes.end(channel) else value)

    def drop(self, channel: ChannelRef) -> None:
        self._values.put(channel, _UNKNOWN)

    def end(self, channel: ChannelRef) -> None:
        self._writes.end(channel)

    def clear(self) -> None:
        self._values.clear()


# A write to one channel's value: which values, and whose (see ``CachedStore._abandoned``).
_ChannelWrite = tuple[_PerChannel[Any], ChannelRef]


class CachedStore(OpenedInContext):
    """``inner`` with its reads of turns, personas, channels' tools and usage cached.

    ``guard``, if given, is held from ``open`` to ``aclose``: it is what makes this
    process the only writer. Without one the caller vouches for it (tests, benchmarks,
    a private in-memory database).
    """

    def __init__(self, inner: CacheableStore, *, guard: SingleWriterLock | None = None) -> None:
        self._inner = inner
        self._guard = guard
        self._lifecycle = asyncio.Lock()
        self._opened = False
        self._closed = False
        self._recent = RecentTurns(_RECENT_DEPTH, _RECENT_CAPACITY)
        self._personas: _PerChannel[Persona] = _PerChannel(_CACHE_SIZE)
        self._tools: _PerChannel[frozenset[str]] = _PerChannel(_CACHE_SIZE)
        self._usage: LruCache[ChannelRef, tuple[date, UsageTotals]] = LruCache(_CACHE_SIZE)
        self._turn_writes = _InFlight()
        self._usage_writes = _InFlight()
        self._settling: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"CachedStore({self._inner!r})"

    # -- lifecycle ---------------------------------------------------------------------
    async def open(self) -> None:
        async with self._lifecycle:
            if self._closed:
                raise StoreError(f"{self!r} is closed")
            if self._opened:
                return
            if self._guard is not None:
                self._guard.acquire()  # before anything is read: refused, nothing is touched
            try:
                await self._inner.open()
            except BaseException:
                self._release_guard()
                raise
            try:
                await self._load_channels()
            except BaseException:
                self._closed = True
                await self._inner.aclose()
                self._release_guard()
                raise
            self._opened = True

    async def aclose(self) -> None:
        async with self._lifecycle:
            self._opened, self._closed = False, True
            try:
                if self._settling:
                    await asyncio.wait(self._settling)
                await self._inner.aclose()
            finally:
                self._recent.clear()
                self._personas.clear()
                self._tools.clear()
                self._usage.clear()
                # Last: another process may write the file only once this one has closed it.
                self._release_guard()

    # -- turns -------------------------------------------------------------------------
    async def add_turn(self, conversation: ConversationRef, turn: NewTurn) -> Turn:
        self._turn_writes.begin(conversation)
        try:
            stored = await self._inner.add_turn(conversation, turn)
        except BaseException as exc:
            self._abandoned(exc, conversation=conversation)
            raise
        self._turn_writes.end(conversation)  # adds commute: overlapping ones keep the cache
        self._recent.added(conversation, stored)
        return stored

    async def add_reply(
        self, conversation: ConversationRef, turn: NewTurn, usage: Usage, day: date
    ) -> Turn:
        channel = conversation.channel_ref
        self._turn_writes.begin(conversation)
        self._usage_writes.begin(channel)
        try:
            stored = await self._inner.add_reply(conversation, turn, usage, day)
        except BaseException as exc:
            self._abandoned(exc, conversation=conversation, usage=channel)
            raise
        self._turn_writes.end(conversation)
        self._usage_writes.end(channel)
        self._recent.added(conversation, stored)
        self._count_usage(channel, day, usage)
        return stored

    async def recent_turns(
        self, conversation: ConversationRef, limit: int, before_id: int | None = None
    ) -> list[Turn]:
        if limit <= 0:
            return []
        self._check_open("recent_turns")
        cached = self._recent.get(conversation, limit, before_id)
        if cached is not None:
            return cached
        if before_id is not None:  # older than the window: read, not held
            return await self._inner.recent_turns(conversation, limit, before_id)
        # From the top: a whole window, held for the next messages. The inner store
        # reads the windows missed meanwhile (a burst of new threads) in one SELECT.
        wanted = max(limit, self._recent.depth)
        with self._turn_writes.reading(conversation) as read:
            turns = await self._inner.recent_turns(conversation, wanted)
        if not read.spoiled and self._opened:
            self._recent.load(conversation, turns, complete=len(turns) < wanted)
        return turns[-limit:]

    async def forget(self, conversation: ConversationRef) -> int:
        self._turn_writes.begin(conversation)
        self._recent.discard(conversation)  # the file's answer until the DELETE is done
        try:
            deleted = await self._inner.forget(conversation)
        except BaseException as exc:
            self._abandoned(exc, conversation=conversation)
            raise
        if self._turn_writes.end(conversation):
            self._recent.discard(conversation)  # an add may have landed before or after
        else:
            self._recent.forgotten(conversation)
        return deleted

    async def seed_turns(self, conversation: ConversationRef, turns: Iterable[NewTurn]) -> None:
        """The inner store's bulk insert (benchmarks, imports); the window is read afresh."""
        self._turn_writes.begin(conversation)
        try:
            await self._inner.seed_turns(conversation, turns)
        except BaseException as exc:
            self._abandoned(exc, conversation=conversation)
            raise
        self._turn_writes.end(conversation)
        self._recent.discard(conversation)

    # -- images ------------------------------------------------------------------------
    # Bytes are not cached; pruning them changes no turn, so the held windows stay right
    # (a turn keeps its ``images``), as does ``forget`` above, which deletes them too.
    async def image_data(self, turn_ids: Sequence[int]) -> dict[tuple[int, int], bytes]:
        return await self._inner.image_data(turn_ids)

    async def prune_images(self, conversation: ConversationRef, keep_user_turns: int) -> int:
        return await self._inner.prune_images(conversation, keep_user_turns)

    # -- personas ----------------------------------------------------------------------
    async def get_persona(self, channel: ChannelRef) -> Persona | None:
        self._check_open("get_persona")
        return await self._personas.get(channel, self._inner.get_persona, self._keeps)

    async def set_persona(
        self,
        channel: ChannelRef,
        persona: Persona | None,
        actor_id: str,
        actor_name: str,
    ) -> PersonaChange:
        self._personas.writing(channel)
        try:
            change = await self._inner.set_persona(channel, persona, actor_id, actor_name)
        except BaseException as exc:
            self._abandoned(exc, channel_write=(self._personas, channel))
            raise
        self._personas.written(channel, persona)
        return change

    async def persona_history(self, channel: ChannelRef, limit: int) -> list[PersonaChange]:
        return await self._inner.persona_history(channel, limit)

    # -- tools chosen per channel: read on every message once tools exist --------------
    async def get_channel_tools(self, channel: ChannelRef) -> frozenset[str] | None:
        self._check_open("get_channel_tools")
        return await self._tools.get(channel, self._inner.get_channel_tools, self._keeps)

    async def set_channel_tools(
        self, channel: ChannelRef, tools: frozenset[str] | None, actor_id: str, actor_name: str
    ) -> ToolsChange:
        self._tools.writing(channel)
        try:
            change = await self._inner.set_channel_tools(channel, tools, actor_id, actor_name)
        except BaseException as exc:
            self._abandoned(exc, channel_write=(self._tools, channel))
            raise
        self._tools.written(channel, tools)
        return change

    async def tools_history(self, channel: ChannelRef, limit: int) -> list[ToolsChange]:
        return await self._inner.tools_history(channel, limit)

    # -- usage -------------------------------------------------------------------------
    async def usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        self._check_open("usage")
        cached = self._usage.get(channel)
        if cached is not MISSING and cached[0] == day:  # type: ignore[index]
            return cached[1]  # type: ignore[index]
        with self._usage_writes.reading(channel) as read:
            totals = await self._inner.usage(channel, day)
        if not read.spoiled and self._opened:
            self._usage.put(channel, (day, totals))
        return totals

    async def workspace_usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        # Read only by an admin's /usage: not cached.
        self._check_open("workspace_usage")
        return await self._inner.workspace_usage(channel, day)

    # -- feedback: rare (a click now and then), and read only by /usage: not cached ----
    async def record_feedback(self, feedback: Feedback) -> None:
        await self._inner.record_feedback(feedback)

    async def feedback_totals(self, channel: ChannelRef) -> FeedbackTotals:
        return await self._inner.feedback_totals(channel)

    # -- events and answers: never cached, they hold across processes ------------------
    async def claim_event(self, platform: str, event_id: str) -> bool:
        return await self._inner.claim_event(platform, event_id)

    async def prune_events(self, older_than_seconds: float) -> int:
        return await self._inner.prune_events(older_than_seconds)

    async def claim_answer(
        self, message: IncomingMessage, route: Route, owner: str, lease_seconds: float
    ) -> bool:
        return await self._inner.claim_answer(message, route, owner, lease_seconds)

    async def take_answer(
        self, key: AnswerKey, owner: str, lease_seconds: float
    ) -> AnswerRecord | None:
        return await self._inner.take_answer(key, owner, lease_seconds)

    async def take_expired_answers(
        self, platform: str, owner: str, lease_seconds: float, limit: int
    ) -> list[AnswerRecord]:
        return await self._inner.take_expired_answers(platform, owner, lease_seconds, limit)

    async def renew_answers(self, keys: list[AnswerKey], owner: str, lease_seconds: float) -> int:
        return await self._inner.renew_answers(keys, owner, lease_seconds)

    async def release_answers(self, keys: list[AnswerKey], owner: str) -> int:
        return await self._inner.release_answers(keys, owner)

    async def save_delivery(self, key: AnswerKey, owner: str, delivery: Delivery) -> bool:
        return await self._inner.save_delivery(key, owner, delivery)

    async def finish_answer(
        self, key: AnswerKey, owner: str, state: AnswerState, delivery: Delivery
    ) -> bool:
        return await self._inner.finish_answer(key, owner, state, delivery)

    async def earlier_unfinished(self, key: AnswerKey) -> bool:
        return await self._inner.earlier_unfinished(key)

    async def get_answer(self, key: AnswerKey) -> AnswerRecord | None:
        return await self._inner.get_answer(key)

    async def answer_turns(
        self, conversation: ConversationRef, event_id: str
    ) -> tuple[Turn | None, Turn | None]:
        return await self._inner.answer_turns(conversation, event_id)

    # -- helpers -----------------------------------------------------------------------
    def _release_guard(self) -> None:
        if self._guard is not None:
            self._guard.release()

    def _check_open(self, action: str) -> None:
        if not self._opened:
            state = "closed" if self._closed else "not open (await open() first)"
            raise StoreError(f"{action}: {self!r} is {state}")

    def _keeps(self) -> bool:
        """Whether a value just read may be held: not once closing began."""
        return self._opened

    async def _load_channels(self) -> None:
        """Hold every persona and every channel's tools if they fit: most channels have
        neither, and a burst of new channels would each wait to learn it."""
        self._personas.load(await self._inner.all_personas(_CACHE_SIZE))
        self._tools.load(await self._inner.all_channel_tools(_CACHE_SIZE))

    def _count_usage(self, channel: ChannelRef, day: date, usage: Usage) -> None:
        cached = self._usage.get(channel)
        if cached is MISSING:
            return
        cached_day, totals = cached  # type: ignore[misc]  # MISSING was ruled out
        usage = usage_from_row(usage_row(usage))  # the cost as the store keeps it (nano-USD)
        today = totals.today + usage if cached_day == day else totals.today
        self._usage.put(channel, (cached_day, UsageTotals(today, totals.total + usage)))

    def _abandoned(
        self,
        exc: BaseException,
        *,
        conversation: ConversationRef | None = None,
        usage: ChannelRef | None = None,
        channel_write: _ChannelWrite | None = None,
    ) -> None:
        """A write failed or its caller was cancelled: drop what it may have changed.

        A failed write is over. A cancelled one may still land (the inner store's shared
        statement goes on without its caller): its keys stay in flight, so that no read
        is held meanwhile, until the inner store has drained.
        """
        self._drop(conversation, usage, channel_write)
        if isinstance(exc, asyncio.CancelledError):
            task = asyncio.get_running_loop().create_task(
                self._settle(conversation, usage, channel_write), name="store-cache-settle")
            self._settling.add(task)
            task.add_done_callback(self._settling.discard)
        else:
            self._end(conversation, usage, channel_write)

    async def _settle(
        self,
        conversation: ConversationRef | None,
        usage: ChannelRef | None,
        channel_write: _ChannelWrite | None,
    ) -> None:
        try:
            await self._inner.drain()
        finally:
            self._drop(conversation, usage, channel_write)
            self._end(conversation, usage, channel_write)

    def _drop(
        self,
        conversation: ConversationRef | None,
        usage: ChannelRef | None,
        channel_write: _ChannelWrite | None,
    ) -> None:
        if conversation is not None:
            self._recent.discard(conversation)
        if usage is not None:
            self._usage.pop(usage)
        if channel_write is not None:
            values, channel = channel_write
            values.drop(channel)

    def _end(
        self,
        conversation: ConversationRef | None,
        usage: ChannelRef | None,
        channel_write: _ChannelWrite | None,
    ) -> None:
        if conversation is not None:
            self._turn_writes.end(conversation)
        if usage is not None:
            self._usage_writes.end(usage)
        if channel_write is not None:
            values, channel = channel_write
            values.end(channel)

    async def ping(self) -> None:
        # Never cached: the point is the trip to the database.
        self._check_open("ping")
        await self._inner.ping()
