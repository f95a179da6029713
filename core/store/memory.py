"""``InMemoryStore``: the ``Store`` on plain dicts and lists, for fast unit tests.

It passes the same contract tests as ``SQLiteStore`` (including "open first" and
"closed is closed"), so engine tests written against it hold for the real store.
Nothing is durable; each method runs without awaiting, so each is atomic by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from core.answers import AnswerKey, AnswerRecord, AnswerState, Delivery, Route
from core.errors import StoreError
from core.store.lifecycle import OpenedInContext
from core.store.values import after, checked_keep, image_bytes, utc_now
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

__all__ = ["InMemoryStore"]

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class _StoredAnswer:
    """A record and what the store keeps beside it, as ``SQLiteStore``'s columns do."""

    record: AnswerRecord
    lease_until: datetime
    updated_at: datetime


_NONE = Usage(0, 0)


class InMemoryStore(OpenedInContext):
    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._state = "new"
        self._last_turn_id = 0
        self._turns: dict[ConversationRef, list[Turn]] = {}
        self._personas: dict[ChannelRef, Persona] = {}
        self._audit: list[PersonaChange] = []
        self._channel_tools: dict[ChannelRef, frozenset[str]] = {}
        self._tools_audit: list[ToolsChange] = []
        self._events: dict[tuple[str, str], datetime] = {}
        self._usage: dict[tuple[ChannelRef, date], Usage] = {}
        # Each person's latest 👍 (True) or 👎 on each answer, by channel.
        self._feedback: dict[ChannelRef, dict[tuple[str, str], bool]] = {}
        self._answers: dict[AnswerKey, _StoredAnswer] = {}
        # Turns linked to an event, by conversation (``forget`` drops them with the rest):
        # the newest question and reply per (event id, role); an answer's tool steps
        # share its event but are neither.
        self._event_turns: dict[ConversationRef, dict[tuple[str, str], Turn]] = {}
        # Image bytes by turn id, then by position in ``Turn.images``.
        self._image_data: dict[int, dict[int, bytes]] = {}

    # -- lifecycle ---------------------------------------------------------------------
    async def open(self) -> None:
        if self._state == "closed":
            raise StoreError("InMemoryStore is closed")
        self._state = "open"

    async def aclose(self) -> None:
        self._state = "closed"

    # -- turns -------------------------------------------------------------------------
    async def add_turn(self, conversation: ConversationRef, turn: NewTurn) -> Turn:
        self._check_open()
        data = image_bytes(turn)
        self._last_turn_id += 1
        stored = Turn(self._last_turn_id, turn.role, turn.content, turn.tokens,
                      turn.author_id, turn.author_name, self._now(), turn.images,
                      turn.tool_calls, turn.tool_call_id)
        self._turns.setdefault(conversation, []).append(stored)
        if data:
            self._image_data[stored.id] = dict(enumerate(data))
        if turn.event_id and turn.role != "tool" and not turn.tool_calls:
            self._event_turns.setdefault(conversation, {})[(turn.event_id, turn.role)] = stored
        return stored

    async def add_reply(
        self, conversation: ConversationRef, turn: NewTurn, usage: Usage, day: date
    ) -> Turn:
        stored = await self.add_turn(conversation, turn)
        key = (conversation.channel_ref, day)
        self._usage[key] = self._usage.get(key, _NONE) + usage
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
        self._event_turns.pop(conversation, None)
        turns = self._turns.pop(conversation, [])
        self._drop_images(turns)
        return len(turns)

    # -- images of user turns ----------------------------------------------------------
    async def image_data(self, turn_ids: Sequence[int]) -> dict[tuple[int, int], bytes]:
        self._check_open()
        return {(turn_id, position): blob for turn_id in dict.fromkeys(turn_ids)
                for position, blob in self._image_data.get(turn_id, {}).items()}

    async def prune_images(self, conversation: ConversationRef, keep_user_turns: int) -> int:
        self._check_open()
        keep = checked_keep(keep_user_turns)
        asked = [turn for turn in self._turns.get(conversation, []) if turn.role == "user"]
        return self._drop_images(asked[:max(0, len(asked) - keep)])

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

    # -- tools chosen per channel ------------------------------------------------------
    async def get_channel_tools(self, channel: ChannelRef) -> frozenset[str] | None:
        self._check_open()
        return self._channel_tools.get(channel)

    async def set_channel_tools(
        self, channel: ChannelRef, tools: frozenset[str] | None, actor_id: str, actor_name: str
    ) -> ToolsChange:
        self._check_open()
        before = self._channel_tools.pop(channel, None)
        if tools is not None:
            self._channel_tools[channel] = frozenset(tools)
        change = ToolsChange(channel, actor_id, actor_name, before, tools, self._now())
        self._tools_audit.append(change)
        return change

    async def tools_history(self, channel: ChannelRef, limit: int) -> list[ToolsChange]:
        self._check_open()
        if limit <= 0:
            return []
        newest_first = (change for change in reversed(self._tools_audit)
                        if change.channel == channel)
        return [change for change, _ in zip(newest_first, range(limit))]

    # -- feedback on answers -----------------------------------------------------------
    async def record_feedback(self, feedback: Feedback) -> None:
        self._check_open()
        given = self._feedback.setdefault(feedback.channel, {})
        given[(feedback.answer_id, feedback.user_id)] = feedback.helpful

    async def feedback_totals(self, channel: ChannelRef) -> FeedbackTotals:
        self._check_open()
        helpful = list(self._feedback.get(channel, {}).values())
        return FeedbackTotals(helpful.count(True), helpful.count(False))

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
        # Answers still answering are never pruned, however old: one is in flight.
        finished = [key for key, stored in self._answers.items()
                    if stored.record.state != "answering" and stored.updated_at < cutoff]
        for key in finished:
            del self._answers[key]
        return len(stale) + len(finished)

    # -- answers -----------------------------------------------------------------------
    async def claim_answer(
        self, message: IncomingMessage, route: Route, owner: str, lease_seconds: float
    ) -> bool:
        self._check_open()
        key = (message.conversation.platform, message.event_id)
        if key in self._answers:
            return False
        now = self._now()
        record = AnswerRecord(message, dict(route), "answering", owner, 1, Delivery(), now)
        self._answers[key] = _StoredAnswer(record, after(now, lease_seconds), now)
        return True

    async def take_answer(
        self, key: AnswerKey, owner: str, lease_seconds: float
    ) -> AnswerRecord | None:
        self._check_open()
        stored = self._answers.get(key)
        if stored is None or not self._expired(stored):
            return None
        return self._take(key, owner, lease_seconds)

    async def take_expired_answers(
        self, platform: str, owner: str, lease_seconds: float, limit: int
    ) -> list[AnswerRecord]:
        self._check_open()
        # Dicts keep insertion order, so answers claimed at the same moment stay in
        # claim order (the stable sort keeps it).
        expired = sorted((key for key, stored in self._answers.items()
                          if key[0] == platform and self._expired(stored)),
                         key=lambda key: self._answers[key].record.created_at)
        return [self._take(key, owner, lease_seconds) for key in expired[:max(limit, 0)]]

    async def renew_answers(self, keys: list[AnswerKey], owner: str, lease_seconds: float) -> int:
        self._check_open()
        return self._set_leases(keys, owner, after(self._now(), lease_seconds))

    async def release_answers(self, keys: list[AnswerKey], owner: str) -> int:
        self._check_open()
        # A lease ending now is over (``lease_until <= now``); the owner stays, as in SQLite.
        return self._set_leases(keys, owner, self._now())

    async def save_delivery(self, key: AnswerKey, owner: str, delivery: Delivery) -> bool:
        self._check_open()
        return self._update_held(key, owner, "answering", delivery)

    async def finish_answer(
        self, key: AnswerKey, owner: str, state: AnswerState, delivery: Delivery
    ) -> bool:
        if state not in ("delivered", "failed"):
            raise ValueError(f"an answer finishes delivered or failed, not {state!r}")
        self._check_open()
        return self._update_held(key, owner, state, delivery)

    async def earlier_unfinished(self, key: AnswerKey) -> bool:
        self._check_open()
        mine = self._answers.get(key)
        if mine is None:
            return False
        # Dicts keep insertion order, and a record is inserted when it is claimed.
        for other_key, other in self._answers.items():
            if other_key == key:
                return False
            record = other.record
            if record.state == "answering" and record.conversation == mine.record.conversation:
                return True
        return False

    async def get_answer(self, key: AnswerKey) -> AnswerRecord | None:
        self._check_open()
        stored = self._answers.get(key)
        return None if stored is None else stored.record

    async def answer_turns(
        self, conversation: ConversationRef, event_id: str
    ) -> tuple[Turn | None, Turn | None]:
        self._check_open()
        linked = self._event_turns.get(conversation, {})
        # "" links nothing (``add_turn`` never files a turn under it).
        return (linked.get((event_id, "user")), linked.get((event_id, "assistant")))

    # -- usage -------------------------------------------------------------------------
    async def usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        self._check_open()
        return self._totals(lambda ref: ref == channel, day)

    async def workspace_usage(self, channel: ChannelRef, day: date) -> UsageTotals:
        self._check_open()
        return self._totals(
            lambda ref: (ref.platform, ref.workspace) == (channel.platform, channel.workspace), day)

    def _totals(self, counted: Callable[[ChannelRef], bool], day: date) -> UsageTotals:
        today, total = _NONE, _NONE
        for (ref, used_on), used in self._usage.items():
            if counted(ref):
                total += used
                if used_on == day:
                    today += used
        return UsageTotals(today, total)

    # -- helpers -----------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._state != "open":
            state = "closed" if self._state == "closed" else "not open (await open() first)"
            raise StoreError(f"InMemoryStore is {state}")

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _drop_images(self, turns: Iterable[Turn]) -> int:
        """Delete the bytes of those turns' images; returns how many there were."""
        return sum(len(self._image_data.pop(turn.id, {})) for turn in turns)

    def _expired(self, stored: _StoredAnswer) -> bool:
        return stored.record.state == "answering" and stored.lease_until <= self._now()

    def _holds(self, stored: _StoredAnswer | None, owner: str) -> bool:
        return (stored is not None and stored.record.state == "answering"
                and stored.record.owner == owner)

    def _take(self, key: AnswerKey, owner: str, lease_seconds: float) -> AnswerRecord:
        stored, now = self._answers[key], self._now()
        record = replace(stored.record, owner=owner, attempts=stored.record.attempts + 1)
        self._answers[key] = _StoredAnswer(record, after(now, lease_seconds), now)
        return record

    def _set_leases(self, keys: list[AnswerKey], owner: str, until: datetime) -> int:
        held = [key for key in dict.fromkeys(keys) if self._holds(self._answers.get(key), owner)]
        for key in held:
            self._answers[key] = replace(self._answers[key], lease_until=until,
                                         updated_at=self._now())
        return len(held)

    def _update_held(
        self, key: AnswerKey, owner: str, state: AnswerState, delivery: Delivery
    ) -> bool:
        stored = self._answers.get(key)
        if stored is None or not self._holds(stored, owner):
            return False
        record = replace(stored.record, state=state, delivery=delivery)
        self._answers[key] = replace(stored, record=record, updated_at=self._now())
        return True

    async def ping(self) -> None:
        self._check_open()
