"""The boundary between the engine and durable storage.

The contract speaks of conversations, turns, personas, usage and event ids, never of
SQL: a Postgres implementation runs the same contract tests as the SQLite one.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

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

__all__ = ["Store"]


class Store(Protocol):
    async def open(self) -> None:
        """Connect and bring the schema up to date. Idempotent."""
        ...

    async def aclose(self) -> None:
        """Close. Closing twice is harmless; using a closed store raises ``StoreError``."""
        ...

    # -- turns -------------------------------------------------------------------------
    async def add_turn(self, conversation: ConversationRef, turn: NewTurn) -> Turn:
        """Store one complete turn (creating the conversation if new)."""
        ...

    async def add_reply(
        self, conversation: ConversationRef, turn: NewTurn, usage: Usage, day: date
    ) -> Turn:
        """Store an assistant turn and count its usage, in one transaction."""
        ...

    async def recent_turns(
        self, conversation: ConversationRef, limit: int, before_id: int | None = None
    ) -> list[Turn]:
        """The newest ``limit`` turns (older than ``before_id`` if given), oldest first.

        Costs the same however long the history is.
        """
        ...

    async def forget(self, conversation: ConversationRef) -> int:
        """Delete the conversation's turns; returns how many were deleted."""
        ...

    # -- personas ----------------------------------------------------------------------
    async def get_persona(self, channel: ChannelRef) -> Persona | None:
        ...

    async def set_persona(
        self,
        channel: ChannelRef,
        persona: Persona | None,
        actor_id: str,
        actor_name: str,
    ) -> PersonaChange:
        """Set (or with ``None`` clear) the persona and append to the audit log, atomically."""
        ...

    async def persona_history(self, channel: ChannelRef, limit: int) -> list[PersonaChange]:
        """The newest ``limit`` audit entries for the channel, newest first."""
        ...

    # -- events ------------------------------------------------------------------------
    async def claim_event(self, platform: str, event_id: str) -> bool:
        """Record the event id; True the first time, False for every repeat (atomic)."""
        ...

    async def prune_events(self, older_than_seconds: float) -> int:
        """Forget event ids claimed longer ago than that; returns how many."""
        ...

    # -- usage -------------------------------------------------------------------------
    async def usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        """Tokens the channel used on ``day`` and in total."""
        ...
