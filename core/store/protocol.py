"""The boundary between the engine and durable storage.

The contract speaks of conversations, turns, personas, usage and event ids, never of
SQL: a Postgres implementation runs the same contract tests as the SQLite one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from core.answers import AnswerKey, AnswerRecord, AnswerState, Delivery, Route
from core.types import (
    ChannelRef,
    ConversationRef,
    IncomingMessage,
    NewTurn,
    Persona,
    PersonaChange,
    ToolsChange,
    Feedback,
    FeedbackTotals,
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
        """Store one complete turn (creating the conversation if new): a question, or a
        step of an answer (an assistant turn with ``tool_calls``, a ``tool`` turn)."""
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
        """Delete the conversation's turns, and their images' bytes; returns how many
        turns were deleted."""
        ...

    # -- images of user turns (``NewTurn.images`` / ``image_data``) ----------------------
    async def image_data(self, turn_ids: Sequence[int]) -> dict[tuple[int, int], bytes]:
        """The stored bytes of those turns' images, by (turn id, position in
        ``Turn.images``). An image whose bytes were pruned is missing from the result."""
        ...

    async def prune_images(self, conversation: ConversationRef, keep_user_turns: int) -> int:
        """Delete the bytes of the images of the conversation's user turns that are older
        than its newest ``keep_user_turns`` user turns (their ``ImageRef`` stays on the
        turn). Returns how many images' bytes were deleted."""
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

    # -- tools enabled per channel (``/tools enable|disable``) --------------------------
    async def get_channel_tools(self, channel: ChannelRef) -> frozenset[str] | None:
        """The tools the channel's admins chose; None if they never did (or reset)."""
        ...

    async def set_channel_tools(
        self, channel: ChannelRef, tools: frozenset[str] | None, actor_id: str, actor_name: str
    ) -> ToolsChange:
        """Set (or with ``None`` clear) the channel's tools and append to the tools audit
        log, atomically."""
        ...

    async def tools_history(self, channel: ChannelRef, limit: int) -> list[ToolsChange]:
        """The newest ``limit`` tools audit entries for the channel, newest first."""
        ...

    # -- feedback on answers (Slack's 👍/👎) ---------------------------------------------
    async def record_feedback(self, feedback: Feedback) -> None:
        """Keep one user's feedback on one answer; a second click by the same user on the
        same answer replaces the first."""
        ...

    async def feedback_totals(self, channel: ChannelRef) -> FeedbackTotals:
        """The channel's 👍 and 👎: each person's latest click on each answer counts once
        (two people liking one answer count two)."""
        ...

    # -- events ------------------------------------------------------------------------
    async def claim_event(self, platform: str, event_id: str) -> bool:
        """Record the event id; True the first time, False for every repeat (atomic)."""
        ...

    async def prune_events(self, older_than_seconds: float) -> int:
        """Forget event ids claimed, and answers finished (delivered or failed), longer
        ago than that; returns how many."""
        ...

    # -- answers (see core/answers.py) -------------------------------------------------
    async def claim_answer(
        self, message: IncomingMessage, route: Route, owner: str, lease_seconds: float
    ) -> bool:
        """Record a new answer to ``message`` (keyed by its platform and ``event_id``) as
        answering, held by ``owner`` for ``lease_seconds``, attempts 1. The message is
        kept whole, its ``files`` too: ``AnswerRecord.message`` equals it. True the first
        time; False if that event already has a record, whatever its state (atomic)."""
        ...

    async def take_answer(
        self, key: AnswerKey, owner: str, lease_seconds: float
    ) -> AnswerRecord | None:
        """Take over one answer that is still answering and whose lease has run out:
        ``owner`` holds it for ``lease_seconds`` and its attempts grow by one. None if
        there is no such record, it is finished, or its lease still runs (atomic: of two
        callers at once, one gets it)."""
        ...

    async def take_expired_answers(
        self, platform: str, owner: str, lease_seconds: float, limit: int
    ) -> list[AnswerRecord]:
        """``take_answer`` for up to ``limit`` answers of ``platform`` whose lease has run
        out, oldest first."""
        ...

    async def renew_answers(self, keys: list[AnswerKey], owner: str, lease_seconds: float) -> int:
        """Extend to now + ``lease_seconds`` the leases that ``owner`` still holds among
        ``keys`` (answering ones only); returns how many."""
        ...

    async def release_answers(self, keys: list[AnswerKey], owner: str) -> int:
        """End ``owner``'s leases on ``keys`` now, leaving them answering: whoever looks
        next (the next start) takes them at once. Returns how many were released."""
        ...

    async def save_delivery(self, key: AnswerKey, owner: str, delivery: Delivery) -> bool:
        """Record how far delivery got; False (nothing written) if ``owner`` no longer
        holds the answer or it is finished."""
        ...

    async def finish_answer(
        self, key: AnswerKey, owner: str, state: AnswerState, delivery: Delivery
    ) -> bool:
        """Mark the answer delivered or failed, with its final delivery; False (nothing
        written) if ``owner`` no longer holds it or it is finished already."""
        ...

    async def earlier_unfinished(self, key: AnswerKey) -> bool:
        """Whether an answer of the same conversation that was claimed before this one
        (in claim order, across every process) is still answering. A process waits while
        it is, so that the answers of one conversation are written one after the other,
        each seeing the ones before it. False for an unknown key."""
        ...

    async def get_answer(self, key: AnswerKey) -> AnswerRecord | None:
        """The record as stored, whatever its state (for tests and operators)."""
        ...

    async def answer_turns(
        self, conversation: ConversationRef, event_id: str
    ) -> tuple[Turn | None, Turn | None]:
        """The stored question (user turn) and reply (the assistant turn without tool
        calls) of that event, each None if not stored (turns are linked to it by
        ``NewTurn.event_id``; the tool steps of its answer carry it too)."""
        ...

    # -- usage -------------------------------------------------------------------------
    async def usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        """What the channel used on ``day`` and in total: tokens (cached and reasoning
        ones among them) and their cost, as ``add_reply`` counted them."""
        ...

    async def workspace_usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        """``usage`` summed over every channel of ``channel``'s workspace (DMs: the
        platform's channels without a workspace)."""
        ...

    # -- health ------------------------------------------------------------------------
    async def ping(self) -> None:
        """A trip to the database and back (``/readyz``); raises ``StoreError`` when it
        cannot be reached or the store is closed."""
        ...
