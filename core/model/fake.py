"""An in-process ``ChatModel`` for unit tests: answers from a script, records every call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass

from core.model.protocol import StreamItem
from core.types import ChatMessage, ChatParams, ToolCall, Usage

__all__ = ["Calls", "Reply", "ScriptedChatModel"]


@dataclass(frozen=True, slots=True)
class Calls:
    """A scripted step that asks for tools: ``Calls([ToolCall("c1", "time", "{}")])``,
    with ``text`` written before the calls (streamed first, as models do)."""

    calls: Sequence[ToolCall]
    text: str = ""


# A reply is the answer's text, a step asking for tools, or an exception to raise instead.
Reply = str | Calls | Exception
Script = Callable[[Sequence[ChatMessage], ChatParams], Reply] | Iterable[Reply]


class ScriptedChatModel:
    """Answers with the next scripted reply, or with what a function returns.

    ``ScriptedChatModel(["hi", ModelUnavailableError("down")])`` answers "hi" once, then
    raises; ``ScriptedChatModel(lambda messages, params: messages[-1].content)`` echoes;
    ``ScriptedChatModel([Calls([ToolCall("c1", "time", "{}")]), "It is noon."])`` asks
    for a tool, then answers.
    """

    def __init__(
        self,
        script: Script,
        *,
        delay: float = 0.0,
        chunk_size: int = 8,
        models: Sequence[str] = ("fake-model",),
    ) -> None:
        self._script = script if callable(script) else iter(list(script))
        self.delay = delay
        self.chunk_size = max(1, chunk_size)
        self.models = list(models)
        self.calls: list[tuple[list[ChatMessage], ChatParams]] = []
        self.closed = False

    async def stream(
        self, messages: Sequence[ChatMessage], params: ChatParams
    ) -> AsyncIterator[StreamItem]:
        reply = await self._answer(messages, params)
        text, calls = (reply.text, tuple(reply.calls)) if isinstance(reply, Calls) else (reply, ())
        for start in range(0, len(text), self.chunk_size):
            yield text[start : start + self.chunk_size]
        for call in calls:
            yield call
        yield _usage(messages, text + "".join(call.arguments for call in calls))

    async def complete(
        self, messages: Sequence[ChatMessage], params: ChatParams
    ) -> tuple[str, Usage | None]:
        reply = await self._answer(messages, params)
        text = reply.text if isinstance(reply, Calls) else reply
        return text, _usage(messages, text)

    async def list_models(self) -> list[str]:
        return list(self.models)

    async def aclose(self) -> None:
        self.closed = True

    async def _answer(self, messages: Sequence[ChatMessage], params: ChatParams) -> str | Calls:
        self.calls.append((list(messages), params))
        reply = self._next(messages, params)
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def _next(self, messages: Sequence[ChatMessage], params: ChatParams) -> Reply:
        if callable(self._script):
            return self._script(messages, params)
        try:
            return next(self._script)
        except StopIteration:
            count = len(self.calls)
            raise AssertionError(f"ScriptedChatModel ran out of replies at call {count}") from None


def _usage(messages: Sequence[ChatMessage], text: str) -> Usage:
    # The same rough estimate as the fake server: about four characters a token.
    prompt = sum(len(m.content) for m in messages)
    return Usage(prompt // 4 + 1, len(text) // 4 + 1)
