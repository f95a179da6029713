"""The engine: answers messages with memory and personas, runs commands.

Adapters (through ``adapters/common/pipeline.py``) call::

    if await engine.ledger.claim(message, route):        # once per platform event
        async with engine.reply(message) as reply:       # ReplyStream
            async for delta in reply:                    # text as the model writes it
                ...
            final_text = reply.text
    result = await engine.run_command(request)           # CommandResult

An answer taken over after a restart (``engine.ledger.take``) is written with
``engine.reply(record.message, resumed=True)``: its question is already stored and is
not stored again; a reply that was stored but never delivered is given back as it is.

Errors are ``core.errors`` types; ``core.errors.user_message(exc)`` is what to show.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from types import TracebackType

from core import metrics
from core.commands import Commands
from core.context import assemble, fit_newest, message_tokens
from core.errors import ChatwrightError, DailyBudgetExceeded, MessageTooLong, UserRateLimited
from core.ledger import AnswerLedger, LeasePolicy
from core.limits import SlidingWindowLimiter
from core.model.protocol import ChatModel
from core.serial import KeyedLocks
from core.store.protocol import Store
from core.tokens import TokenCounter, default_counter
from core.types import (
    ChannelRef,
    ChatMessage,
    ChatParams,
    CommandRequest,
    CommandResult,
    ConversationRef,
    IncomingMessage,
    NewTurn,
    Persona,
    Turn,
    Usage,
)

__all__ = ["EngineConfig", "Engine", "ReplyStream"]

log = logging.getLogger(__name__)

# Turns are read from the store in pages of this size until the token budget is full.
_HISTORY_PAGE = 64


@dataclass(frozen=True, slots=True)
class EngineConfig:
    default_persona: Persona
    model: str
    context_token_budget: int = 6000
    max_reply_tokens: int | None = None
    max_input_chars: int = 8000
    max_persona_chars: int = 4000
    user_messages_per_minute: int = 0
    channel_daily_token_budget: int = 0
    leases: LeasePolicy = LeasePolicy()


def _utc_today() -> date:
    return datetime.now(timezone.utc).date()


class Engine:
    def __init__(
        self,
        *,
        store: Store,
        model: ChatModel,
        config: EngineConfig,
        presets: Mapping[str, Persona] | None = None,
        counter: TokenCounter | None = None,
        today: Callable[[], date] = _utc_today,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.model = model
        self.config = config
        self.presets = dict(presets or {})
        self.counter = counter or default_counter()
        self._today = today
        self._locks = KeyedLocks()
        self._rate = SlidingWindowLimiter(config.user_messages_per_minute, 60.0, clock)
        self.ledger = AnswerLedger(store, config.leases)
        self.commands = Commands(
            store, self.presets, self.persona_for, self._forget, today, config.max_persona_chars
        )

    async def claim_event(self, platform: str, event_id: str) -> bool:
        """True the first time this platform event is seen; False for every repeat."""
        if not event_id:
            return True
        return await self.store.claim_event(platform, event_id)

    async def has_history(self, conversation: ConversationRef) -> bool:
        """Whether the conversation has stored turns (e.g. the bot already answered there)."""
        return bool(await self.store.recent_turns(conversation, 1))

    def reply(self, message: IncomingMessage, *, resumed: bool = False) -> ReplyStream:
        """The answer to ``message`` as a stream of text deltas (see ``ReplyStream``).

        ``resumed``: the answer was begun before (by a process that stopped): its question
        is looked up by ``message.event_id`` instead of being stored again, and a reply
        already stored is the answer, without asking the model again.
        """
        return ReplyStream(self, message, resumed)

    async def run_command(self, request: CommandRequest) -> CommandResult:
        return await self.commands.run(request)

    async def persona_for(self, channel: ChannelRef) -> tuple[Persona, str]:
        """The persona in force in a channel, and where it comes from."""
        persona = await self.store.get_persona(channel)
        if persona is not None:
            return persona, "set for this channel"
        persona = await self.store.get_persona(channel.workspace_default)
        if persona is not None:
            return persona, "the workspace default"
        return self.config.default_persona, "the built-in default"

    # -- the reply pipeline -------------------------------------------------------------
    async def _check_limits(self, message: IncomingMessage) -> None:
        if len(message.text) > self.config.max_input_chars:
            raise MessageTooLong(len(message.text), self.config.max_input_chars)
        conv = message.conversation
        wait = self._rate.acquire((conv.platform, conv.workspace, message.user_id))
        if wait:
            raise UserRateLimited(f"user {message.user_id} over the message rate", wait)
        budget = self.config.channel_daily_token_budget
        if budget:
            used = await self.store.usage(conv.channel_ref, self._today())
            if used.today.total_tokens >= budget:
                raise DailyBudgetExceeded(f"channel {conv.channel} used {used.today.total_tokens}")

    async def _stream(self, message: IncomingMessage, sink: ReplyStream) -> AsyncIterator[str]:
        await self._check_limits(message)
        async with self._locks.hold(message.conversation):
            user_tokens = self.counter.count(message.text)
            persona, chat = await self._context(message, user_tokens, None)
            # The user's message is stored while the model reads it (the write is off
            # the answer's path) and is waited for before any answer text is passed on,
            # and also when the model fails: no answer is ever shown or stored without
            # its question, and a model failure never loses the question.
            question = asyncio.ensure_future(
                self.store.add_turn(message.conversation, _user_turn(message, user_tokens)))
            try:
                async for delta in self._ask(message, sink, persona, chat, question):
                    yield delta
            finally:
                await question

    async def _resumed(self, message: IncomingMessage, sink: ReplyStream) -> AsyncIterator[str]:
        """An answer begun before: the stored reply if there is one, else asked again
        from the stored question (stored now only if it never was)."""
        async with self._locks.hold(message.conversation):
            question, reply = await self.store.answer_turns(message.conversation, message.event_id)
            if reply is not None:
                sink.parts.append(reply.content)
                sink.written = True
                yield reply.content
                return
            if question is None:
                user_tokens = self.counter.count(message.text)
                question = await self.store.add_turn(
                    message.conversation, _user_turn(message, user_tokens))
            # The context is what it was when the question came: the turns before it.
            persona, chat = await self._context(message, question.tokens, question.id)
            stored = asyncio.get_running_loop().create_future()
            stored.set_result(question)
            async for delta in self._ask(message, sink, persona, chat, stored):
                yield delta

    async def _context(
        self, message: IncomingMessage, user_tokens: int, before_id: int | None
    ) -> tuple[Persona, list[ChatMessage]]:
        """The persona in force, and the messages for the model: the persona's prompt,
        the history (older than ``before_id``) that fits the budget, the question."""
        persona, _ = await self.persona_for(message.conversation.channel_ref)
        history = await self._history(message, persona, user_tokens, before_id)
        return persona, assemble(persona.system_prompt, history, message.text)

    async def _ask(
        self, message: IncomingMessage, sink: ReplyStream, persona: Persona,
        chat: list[ChatMessage], question: asyncio.Future[Turn],
    ) -> AsyncIterator[str]:
        """The model's answer, passed on once ``question`` is stored; stored as the reply."""
        started = time.perf_counter()
        async for item in self.model.stream(chat, self._params(persona)):
            await question  # at once after the first time
            if isinstance(item, Usage):
                sink.usage = item
            elif item:
                sink.parts.append(item)
                yield item
        metrics.MODEL_LATENCY.observe(time.perf_counter() - started)
        sink.written = True
        await question
        await self._store_reply(message, sink, chat)

    async def _history(
        self, message: IncomingMessage, persona: Persona, user_tokens: int, before: int | None = None
    ) -> list[Turn]:
        """The newest turns (older than ``before``) that fit the budget, oldest first,
        read a page at a time."""
        budget = (
            self.config.context_token_budget
            - message_tokens(self.counter, persona.system_prompt)
            - user_tokens
        )
        taken: list[Turn] = []
        while budget > 0:
            page = await self.store.recent_turns(message.conversation, _HISTORY_PAGE, before)
            fitted, budget = fit_newest(page[::-1], budget)
            taken.extend(fitted)
            if len(fitted) < len(page) or len(page) < _HISTORY_PAGE:
                break
            before = page[0].id
        return taken[::-1]

    def _params(self, persona: Persona) -> ChatParams:
        return ChatParams(
            model=persona.model or self.config.model,
            temperature=persona.temperature,
            max_tokens=persona.max_tokens or self.config.max_reply_tokens,
        )

    async def _store_reply(
        self, message: IncomingMessage, sink: ReplyStream, chat: list[ChatMessage]
    ) -> None:
        text = sink.text
        # Local servers may send no usage; then we count ourselves.
        usage = sink.usage or Usage(_prompt_estimate(chat, self.counter), self.counter.count(text))
        sink.usage = usage
        turn = NewTurn("assistant", text, usage.completion_tokens, event_id=message.event_id)
        await self.store.add_reply(message.conversation, turn, usage, self._today())
        metrics.REPLIES.labels(message.conversation.platform).inc()
        metrics.TOKENS.labels("prompt").inc(usage.prompt_tokens)
        metrics.TOKENS.labels("completion").inc(usage.completion_tokens)

    async def _forget(self, request: CommandRequest) -> int:
        # Waits for a reply in progress, so forgetting never races a half-stored answer.
        async with self._locks.hold(request.conversation):
            return await self.store.forget(request.conversation)


