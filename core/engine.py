"""The engine: answers messages with memory and personas, runs commands.

Adapters (through ``adapters/common/pipeline.py``) call::

    if await engine.ledger.claim(message, route):        # once per platform event
        async with engine.reply(message) as reply:       # ReplyStream
            async for delta in reply:                    # text as the model writes it
                ...
            final_text = reply.text
    result = await engine.run_command(request)           # CommandResult

A message with files (``message.files``) needs the adapter's ``FileSource``:
``engine.reply(message, files=source)``; the files are fetched and read (outside the
conversation's lock) before the answer, and notices about them ("I couldn't read …")
come first in the stream, before the model's text (``ReplyStream.preface``).

A message that may be in a thread the bot has not answered in before comes with the
adapter's ``ThreadSource``: ``engine.reply(message, files=source, thread=thread)``. When
the conversation has no stored turns yet, what was said before the question is read
from it once and stored first (``core/thread_turns.py``); a conversation with turns
never calls it.

An answer taken over after a restart (``engine.ledger.take``) is written with
``engine.reply(record.message, resumed=True)``: its question is already stored and is
not stored again; a reply that was stored but never delivered is given back as it is.

Where tools are enabled (``core/tools/policy.py``), the model may ask for them: the
calls run (``core/tools/runner.py``), their results go back to the model, and it is
asked again, a bounded number of times (``ToolLimits``). Meanwhile ``ReplyStream.status``
says what is going on ("Running time…"), and the stream yields "" whenever it changes
and every ``STATUS_WAKE`` seconds while tools run (``core/tool_steps.py``), so that a
reader can show it.

Errors are ``core.errors`` types; ``core.errors.user_message(exc)`` is what to show.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from operator import attrgetter

from core import metrics
from core.attachments import FileSource, IncomingFile, fetch_and_prepare
from core.commands import Commands
from core.budgets import DailyBudgets
from core.context import CHARS_PER_TOKEN, MESSAGE_OVERHEAD, fit_newest, message_tokens, whole_tool_steps
from core.errors import (
    AttachmentRefused,
    ChatwrightError,
    ContextTooLongError,
    MalformedResponseError,
    MessageTooLong,
    RequestRejectedError,
    UserRateLimited,
)
from core.ledger import AnswerLedger, LeasePolicy
from core.limits import SlidingWindowLimiter
from core.pricing import priced
from core.model.catalog import ModelCatalog
from core.model_limits import ModelLimits, ModelLimitsBook, trimmed_history
from core.model.protocol import ChatModel, StreamItem
from core.image_memory import IMAGES_REFUSED, FilePolicy, ImageWindow, images_of
from core.questions import ImageBytes, Question, history_message
from core.reply_stream import ReplyStream
from core.serial import KeyedLocks
from core.stable_context import ContextStarts, stable_window
from core.store.protocol import Store
from core.thread_turns import THREAD_SHARE, earlier_turns
from core.threads import ThreadSource
from core.tokens import RememberingCounter, TokenCounter, default_counter
from core.tools.policy import ToolLimits, enabled_tools
from core.tools.registry import ToolRegistry
from core.tool_steps import THINKING, TOOLS_EXHAUSTED, Notice, Step, apart, run_step, running, store_step, with_ids
from core.types import (
    ChannelRef,
    ChatMessage,
    ChatParams,
    CommandRequest,
    CommandResult,
    ConversationRef,
    FileRef,
    IncomingMessage,
    NewTurn,
    Persona,
    ToolCall,
    Turn,
    Usage,
)

__all__ = ["EngineConfig", "Engine", "ReplyStream"]

log = logging.getLogger(__name__)

# In C: a history of hundreds of turns is summed on every message.
_tokens = attrgetter("tokens")
# Turns are read from the store in pages of this size until the token budget is full.
_HISTORY_PAGE = 64
# Files' text may take this share of what the context budget leaves after the persona
# and the question's own text, so that the recent history still fits beside it.
_FILES_SHARE = 0.75


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
    # A channel's daily budget in US dollars at the models' prices; 0: none.
    channel_daily_budget_usd: float = 0.0
    # When the history no longer fits, this share of the budget is freed at once, so that
    # the next requests share their prefix (core/stable_context.py); 0: one turn at a time.
    context_trim_share: float = 0.08
    leases: LeasePolicy = LeasePolicy()
    files: FilePolicy = FilePolicy()
    tools: ToolLimits = ToolLimits()
    # Earlier messages of a thread read when the bot is first asked there
    # [THREAD_CONTEXT_MESSAGES]; 0: none.
    thread_context_messages: int = 50
    # Which models exist and what each can take (MODELS_FILE); None: only ``model``,
    # with the values above.
    models: ModelCatalog | None = None


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
        tools: ToolRegistry | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.config = config
        # Every tool the bot has; which a channel may use is ``core/tools/policy.py``'s.
        self.tools = tools if tools is not None else ToolRegistry()
        self.presets = dict(presets or {})
        self.counter = counter or default_counter()
        # Personas' prompts are counted for every message: once is enough.
        self._prompts = RememberingCounter(self.counter)
        self._today = today
        self._locks = KeyedLocks()
        self._rate = SlidingWindowLimiter(config.user_messages_per_minute, 60.0, clock)
        self._limits, self._limits_config = _limits_book(config), config
        # Where each conversation's context starts, so that it keeps its prefix.
        self._starts = ContextStarts()
        self.ledger = AnswerLedger(store, config.leases)
        self.commands = Commands(
            store, self.presets, self.persona_for, self._forget, today, config.max_persona_chars,
            tools=self.tools, tool_limits=config.tools,
            models=config.models or ModelCatalog({}, default_model=config.model),
        )

    async def claim_event(self, platform: str, event_id: str) -> bool:
        """True the first time this platform event is seen; False for every repeat."""
        if not event_id:
            return True
        return await self.store.claim_event(platform, event_id)

    async def has_history(self, conversation: ConversationRef) -> bool:
        """Whether the conversation has stored turns (e.g. the bot already answered there)."""
        return bool(await self.store.recent_turns(conversation, 1))

    def reply(
        self, message: IncomingMessage, *, resumed: bool = False, files: FileSource | None = None,
        thread: ThreadSource | None = None,
    ) -> ReplyStream:
        """The answer to ``message`` as a stream of text deltas (see ``ReplyStream``).

        ``resumed``: the answer was begun before (by a process that stopped): its question
        is looked up by ``message.event_id`` instead of being stored again, and a reply
        already stored is the answer, without asking the model again.
        ``files``: where ``message.files`` are fetched from (the adapter's source).
        ``thread``: where the earlier messages of ``message``'s thread are read from, if
        the conversation has no turns yet (see the module's docstring).
        """
        return ReplyStream(self, message, resumed, files or _NO_FILES, thread)

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

    def limits_for(self, persona: Persona) -> ModelLimits:
        """The model an answer under ``persona`` is written by, and its limits: the context
        budget and reply cap within its window, vision, tools (``core/model_limits.py``)."""
        if self._limits_config is not self.config:  # replaced since (tests do)
            self._limits, self._limits_config = _limits_book(self.config), self.config
        return self._limits.of(persona)

    # -- the reply pipeline -------------------------------------------------------------
    async def _check_limits(self, message: IncomingMessage) -> None:
        if len(message.text) > self.config.max_input_chars:
            raise MessageTooLong(len(message.text), self.config.max_input_chars)
        conv = message.conversation
        wait = self._rate.acquire((conv.platform, conv.workspace, message.user_id))
        if wait:
            raise UserRateLimited(f"user {message.user_id} over the message rate", wait)
        budgets = DailyBudgets(self.config.channel_daily_token_budget, self.config.channel_daily_budget_usd)
        if budgets:
            used = await self.store.usage(conv.channel_ref, self._today())
            budgets.check(conv.channel, used.today)

    async def _stream(self, message: IncomingMessage, sink: ReplyStream) -> AsyncIterator[str]:
        await self._check_limits(message)
        # Fetching and reading files can take seconds: not while holding the conversation.
        question = await self._question(message, sink.files)
        if question.preface:
            sink.preface = question.preface
            sink.parts.append(question.preface)
            yield question.preface
        async with self._locks.hold(message.conversation):
            tokens = question.tokens(self.counter)
            persona, chat, prompt_tokens, old_images = await self._context(
                message, question, tokens, None, sink)
            # The user's message is stored while the model reads it (the write is off
            # the answer's path) and is waited for before any answer text is passed on,
            # and also when the model fails: no answer is ever shown or stored without
            # its question, and a model failure never loses the question.
            stored = asyncio.ensure_future(
                self.store.add_turn(message.conversation, question.new_turn(message, tokens)))
            try:
                async for delta in self._ask(message, sink, persona, chat, prompt_tokens, stored):
                    yield delta
            finally:
                await stored
            if old_images:
                await self._prune_images(message.conversation)

    async def _resumed(self, message: IncomingMessage, sink: ReplyStream) -> AsyncIterator[str]:
        """An answer begun before: the stored reply if there is one, else asked again
        from the stored question (stored now only if it never was)."""
        question: Question | None = None
        if not (await self.store.answer_turns(message.conversation, message.event_id))[0]:
            # Never stored: its files are fetched again (outside the lock), as for a new one.
            question = await self._question(message, sink.files)
        async with self._locks.hold(message.conversation):
            stored, reply = await self.store.answer_turns(message.conversation, message.event_id)
            if reply is not None:
                sink.parts.append(reply.content)
                sink.written = True
                yield reply.content
                return
            if stored is None:
                question = question or await self._question(message, sink.files)
                stored = await self.store.add_turn(
                    message.conversation, question.new_turn(message, question.tokens(self.counter)))
            else:
                question = Question.stored(stored, await self._image_bytes([stored]))
            # The context is what it was when the question came: the turns before it. Tool
            # steps stored for this event before the restart come after the question, so
            # they are not in it: the tool loop runs again from the start. (They stay in
            # the conversation, whole or left out by ``whole_tool_steps``.)
            # (The thread is not read: its turns would come after the question's. A
            # question never stored means a crash in the moment before; rare enough.)
            persona, chat, prompt_tokens, old_images = await self._context(
                message, question, stored.tokens, stored.id, None)
            done = asyncio.get_running_loop().create_future()
            done.set_result(stored)
            async for delta in self._ask(message, sink, persona, chat, prompt_tokens, done):
                yield delta
            if old_images:
                await self._prune_images(message.conversation)

    async def _question(self, message: IncomingMessage, source: FileSource) -> Question:
        """The message as the model reads it: with its files fetched and read."""
        if not message.files:
            return Question.of(message)
        persona, _ = await self.persona_for(message.conversation.channel_ref)
        policy = self.config.files
        vision = self._vision(persona)
        room = (self.limits_for(persona).context_budget - message_tokens(self._prompts, persona.system_prompt)
                - message_tokens(self.counter, message.text))
        text_budget = int(max(room, 0) * _FILES_SHARE * CHARS_PER_TOKEN)
        limits = replace(policy.limits, text_budget=max(1, min(policy.limits.text_budget, text_budget)))
        started = time.perf_counter()
        prepared = await fetch_and_prepare(message.files, source, limits, vision=vision)
        metrics.FILES_LATENCY.observe(time.perf_counter() - started)
        return Question.with_files(message, prepared)

    async def _context(
        self, message: IncomingMessage, question: Question, question_tokens: int,
        before_id: int | None, sink: ReplyStream | None,
    ) -> tuple[Persona, list[ChatMessage], int, bool]:
        """The persona in force; the messages for the model: the persona's prompt, the
        history (older than ``before_id``) that fits the budget, the question; their
        estimated tokens; and whether the history holds images past their time (to
        prune). ``sink``: the answer whose thread (``sink.thread``) is read if the
        conversation has no turns."""
        persona, _ = await self.persona_for(message.conversation.channel_ref)
        fixed = message_tokens(self._prompts, persona.system_prompt) + question_tokens
        history, old_images = await self._history(message, persona, fixed, before_id, sink)
        chat = [ChatMessage("system", persona.system_prompt)] if persona.system_prompt else []
        chat += await self._history_messages(history, persona)
        chat.append(question.chat_message())
        prompt_tokens = fixed + sum(map(_tokens, history)) + MESSAGE_OVERHEAD * len(history)
        return persona, chat, prompt_tokens, old_images

    async def _ask(
        self, message: IncomingMessage, sink: ReplyStream, persona: Persona,
        chat: list[ChatMessage], prompt_tokens: int, question: asyncio.Future[Turn],
    ) -> AsyncIterator[str]:
        """The model's answer, passed on once ``question`` is stored; stored as the reply.
        Where tools are enabled, the model's tool steps come first (``_tool_steps``)."""
        limits = self.limits_for(persona)
        sink.model = limits.model
        params = self._params(persona, limits, prompt_tokens)
        steps: list[Step] = []
        enabled = frozenset[str]()
        if limits.tools:  # a model that can't take tools is not offered any
            enabled = await self._enabled_tools(message.conversation.channel_ref, persona)
        if enabled:
            answer = self._tool_steps(message, sink, params, chat, question, enabled, steps, limits)
        else:
            answer = self._step(chat, params, sink, question, steps, limits)
        async for delta in answer:
            yield delta
        sink.written = True
        await question
        await self._store_reply(message, sink, steps)

    async def _enabled_tools(self, channel: ChannelRef, persona: Persona) -> frozenset[str]:
        if not self.tools.names():
            return frozenset()  # most bots: no store read for it
        return await enabled_tools(self.store, self.tools, channel, persona, self.config.tools)

    async def _step(
        self, chat: list[ChatMessage], params: ChatParams, sink: ReplyStream,
        question: asyncio.Future[Turn], steps: list[Step], limits: ModelLimits,
    ) -> AsyncIterator[str]:
        """One model call: its text passed on (once ``question`` is stored), its tool
        calls and usage kept in a new ``Step`` appended to ``steps``.

        An empty answer (no text, no calls; or a stream that ended before its end marker
        with nothing in it) to a prompt near the model's window is what some servers
        (llama.cpp) send when the prompt did not fit: asked once more with the older half
        of the history left out (``chat`` keeps the cut), then ``ContextTooLongError``.
        An empty answer to a small prompt is left as it is."""
        step = Step()
        steps.append(step)
        started = time.perf_counter()
        for attempt in (1, 2):
            failure: MalformedResponseError | None = None
            try:
                async for delta in self._step_items(chat, params, sink, question, steps, step):
                    yield delta
            except MalformedResponseError as exc:
                failure = exc
            empty = not (step.parts or step.calls)
            # Empty again once trimmed: the prompt is still the cause.
            overflow = empty and (attempt == 2 or limits.near_window(_prompt_estimate(chat, self.counter)))
            if not overflow:
                if failure is not None:
                    raise failure
                break
            shorter = trimmed_history(chat)
            if attempt == 2 or len(shorter) == len(chat):
                raise ContextTooLongError(
                    f"model {limits.model} sent an empty answer to a prompt near its window "
                    f"({limits.window} tokens)") from failure
            log.warning("model %s sent an empty answer to a prompt near its window (%s tokens); "
                        "asking again with half the history", limits.model, limits.window)
            metrics.MODEL_RETRIES.labels("empty_answer").inc()
            chat[:] = shorter
            step.usage = None
        metrics.MODEL_LATENCY.observe(time.perf_counter() - started)
        if step.usage is None:  # local servers may send none; then we count ourselves
            written = self.counter.count(step.text + "".join(c.name + c.arguments for c in step.calls))
            step.usage = Usage(_prompt_estimate(chat, self.counter), written)

    async def _step_items(
        self, chat: list[ChatMessage], params: ChatParams, sink: ReplyStream,
        question: asyncio.Future[Turn], steps: list[Step], step: Step,
    ) -> AsyncIterator[str]:
        """The model's stream for ``step``: text passed on, the rest kept in ``step``."""
        async for item in self._model_stream(chat, params, sink):
            await question  # at once after the first time
            if isinstance(item, str):
                if not item:
                    continue
                if sink.status:
                    sink.status = ""
                step.parts.append(item)
                if len(step.parts) == 1 and len(steps) > 1:
                    item = apart(steps, sink.text, item)
                sink.parts.append(item)
                yield item
            elif isinstance(item, Usage):
                step.usage = item
            elif isinstance(item, ToolCall):
                step.calls.append(item)
            else:  # the notice that the images were refused: the answer's preface
                sink.preface += item.text
                sink.parts.append(item.text)
                yield item.text

    async def _tool_steps(
        self, message: IncomingMessage, sink: ReplyStream, params: ChatParams,
        chat: list[ChatMessage], question: asyncio.Future[Turn], enabled: frozenset[str],
        steps: list[Step], limits: ModelLimits,
    ) -> AsyncIterator[str]:
        """Ask with the enabled tools; while the model asks for some, run them and ask
        again with their results. At most ``max_steps`` steps may call tools, and none
        after ``total_timeout``: the step after those is asked without tools, so that the
        model answers in words. Every step is in ``steps``; the last one is the reply.

        Text the model writes beside its calls is shown as part of the answer (it often
        says what it is about to look up) and stored with the calls; the reply stored is
        the last step's text.
        """
        limits = self.config.tools
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limits.total_timeout
        with_tools = replace(params, tools=self.tools.specs(enabled))
        chat = list(chat)  # the steps are added to this answer's copy
        for number in range(limits.max_steps + 1):
            last = number == limits.max_steps or loop.time() >= deadline
            step_params = params if last else with_tools
            async for delta in self._step(chat, step_params, sink, question, steps, limits):
                yield delta
            step = steps[-1]
            if last or not step.calls:
                break
            calls = with_ids(step.calls, number)
            sink.status = running(calls, self.tools)
            yield ""  # the status changed
            results: list[str] = []
            async for wake in run_step(calls, self.tools, enabled, self.config.tools, deadline, results):
                yield wake
            await question
            await store_step(self.store, self.counter, message.conversation, message.event_id, step, calls,
                             results)
            chat.append(ChatMessage("assistant", step.text, (), calls))
            chat.extend(ChatMessage("tool", result, (), (), call.id) for call, result in zip(calls, results))
            sink.status = THINKING
            yield ""
        step = steps[-1]
        if step.calls:
            log.warning("the model asked for tools after its last tool step (%d steps); not run", len(steps))
            if not step.text.strip():
                step.parts.append(TOOLS_EXHAUSTED)
                notice = apart(steps, sink.text, TOOLS_EXHAUSTED)
                sink.parts.append(notice)
                yield notice
        sink.status = ""

    async def _model_stream(
        self, chat: list[ChatMessage], params: ChatParams, sink: ReplyStream
    ) -> AsyncIterator[StreamItem | Notice]:
        """The model's stream. If the API refuses a request with images (the model can't
        take them), it is asked again without them (their notes stay in the text), and
        the user is told so first (a ``Notice``): a conversation is not stuck while an
        image is in it. ``chat`` loses its images then, for the answer's later steps."""
        if not any(map(images_of, chat)):
            async for item in self.model.stream(chat, params):
                yield item
            return
        started = False
        try:
            async for item in self.model.stream(chat, params):
                started = True
                yield item
            return
        except RequestRejectedError as exc:
            if started:
                raise
            log.warning("the chat API refused a request with images (%s); asking without them", exc)
        chat[:] = [replace(m, images=()) if m.images else m for m in chat]
        yield Notice(IMAGES_REFUSED)
        async for item in self.model.stream(chat, params):
            yield item

    async def _history(
        self, message: IncomingMessage, persona: Persona, fixed_tokens: int, before: int | None = None,
        sink: ReplyStream | None = None,
    ) -> tuple[list[Turn], bool]:
        """The newest turns (older than ``before``) that fit the budget beside
        ``fixed_tokens`` (the persona's prompt and the question), oldest first,
        read a page at a time; and whether a turn read holds images past their time.

        A conversation found empty is where a thread's earlier messages may belong: they
        are read from ``sink.thread`` and stored now. This reuses the read every message
        makes anyway, so a message pays nothing for it once its conversation has turns."""
        room = budget = self.limits_for(persona).context_budget - fixed_tokens
        taken: list[Turn] = []
        images = ImageWindow(self.config.files)
        # Older turns than those taken exist: a new answer's window may have to move.
        overflowed = budget <= 0
        resumed = before is not None
        while budget > 0:
            page = await self.store.recent_turns(message.conversation, _HISTORY_PAGE, before)
            if not page and before is None and sink is not None and sink.thread is not None:
                page = await self._store_thread(message, persona, sink, budget)
            if any(map(images_of, page)):
                images.see(page)
            fitted, budget = fit_newest(page[::-1], budget)
            taken.extend(fitted)
            if len(fitted) < len(page) or len(page) < _HISTORY_PAGE:
                overflowed = len(fitted) < len(page)
                break
            before = page[0].id
            overflowed = budget <= 0
        if not resumed:  # a resumed answer's context is the turns before its question
            conversation = message.conversation
            taken, start = stable_window(taken, overflowed, room, self._starts.get(conversation),
                                         self.config.context_trim_share)
            self._starts.set(conversation, start)
        # The budget may have cut a tool step in two: the model is sent whole ones only.
        return whole_tool_steps(taken[::-1]), images.expired

    async def _store_thread(
        self, message: IncomingMessage, persona: Persona, sink: ReplyStream, room: int
    ) -> list[Turn]:
        """The thread's earlier messages, stored as turns before the question (the caller
        holds the conversation's lock: a second question finds them stored)."""
        assert sink.thread is not None
        policy = self.config.files
        turns = await earlier_turns(
            message, sink.thread, sink.files, self.counter,
            limit=self.config.thread_context_messages,
            token_budget=min(room, int(self.limits_for(persona).context_budget * THREAD_SHARE)),
            limits=policy.limits,
            vision=self._vision(persona),
        )
        # One at a time: their ids keep the thread's order.
        return [await self.store.add_turn(message.conversation, turn) for turn in turns]

    async def _history_messages(self, history: list[Turn], persona: Persona) -> list[ChatMessage]:
        """The history for the model, with the images it may still see."""
        shown = self._shown_image_turns(history, persona) if any(map(images_of, history)) else []
        if not shown:
            return [turn.message for turn in history]
        data = await self._image_bytes(shown)
        return [history_message(turn, data) for turn in history]

    def _shown_image_turns(self, history: list[Turn], persona: Persona) -> list[Turn]:
        """The turns of ``history`` whose images go to the model with them."""
        policy = self.config.files
        if not self._vision(persona):
            return []
        if policy.store_images:
            return [turn for turn in history if turn.images]
        users = [turn for turn in reversed(history) if turn.role == "user"]
        return [turn for turn in users[: policy.image_memory_turns] if turn.images]

    def _vision(self, persona: Persona) -> bool:
        """Whether the model takes images: the persona's word, else the model's
        (MODELS_FILE), else OPENAI_VISION's."""
        if persona.vision is not None:
            return persona.vision
        model = self.limits_for(persona).vision
        return self.config.files.vision if model is None else model

    async def _image_bytes(self, turns: list[Turn]) -> ImageBytes:
        ids = [turn.id for turn in turns if turn.images]
        return await self.store.image_data(ids) if ids else {}

    async def _prune_images(self, conversation: ConversationRef) -> None:
        """Drop the bytes of images no question will see again (their references stay)."""
        keep = self.config.files.image_memory_turns + 1  # the question just asked, and those
        try:
            await self.store.prune_images(conversation, keep)
        except ChatwrightError as exc:  # the next question tries again
            log.warning("could not drop old images in %s: %r", conversation, exc)

    def _params(self, persona: Persona, limits: ModelLimits, prompt_tokens: int) -> ChatParams:
        return ChatParams(
            model=limits.model,
            temperature=persona.temperature,
            max_tokens=limits.reply_tokens(prompt_tokens),
        )

    async def _store_reply(self, message: IncomingMessage, sink: ReplyStream, steps: list[Step]) -> None:
        """Store the last step's text as the reply, with the usage of every step."""
        final = steps[-1]
        assert final.usage is not None
        usage = _NO_USAGE
        for step in steps:
            assert step.usage is not None
            usage += step.usage
        models = self.config.models
        usage = priced(usage, models.info(sink.model).prices if models else None)
        sink.usage = usage
        turn = NewTurn("assistant", final.text, final.usage.completion_tokens, event_id=message.event_id)
        await self.store.add_reply(message.conversation, turn, usage, self._today())
        metrics.child(metrics.REPLIES, message.conversation.platform).inc()
        for kind, tokens in (("prompt", usage.prompt_tokens), ("completion", usage.completion_tokens),
                             ("cached", usage.cached_tokens), ("reasoning", usage.reasoning_tokens)):
            if tokens:
                metrics.child(metrics.TOKENS, kind).inc(tokens)
        if usage.cost_usd:
            metrics.child(metrics.COST_USD, sink.model).inc(usage.cost_usd)

    async def _forget(self, request: CommandRequest) -> int:
        # Waits for a reply in progress, so forgetting never races a half-stored answer.
        async with self._locks.hold(request.conversation):
            return await self.store.forget(request.conversation)


class _NoFiles:
    """The source when an adapter gave none: files are named, not read."""

    async def fetch(self, ref: FileRef, max_bytes: int) -> IncomingFile:
        raise AttachmentRefused("files can't be fetched here")


_NO_FILES = _NoFiles()


_NO_USAGE = Usage(0, 0)


def _limits_book(config: EngineConfig) -> ModelLimitsBook:
    return ModelLimitsBook(config.models, default_model=config.model,
                           context_token_budget=config.context_token_budget,
                           max_reply_tokens=config.max_reply_tokens)


def _prompt_estimate(chat: list[ChatMessage], counter: TokenCounter) -> int:
    return sum(message_tokens(counter, m.content) + sum(i.tokens for i in m.images) for m in chat)
