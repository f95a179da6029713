"""``AnswerLedger``: this process's side of the answer records (see ``core/answers.py``).

It claims and takes over answers under one ``owner`` id per process, and keeps the
leases of the answers it holds alive: while any is held, one background task renews
them all in one store call every third of a lease, and ends when none is held. A
process that dies stops renewing, so its answers' leases run out and another process
(or the next start) takes them over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass

from core.answers import AnswerKey, AnswerRecord, AnswerState, Delivery, Route
from core.log_context import without_event
from core.store.protocol import Store
from core.types import IncomingMessage

__all__ = ["AnswerLedger", "LeasePolicy", "new_owner_id"]

log = logging.getLogger(__name__)


def new_owner_id() -> str:
    """Unique per process start: the host and pid say who, the suffix tells restarts apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class LeasePolicy:
    # How long an answer stays held by a process that stopped renewing (crashed).
    lease_seconds: float = 30.0
    # An answer older than this is not asked again after a restart: the user is told.
    resume_max_age_seconds: float = 900.0
    # Takes of one answer (the first included) before it is given up as failed, so a
    # question that crashes the bot cannot crash it forever.
    max_attempts: int = 3


class AnswerLedger:
    def __init__(self, store: Store, policy: LeasePolicy = LeasePolicy(), owner: str | None = None) -> None:
        self._store = store
        self.policy = policy
        self.owner = owner or new_owner_id()
        self._held: set[AnswerKey] = set()
        self._renewer: asyncio.Task[None] | None = None
        # Set (and replaced) whenever an answer of this process ends: waiters for their
        # turn wake at once instead of at their next look.
        self._ended = asyncio.Event()

    @property
    def held(self) -> frozenset[AnswerKey]:
        return frozenset(self._held)

    async def claim(self, message: IncomingMessage, route: Route) -> bool:
        """True if this is the first time the event is seen; it is then held here."""
        claimed = await self._store.claim_answer(message, route, self.owner, self.policy.lease_seconds)
        if claimed:
            self._hold((message.conversation.platform, message.event_id))
        return claimed

    async def take(self, key: AnswerKey) -> AnswerRecord | None:
        """The answer, if it was left unfinished by a process that no longer holds it."""
        record = await self._store.take_answer(key, self.owner, self.policy.lease_seconds)
        if record is not None:
            self._hold(key)
        return record

    async def take_expired(self, platform: str, limit: int) -> list[AnswerRecord]:
        records = await self._store.take_expired_answers(
            platform, self.owner, self.policy.lease_seconds, limit)
        for record in records:
            self._hold(record.key)
        return records

    async def save(self, key: AnswerKey, delivery: Delivery) -> bool:
        return await self._store.save_delivery(key, self.owner, delivery)

    async def finish(self, key: AnswerKey, state: AnswerState, delivery: Delivery) -> bool:
        try:
            return await self._store.finish_answer(key, self.owner, state, delivery)
        finally:
            self._held.discard(key)
            self._announce_end()

    async def release(self, keys: list[AnswerKey]) -> int:
        """Let go of ``keys`` now, unfinished: the next look (a restart) takes them at once."""
        for key in keys:
            self._held.discard(key)
        return await self._store.release_answers(keys, self.owner) if keys else 0

    async def wait_turn(self, key: AnswerKey, patience: float) -> bool:
        """Wait while an answer of the same conversation claimed earlier (by any
        process) is unfinished; False if that took over ``patience`` seconds and the
        answer goes ahead anyway (the earlier one is stuck: lost with its platform, say).

        Answers of this process wake it as they end; another process's are seen at the
        next look, at most a second apart.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        pause = 0.02
        while await self._store.earlier_unfinished(key):
            if loop.time() >= deadline:
                return False
            ended = self._ended
            try:
                await asyncio.wait_for(ended.wait(), pause)
            except TimeoutError:
                pause = min(pause * 2, 1.0)
        return True

    def _announce_end(self) -> None:
        ended, self._ended = self._ended, asyncio.Event()
        ended.set()

    def forget(self, key: AnswerKey) -> None:
        """Stop renewing ``key`` without touching its record (its lease will run out)."""
        self._held.discard(key)

    async def aclose(self) -> None:
        """Stop renewing (the leases then run out); the records stay as they are."""
        self._held.clear()
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)

    def _hold(self, key: AnswerKey) -> None:
        self._held.add(key)
        if self._renewer is None:
            # It serves every answer: its lines carry none's event id (core/log_context.py).
            self._renewer = asyncio.create_task(self._renew_while_held(), name="answer-leases",
                                                context=without_event())

    async def _renew_while_held(self) -> None:
        every = self.policy.lease_seconds / 3
        try:
            while self._held:
                await asyncio.sleep(every)
                if not self._held:
                    break
                try:
                    await self._store.renew_answers(sorted(self._held), self.owner, self.policy.lease_seconds)
                except Exception as exc:  # noqa: BLE001 - the next round tries again
                    log.warning("could not renew the leases of %d answers: %s", len(self._held), exc)
        finally:
            self._renewer = None