class ReplyStream:
    """An answer being written. Iterate it for text deltas; ``text`` holds what came.

    Use it as ``async with engine.reply(msg) as reply:`` so that an adapter that stops
    early (e.g. its platform failed) still releases the conversation at once.
    """

    __slots__ = ("_engine", "message", "resumed", "parts", "usage", "written", "_iterator")

    def __init__(self, engine: Engine, message: IncomingMessage, resumed: bool = False) -> None:
        self._engine = engine
        self.message = message
        self.resumed = resumed
        self.parts: list[str] = []
        self.usage: Usage | None = None
        # The model has finished: ``text`` is the whole answer, though it may still be
        # being stored (the stream ends once it is).
        self.written = False
        self._iterator = self._run()

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterator

    async def __aenter__(self) -> ReplyStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._iterator.aclose()

    async def _run(self) -> AsyncIterator[str]:
        platform = self.message.conversation.platform
        engine = self._engine
        stream = engine._resumed if self.resumed else engine._stream
        try:
            async for delta in stream(self.message, self):
                yield delta
        except ChatwrightError as exc:
            metrics.ERRORS.labels(platform, type(exc).__name__).inc()
            log.warning("reply failed in %s: %r", _where(self.message), exc)
            raise
        except Exception as exc:
            metrics.ERRORS.labels(platform, type(exc).__name__).inc()
            log.exception("unexpected error replying in %s", _where(self.message))
            raise


def _user_turn(message: IncomingMessage, tokens: int) -> NewTurn:
    return NewTurn("user", message.text, tokens, message.user_id, message.user_name, message.event_id)


def _prompt_estimate(chat: list[ChatMessage], counter: TokenCounter) -> int:
    return sum(message_tokens(counter, m.content) for m in chat)


def _where(message: IncomingMessage) -> str:
    conv = message.conversation
    return f"{conv.platform}:{conv.workspace}/{conv.channel}/{conv.thread or '-'}"
