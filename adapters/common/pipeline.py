"""The answer pipeline, once for every platform: claim → answer → render → deliver.

An adapter parses its platform's event into an ``IncomingMessage`` and a ``Route``
(where to post) and calls ``accept`` before it acknowledges the event. From there on
the answer is durable (``core/answers.py``):

- ``accept`` records the answer in the store and starts writing it. A repeat of the
  event (Slack's retry, a replayed gateway event) finds the record: it is dropped when
  the answer is delivered or still held, and taken over when it was left unfinished.
- The answer is streamed into the platform's ``Renderer`` while the model writes (with
  what the bot is doing while no words come: ``ReplyStream.status``, e.g. the tools it
  runs; the final answer replaces it), then
  delivered part by part (``deliver``) and marked delivered, or failed once the user has
  been told why.
- ``start`` runs the resumer: every few seconds it takes over this platform's answers
  whose lease has run out (a crashed process, or a shutdown that could not wait), and
  answers them again from the stored question, or delivers the stored reply.
- Before it is answered, a message gets the adapter's last look (``prepare``, e.g.
  Slack puts people's names in for their ids), and the answer may read what was said
  before it in its thread (``thread``, once per conversation: ``core/thread_turns.py``).
  Both happen in the answer's task, never before the event is acknowledged.
- Who may talk to the bot is asked first (``access``, ``adapters/common/access.py``): a
  refused message is not recorded and not answered; its author gets one polite line
  (``REFUSED_TEXT``) at most once an hour, posted where the answer would have gone.
- ``drain`` (shutdown) stops taking answers, waits for those in flight up to a grace
  period, and leaves the rest to the next start with their leases released.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from collections.abc import Awaitable, Callable

from adapters.common.access import AccessGate
from adapters.common.delivery import DeliveryFailed, RetryPolicy, deliver
from adapters.common.renderer import Renderer, RendererFactory
from adapters.common.tasks import TaskSet
from core.access import EVERYONE, REFUSED_TEXT, AccessPolicy
from core.attachments import FileSource
from core.answers import AnswerKey, AnswerRecord, AnswerState, Delivery, Route
from core.engine import Engine
from core.errors import user_message
from core.log_context import answering
from core.threads import ThreadSource
from core.types import IncomingMessage

__all__ = ["RESTARTED_TEXT", "GAVE_UP_TEXT", "AnswerPipeline"]

log = logging.getLogger(__name__)

RESTARTED_TEXT = "I was restarted while answering this, and it is too long ago to pick up again. Please ask again."
GAVE_UP_TEXT = "I couldn't finish answering this after several tries. Please ask again."
# Answers taken over in one look; more are taken in the next look at once.
_RESUME_BATCH = 20
# The resumer looks at most this many seconds apart (less with short leases).
_MAX_RESUME_INTERVAL = 10.0
# How long an answer waits for an earlier one of its conversation, in leases: long
# enough for a crashed holder's lease to run out and its answer to be resumed.
_TURN_PATIENCE_LEASES = 3


@dataclass(slots=True)
class _Job:
    """One answer being written by this process."""

    message: IncomingMessage
    route: Route
    resumed: bool
    attempts: int = 1
    created_at: datetime | None = None
    delivery: Delivery = field(default_factory=Delivery)

    @property
    def key(self) -> AnswerKey:
        return (self.message.conversation.platform, self.message.event_id)

    @classmethod
    def of(cls, record: AnswerRecord) -> _Job:
        return cls(record.message, record.route, True, record.attempts, record.created_at, record.delivery)


class AnswerPipeline:
    def __init__(
        self,
        engine: Engine,
        platform: str,
        renderers: RendererFactory,
        *,
        files: FileSource | None = None,
        thread: ThreadSource | None = None,
        prepare: Callable[[IncomingMessage], Awaitable[IncomingMessage]] | None = None,
        retry: RetryPolicy = RetryPolicy(),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        access: AccessPolicy = EVERYONE,
    ) -> None:
        self._engine = engine
        self._files = files
        self._thread = thread
        # Must not raise: a name it could not find is left as it was.
        self._prepare = prepare
        self._ledger = engine.ledger
        self._platform = platform
        self._renderers = renderers
        self._retry = retry
        self._now = now
        self._tasks = TaskSet()
        self._jobs: dict[AnswerKey, _Job] = {}
        self._resumer: asyncio.Task[None] | None = None
        self._draining = False
        # Public: the adapter's commands and message commands ask the same gate.
        self.access = AccessGate(platform, access)

    # -- taking answers ----------------------------------------------------------------
    async def accept(self, message: IncomingMessage, route: Route) -> bool:
        """Record the event and answer it; False for a repeat that needs nothing.

        Returns once the record is in the store (acknowledge the event after that), not
        when the answer is done. While draining, a new event is recorded and left to the
        next start. False too for a message the access policy refuses.
        """
        if self.access.refused(message, f"event {message.event_id}"):
            self._tell_refused(message, route)
            return False
        if await self._ledger.claim(message, route):
            await self._answer_or_leave(_Job(message, route, resumed=False))
            return True
        record = await self._ledger.take((self._platform, message.event_id))
        if record is None:
            log.info("%s event %s: answered or being answered already", self._platform, message.event_id)
            return False
        log.info("%s event %s: repeated by the platform, resuming its unfinished answer",
                 self._platform, message.event_id)
        await self._answer_or_leave(_Job.of(record))
        return True

    def _tell_refused(self, message: IncomingMessage, route: Route) -> None:
        if self.access.notice_due(message):
            self._tasks.spawn(self._post_refusal(message, route), name=f"{self._platform}-refused:{message.event_id}")

    async def _post_refusal(self, message: IncomingMessage, route: Route) -> None:
        """The polite line, where the answer would have gone; best effort, not recorded.
        Made as for a resumed answer: a plain message, no live stream started for it."""
        try:
            renderer = await self._renderers(message, route, True)
            parts = renderer.failure_parts("", REFUSED_TEXT)
            await deliver(renderer, parts, Delivery(), _nothing_to_save, self._retry)
        except Exception as exc:  # noqa: BLE001 - the refusal stands without its notice
            log.warning("%s event %s: could not tell the user they are not answered: %s",
                        self._platform, message.event_id, exc)

    async def _answer_or_leave(self, job: _Job) -> None:
        """Answer a job just taken, or, while draining, leave it for the next start."""
        if self._draining:
            await self._ledger.release([job.key])
        else:
            self._spawn(job)

    def start(self) -> None:
        """Begin resuming unfinished answers of this platform (now, then every few seconds)."""
        if self._resumer is None and not self._draining:
            self._resumer = asyncio.create_task(self._resume_forever(), name=f"{self._platform}-resumer")

    async def drain(self, grace: float) -> tuple[int, int]:
        """Stop taking answers, let those in flight finish for up to ``grace`` seconds,
        and release the rest for the next start. Returns (finished, left)."""
        self._draining = True
        await self._stop_resumer()
        in_flight = len(self._jobs)
        log.info("%s: shutting down, %d answers in flight (waiting up to %.0f s)",
                 self._platform, in_flight, grace)
        await self._tasks.wait(grace)
        left = list(self._jobs)
        await self._tasks.aclose()
        try:
            await self._ledger.release(left)
        except Exception as exc:  # noqa: BLE001 - their leases run out by themselves
            log.warning("%s: could not release %d answers (%s); they resume once their leases run out",
                        self._platform, len(left), exc)
        log.info("%s: drained, %d answers finished, %d left for the next start",
                 self._platform, in_flight - len(left), len(left))
        return in_flight - len(left), len(left)

    # -- resuming ----------------------------------------------------------------------
    async def _resume_forever(self) -> None:
        interval = min(self._ledger.policy.lease_seconds / 2, _MAX_RESUME_INTERVAL)
        while True:
            taken = await self._resume_some()
            if taken < _RESUME_BATCH:
                await asyncio.sleep(interval)

    async def _resume_some(self) -> int:
        try:
            records = await self._ledger.take_expired(self._platform, _RESUME_BATCH)
        except Exception as exc:  # noqa: BLE001 - the next look tries again
            log.warning("%s: could not look for unfinished answers: %s", self._platform, exc)
            return 0
        for record in records:
            log.info("%s event %s: resuming an unfinished answer (attempt %d)",
                     self._platform, record.message.event_id, record.attempts)
            self._spawn(_Job.of(record))
        return len(records)

    async def _stop_resumer(self) -> None:
        resumer, self._resumer = self._resumer, None
        if resumer is not None:
            resumer.cancel()
            await asyncio.gather(resumer, return_exceptions=True)

    # -- one answer --------------------------------------------------------------------
    def _spawn(self, job: _Job) -> None:
        self._jobs[job.key] = job
        task = self._tasks.spawn(self._answer(job), name=f"{self._platform}-answer:{job.message.event_id}")
        if task is None:
            self._jobs.pop(job.key, None)
            self._ledger.forget(job.key)

    async def _answer(self, job: _Job) -> None:
        # Set inside the answer's own task: every line it logs, and every task it starts,
        # carries the event id (core/log_context.py).
        with answering(self._platform, job.message.event_id):
            try:
                await self._run(job)
            finally:
                self._jobs.pop(job.key, None)

    async def _run(self, job: _Job) -> None:
        try:
            renderer = await self._renderers(job.message, job.route, job.resumed)
        except Exception as exc:  # noqa: BLE001 - e.g. the channel is gone
            await self._undeliverable(job, DeliveryFailed(f"nowhere to answer: {exc}", transient=False))
            return
        try:
            parts, state = await self._write(job, renderer)
            job.delivery = await deliver(renderer, parts, job.delivery, lambda d: self._save(job, d), self._retry)
        except asyncio.CancelledError:
            await renderer.abandon()
            raise  # the drain releases the answer for the next start
        except DeliveryFailed as exc:
            await self._undeliverable(job, exc)
            return
        except Exception:
            # A bug or a store failure: let a later look try again (attempts are bounded).
            log.exception("%s event %s: answering failed", self._platform, job.message.event_id)
            await self._ledger.release([job.key])
            return
        if not await self._ledger.finish(job.key, state, job.delivery):
            log.warning("%s event %s: answered, but another process had taken the answer over",
                        self._platform, job.message.event_id)

    async def _write(self, job: _Job, renderer: Renderer) -> tuple[list[str], AnswerState]:
        """The parts to deliver: the answer, or what to tell the user instead."""
        refusal = self._give_up_reason(job)
        if refusal:
            return renderer.failure_parts("", refusal), "failed"
        await self._wait_turn(job)
        message = await self._prepare(job.message) if self._prepare is not None else job.message
        reply = self._engine.reply(message, resumed=job.resumed, files=self._files, thread=self._thread)
        try:
            async with reply:
                live = job.delivery.messages[0] if job.delivery.messages else None
                await renderer.start(lambda message_id: self._posted(job, message_id), lambda: reply.written, live)
                previews = _Previews(renderer, job)
                async for _ in reply:
                    await previews.show(reply.text, reply.status)
            await renderer.settle()
            return renderer.parts(reply.text), "delivered"
        except Exception as exc:  # noqa: BLE001 - every failure becomes a friendly message
            await renderer.settle()
            return renderer.failure_parts(reply.text, user_message(exc)), "failed"

    async def _wait_turn(self, job: _Job) -> None:
        """The answers of one conversation are written in the order they were claimed,
        whichever process took them, so each sees the ones before it."""
        patience = _TURN_PATIENCE_LEASES * self._ledger.policy.lease_seconds
        if not await self._ledger.wait_turn(job.key, patience):
            log.warning("%s event %s: an earlier answer of its conversation is still unfinished "
                        "after %.0f s; answering anyway", self._platform, job.message.event_id, patience)

    def _give_up_reason(self, job: _Job) -> str:
        if not job.resumed:
            return ""
        policy = self._ledger.policy
        if job.attempts > policy.max_attempts:
            log.warning("%s event %s: given up after %d attempts",
                        self._platform, job.message.event_id, job.attempts - 1)
            return GAVE_UP_TEXT
        if job.created_at is not None:
            age = (self._now() - job.created_at).total_seconds()
            if age > policy.resume_max_age_seconds:
                return RESTARTED_TEXT
        return ""

    async def _posted(self, job: _Job, message_id: str) -> None:
        """A message of the answer appeared while it was written: remember it durably."""
        job.delivery = job.delivery.with_message(0, message_id)
        await self._save(job, job.delivery)

    async def _save(self, job: _Job, delivery: Delivery) -> None:
        job.delivery = delivery
        if not await self._ledger.save(job.key, delivery):
            log.warning("%s event %s: another process has taken this answer over",
                        self._platform, job.message.event_id)

    async def _undeliverable(self, job: _Job, exc: DeliveryFailed) -> None:
        event = job.message.event_id
        if exc.transient:
            log.warning("%s event %s: %s; trying again later", self._platform, event, exc)
            await self._ledger.release([job.key])
        else:
            log.warning("%s event %s: %s; giving up", self._platform, event, exc)
            await self._ledger.finish(job.key, "failed", job.delivery)


async def _nothing_to_save(delivery: Delivery) -> None:
    """A refusal notice is not an answer: nothing about it is kept."""


class _Previews:
    """Passes the text so far, and the status when it changes, to the renderer; a preview
    that fails is logged once and previews stop, but the answer goes on (its delivery
    retries on its own)."""

    __slots__ = ("_renderer", "_job", "_failed", "_status")

    def __init__(self, renderer: Renderer, job: _Job) -> None:
        self._renderer = renderer
        self._job = job
        self._failed = False
        self._status = ""

    async def show(self, text: str, status: str) -> None:
        if self._failed:
            return
        try:
            if status != self._status:
                self._status = status
                await self._renderer.status(status)
            await self._renderer.update(text)
        except Exception as exc:  # noqa: BLE001 - see the class docstring
            self._failed = True
            log.warning("event %s: could not show the answer so far (%s); showing it when done",
                        self._job.message.event_id, exc)
