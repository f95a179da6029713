"""``InMemoryStore``: the ``Store`` on plain dicts and lists, for fast unit tests.

It passes the same contract tests as ``SQLiteStore`` (including "open first" and
"closed is closed"), so engine tests written against it hold for the real store.
Nothing is durable; each method runs without awaiting, so each is atomic by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Self

from core.errors import StoreError
from core.types import (
    ChannelRef,
    ConversationRef,
    NewTurn,
    Persona,
    PersonaChange,
    Turn,
    Usage,
    UsageTotals,
)

__all__ = ["InMemoryStore"]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class InMemoryStore:
    def __init__(self, *, clock: Clock = _utc_now) -> None:
        self._clock = clock
        self._state = "new"
        self._last_turn_id = 0
        self._turns: dict[ConversationRef, list[Turn]] = {}
        self._personas: dict[ChannelRef, Persona] = {}
        self._audit: list[PersonaChange] = []
        self._events: dict[tuple[str, str], datetime] = {}
        self._usage: dict[tuple[ChannelRef, date], Usage] = {}

    # -- lifecycle ---------------------------------------------------------------------
    async def open(self) -> None:
        if self._state == "closed":
            raise StoreError("InMemoryStore is closed")
        self._state = "open"

    async def aclose(self) -> None:
        self._state = "closed"

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- turns -------------------------------------------------------------------------
    async def add_turn(self, conversation: ConversationRef, turn: NewTurn) -> Turn:
        self._check_open()
        self._last_turn_id += 1
        stored = Turn(self._last_turn_id, turn.role, turn.content, turn.tokens,
                      turn.author_id, turn.author_name, self._now())
        self._turns.setdefault(conversation, []).append(stored)
        return stored

    async def add_reply(
        self, conversation: ConversationRef, turn: NewTurn, usage: Usage, day: date
    ) -> Turn:
        stored = await self.add_turn(conversation, turn)
        key = (conversation.channel_ref, day)
        before = self._usage.get(key, Usage(0, 0))
        self._usage[key] = Usage(before.prompt_tokens + usage.prompt_tokens,
                                 before.completion_tokens + usage.completion_tokens)
        return stored

    async def recent_turns(
        self, conversation: ConversationRef, limit: int, before_id: int | None = None
    ) -> list[Turn]:
        self._check_open()
        if limit <= 0:
            return []
        turns = self._turns.get(conversation, [])
        if before_id is not None:
            turns = [turn for turn in turns if turn.id < before_id]
        return turns[-limit:]

    async def forget(self, conversation: ConversationRef) -> int:
        self._check_open()
        return len(self._turns.pop(conversation, []))

    # -- personas ----------------------------------------------------------------------
    async def get_persona(self, channel: ChannelRef) -> Persona | None:
        self._check_open()
        return self._personas.get(channel)

    async def set_persona(
        self,
        channel: ChannelRef,
        persona: Persona | None,
        actor_id: str,
        actor_name: str,
    ) -> PersonaChange:
        self._check_open()
        before = self._personas.pop(channel, None)
        if persona is not None:
            self._personas[channel] = persona
        change = PersonaChange(channel, actor_id, actor_name, before, persona, self._now())
        self._audit.append(change)
        return change

    async def persona_history(self, channel: ChannelRef, limit: int) -> list[PersonaChange]:
        self._check_open()
        if limit <= 0:
            return []
        newest_first = (change for change in reversed(self._audit) if change.channel == channel)
        return [change for change, _ in zip(newest_first, range(limit))]

    # -- events ------------------------------------------------------------------------
    async def claim_event(self, platform: str, event_id: str) -> bool:
        self._check_open()
        if (platform, event_id) in self._events:
            return False
        self._events[(platform, event_id)] = self._now()
        return True

    async def prune_events(self, older_than_seconds: float) -> int:
        self._check_open()
        cutoff = self._now() - timedelta(seconds=older_than_seconds)
        stale = [key for key, claimed_at in self._events.items() if claimed_at < cutoff]
        for key in stale:
            del self._events[key]
        return len(stale)

    # -- usage -------------------------------------------------------------------------
    async def usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        self._check_open()
        days = [used for (ref, _), used in self._usage.items() if ref == channel]
        total = Usage(sum(u.prompt_tokens for u in days), sum(u.completion_tokens for u in days))
        return UsageTotals(self._usage.get((channel, day), Usage(0, 0)), total)

    # -- helpers -----------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._state != "open":
            state = "closed" if self._state == "closed" else "not open (await open() first)"
            raise StoreError(f"InMemoryStore is {state}")

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)
