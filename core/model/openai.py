"""The chat model behind any OpenAI-compatible Chat Completions API.

OpenAI, Azure OpenAI, and local servers (Ollama, vLLM, llama.cpp) all speak it. This
module holds the policy – auth, retries, the deadline, translating failures into
``core.errors`` – while an ``httpx.AsyncClient`` moves the bytes; tests give that client
an ``httpx.MockTransport`` or point it at a loopback fake server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from core.errors import (
    AnswerTooSlowError,
    AuthenticationError,
    ChatModelError,
    ConfigurationError,
    ContextTooLongError,
    MalformedResponseError,
    ModelUnavailableError,
    QuotaExhaustedError,
    RateLimitedError,
    RequestRejectedError,
)
from core.metrics import MODEL_RETRIES
from core.model.protocol import StreamItem
from core.model.retry import RetryBudget, RetryPolicy, parse_retry_after
from core.model.sse import DONE, aiter_sse_batches
from core.model.tool_calls import ToolCallAssembler
from core.redaction import Redactor
from core.types import ChatMessage, ChatParams, ToolCall, ToolSpec, Usage

__all__ = ["Completion", "OpenAIChatModel"]

# httpx allows 100 connections by default; beyond that, an answer in one channel would
# wait for answers in other channels to finish. Concurrency is bounded by conversations.
_POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)

logger = logging.getLogger(__name__)

# Worth another try: the server is overloaded or briefly broken. Other 5xx (501, 505)
# will not get better by asking again.
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Worth another try: nothing reached the model, or the connection went away.
# UnsupportedProtocol or LocalProtocolError are our own mistakes and stay as they are.
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Servers disagree on the code, so the message is read too.
_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_CONTEXT_WORDS = re.compile(r"context[ _-]?(length|window)|maximum context", re.IGNORECASE)
# A 429 that is billing, not load: asking again cannot help until someone pays.
_QUOTA_CODES = frozenset({"insufficient_quota"})
_QUOTA_WORDS = re.compile(r"insufficient[ _]quota|exceeded your current quota", re.IGNORECASE)
# Enough of a server's message to diagnose, not enough to flood a log line. Cut only
# after redaction: cut first, a key straddling the cut would keep its first half.
_MAX_MESSAGE = 300
# A body that is not JSON: enough of it to tell what came back instead.
_MAX_SNIPPET = 80

_Redact = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Completion:
    """An answer that was not streamed: its text, the tools it calls, its usage."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None


class OpenAIChatModel:
    """A ``ChatModel`` speaking ``POST {base_url}/chat/completions``."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        model_default: str | None = None,
        api_type: Literal["openai", "azure"] = "openai",
        api_version: str = "2024-10-21",
        timeout: httpx.Timeout | float = 60.0,
        retry: RetryPolicy = RetryPolicy(),
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if api_type not in ("openai", "azure"):
            raise ConfigurationError(f"unknown OPENAI_API_TYPE {api_type!r}: use openai or azure")
        self._base_url = _checked_base_url(base_url)
        # An empty key means "none": local servers are often configured with KEY="".
        self._api_key = api_key or None
        # Some servers and proxies echo the key they refused; it must not reach a log.
        self._redact: _Redact = Redactor([api_key] if api_key else [])
        self._model_default = model_default
        self._api_type = api_type
        self._api_version = api_version
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._retry = retry
        self._owns_client = client is None
        self._client = (
            httpx.AsyncClient(timeout=self._timeout, limits=_POOL_LIMITS) if client is None else client
        )
        self._closed = False
        self._urls: dict[str, httpx.URL] = {}

    def __repr__(self) -> str:
        # Written out by hand so that the key can never show up in a log.
        return (
            f"{type(self).__name__}(base_url={self._base_url!r}, "
            f"api_type={self._api_type!r}, model_default={self._model_default!r})"
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release connections; closes only a client this model created. Safe to repeat."""
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            await self._client.aclose()

    # -- the ChatModel protocol ------------------------------------------------------------

    async def stream(
        self, messages: Sequence[ChatMessage], params: ChatParams
    ) -> AsyncIterator[StreamItem]:
        """Yield text deltas, then the tool calls (each whole), then ``Usage`` if the
        server sent it.

        Retries happen only before the first delta: once text is out, a retry would
        repeat it, so a later failure raises instead.
        """
        body = self._body(messages, params, stream=True)
        budget = RetryBudget(self._retry)
        response = await self._send("POST", "/chat/completions", body, stream=True, budget=budget)
        state = _StreamState(self._redact)
        async with aclosing(self._payload_batches(response, budget)) as batches:
            async for batch in batches:
                # What one read brought is passed on as one delta. Under load a read
                # brings many events, and each delta is a trip through the engine and
                # the adapter; text that came before a bad event still goes out first.
                texts: list[str] = []
                try:
                    for data in batch:
                        texts.extend(state.feed(data))
                        if state.done:
                            break
                except ChatModelError:
                    if texts:
                        yield "".join(texts)
                    raise
                if texts:
                    yield "".join(texts)
                if state.done:
                    break
        usage = state.finish()
        for call in state.tool_calls():
            yield call
        if usage is not None:
            yield usage

    async def complete(
        self, messages: Sequence[ChatMessage], params: ChatParams
    ) -> tuple[str, Usage | None]:
        """The whole answer's text at once (``stream: false``), with usage if the server
        sent it. ``complete_message`` also has the tool calls."""
        completion = await self.complete_message(messages, params)
        return completion.text, completion.usage

    async def complete_message(
        self, messages: Sequence[ChatMessage], params: ChatParams
    ) -> Completion:
        """The whole answer at once (``stream: false``): text, tool calls and usage."""
        body = self._body(messages, params, stream=False)
        response = await self._send("POST", "/chat/completions", body)
        return _completion(_json_object(response.text, "the answer", self._redact))

    async def list_models(self) -> list[str]:
        """The model ids the API offers (``GET {base_url}/models``)."""
        response = await self._send("GET", "/models")
        return _model_ids(_json_object(response.text, "the model list", self._redact))

    # -- request -------------------------------------------------------------------------

    def _body(
        self, messages: Sequence[ChatMessage], params: ChatParams, *, stream: bool
    ) -> dict[str, Any]:
        # ``extra`` goes first so that it can add fields but not break the protocol.
        body: dict[str, Any] = {**params.extra, "model": self._model(params)}
        body["messages"] = [_message(m) for m in messages]
        if params.temperature is not None:
            body["temperature"] = params.temperature
        if params.max_tokens is not None:
            body["max_tokens"] = params.max_tokens
        # Only when there are tools: without, the request is as it was before tools
        # existed, and servers that know nothing of tools still take it.
        if params.tools:
            body["tools"] = [_tool(spec) for spec in params.tools]
        body["stream"] = stream
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def _model(self, params: ChatParams) -> str:
        model = params.model or self._model_default
        if not model:
            raise ConfigurationError("no chat model is set: set OPENAI_MODEL")
        return model

    def _headers(self) -> dict[str, str]:
        if self._api_key is None:
            return {}
        if self._api_type == "azure":
            return {"api-key": self._api_key}
        return {"Authorization": f"Bearer {self._api_key}"}

    def _url(self, path: str) -> httpx.URL:
        # Parsed once per path: httpx parses a URL given as text on every request.
        url = self._urls.get(path)
        if url is None:
            query = {"api-version": self._api_version} if self._api_type == "azure" else None
            url = self._urls[path] = httpx.URL(self._base_url + path, params=query)
        return url

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None, budget: RetryBudget
    ) -> httpx.Request:
        return self._client.build_request(
            method,
            self._url(path),
            json=body,
            headers=self._headers(),
            timeout=_within(self._timeout, budget.remaining()),
        )

    # -- sending with retries ----------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        stream: bool = False,
        budget: RetryBudget | None = None,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response (body unread if ``stream``) or raise.

        ``budget`` is the call's deadline: a stream goes on reading against it."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        budget = budget if budget is not None else RetryBudget(self._retry)
        while True:
            budget.begin_attempt()
            request = self._request(method, path, body, budget)
            try:
                # httpx's timeouts are per phase and per read; this one is the whole attempt.
                async with asyncio.timeout(max(budget.remaining(), 0.0)):
                    response = await self._client.send(request, stream=stream)
            except TimeoutError as exc:
                raise self._too_slow() from exc
            except _RETRYABLE_TRANSPORT as exc:
                error = self._unreachable(request, exc)
                await self._pause_or_raise(budget, error, None, "network", exc)
                continue
            except httpx.TransportError as exc:
                raise self._unreachable(request, exc) from exc
            if response.is_success:
                return response
            error, retry_after = await self._status_error(response)
            reason = _retry_reason(response, error)
            if reason is None:
                raise error
            await self._pause_or_raise(budget, error, retry_after, reason)

    async def _pause_or_raise(
        self,
        budget: RetryBudget,
        error: ChatModelError,
        retry_after: float | None,
        reason: str,
        cause: BaseException | None = None,
    ) -> None:
        delay = budget.next_delay(retry_after)
        if delay is None:
            raise error from cause
        MODEL_RETRIES.labels(reason=reason).inc()
        logger.warning(
            "chat API call failed (%s); attempt %d of %d, retrying in %.2f s",
            error, budget.attempts, self._retry.max_attempts, delay,
        )
        await self._retry.sleep(delay)

    def _too_slow(self) -> AnswerTooSlowError:
        seconds = self._retry.deadline
        return AnswerTooSlowError(
            f"the answer took longer than the deadline of {seconds:g} s (OPENAI_DEADLINE_SECONDS)"
        )

    def _unreachable(self, request: httpx.Request, exc: httpx.TransportError) -> ChatModelError:
        where = request.url.copy_with(query=None)
        detail = self._redact(_describe(exc))
        if isinstance(exc, _RETRYABLE_TRANSPORT):
            return ModelUnavailableError(f"no answer from the chat API at {where} ({detail})")
        return ChatModelError(f"cannot send to the chat API at {where} ({detail})")

    async def _status_error(self, response: httpx.Response) -> tuple[ChatModelError, float | None]:
        """Read and close an error response, and say what it means."""
        content = await _read_quietly(response)
        message, code = _error_fields(content)
        retry_after = _retry_after(response.headers)
        error = _status_error(response.status_code, _shorten(self._redact(message)), code, retry_after)
        return error, retry_after

    # -- reading -----------------------------------------------------------------------------

    async def _payload_batches(
        self, response: httpx.Response, budget: RetryBudget
    ) -> AsyncIterator[list[str]]:
        """The data of the SSE events each read completes, until the call's deadline;
        transport failures mid-stream become our errors."""
        try:
            async with aclosing(aiter_sse_batches(response.aiter_bytes())) as batches:
                while True:
                    # A stream that keeps trickling never trips a read timeout: the
                    # deadline is checked between reads and bounds each wait.
                    if budget.remaining() <= 0:
                        raise self._too_slow()
                    try:
                        async with asyncio.timeout(budget.remaining()):
                            batch = await anext(batches)
                    except StopAsyncIteration:
                        return
                    except TimeoutError as exc:
                        raise self._too_slow() from exc
                    yield batch
        except httpx.TimeoutException as exc:
            raise ModelUnavailableError("the chat API stopped sending in mid-answer") from exc
        except httpx.HTTPError as exc:
            detail = self._redact(_describe(exc))
            raise MalformedResponseError(f"the chat stream was cut off ({detail})") from exc
        finally:
            await response.aclose()


class _StreamState:
    """What a chat stream has said so far, one ``data:`` payload at a time."""

    __slots__ = ("_redact", "_tool_calls", "done", "finished", "usage")

    def __init__(self, redact: _Redact) -> None:
        self._redact = redact
        self._tool_calls = ToolCallAssembler()
        self.done = False  # saw [DONE]
        self.finished = False  # saw a finish_reason
        self.usage: Usage | None = None

    def feed(self, data: str) -> list[str]:
        """Take one payload; return its non-empty text deltas (tool call pieces are
        kept until ``tool_calls``)."""
        if data == DONE:
            self.done = True
            return []
        chunk = _json_object(data, "a stream chunk", self._redact)
        if "error" in chunk:
            raise _stream_error(chunk, self._redact)
        usage = _usage(chunk.get("usage"))
        if usage is not None:
            self.usage = usage
            # The closing usage chunk may come without choices; any other chunk needs them.
            if "choices" not in chunk:
                return []
        return self._read_choices(chunk)

    def finish(self) -> Usage | None:
        """At the end of the stream: the usage, unless the answer was cut off."""
        if not (self.done or self.finished):
            raise MalformedResponseError("the chat stream ended before [DONE]: answer cut off")
        return self.usage

    def tool_calls(self) -> tuple[ToolCall, ...]:
        """At the end of the stream: the tool calls, each whole. Raises if one is not."""
        return self._tool_calls.calls()

    def _read_choices(self, chunk: dict[str, Any]) -> list[str]:
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            raise MalformedResponseError("a stream chunk has no valid choices")
        texts = []
        for choice in choices:
            self.finished = self.finished or bool(choice.get("finish_reason"))
            delta = choice.get("delta") or {}
            # Only the first choice is the answer; extras (``n`` > 1) would interleave.
            if not isinstance(delta, dict) or choice.get("index", 0) != 0:
                continue
            content = delta.get("content")
            if isinstance(content, str) and content:
                texts.append(content)
            # Kept, not passed on: a call is only usable whole, at the end of the stream.
            if (pieces := delta.get("tool_calls")) is not None:
                self._tool_calls.feed(pieces)
        return texts


# -- parsing helpers ---------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    # httpx timeouts often have an empty message; the class name still tells the story.
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _checked_base_url(base_url: str) -> str:
    # Caught here, a typo in OPENAI_BASE_URL is one clear line at startup rather than
    # a puzzling failure on the first message.
    try:
        scheme = httpx.URL(base_url).scheme
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"OPENAI_BASE_URL is not a valid URL: {exc}") from exc
    if scheme not in ("http", "https"):
        raise ConfigurationError("OPENAI_BASE_URL must start with http:// or https://")
    return base_url.rstrip("/")


def _within(timeout: httpx.Timeout, remaining: float) -> httpx.Timeout:
    """``timeout`` with no phase allowed to run past the overall deadline."""
    limit = max(remaining, 0.001)

    def cap(seconds: float | None) -> float:
        return limit if seconds is None else min(seconds, limit)

    return httpx.Timeout(
        connect=cap(timeout.connect), read=cap(timeout.read),
        write=cap(timeout.write), pool=cap(timeout.pool),
    )


async def _read_quietly(response: httpx.Response) -> bytes:
    # The status already says what went wrong; a broken error body must not hide it.
    try:
        return await response.aread()
    except httpx.HTTPError:
        return b""
    finally:
        await response.aclose()


def _retry_after(headers: httpx.Headers) -> float | None:
    # OpenAI also sends milliseconds, which are more precise than the standard header.
    millis = parse_retry_after(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    return parse_retry_after(headers.get("retry-after"))


def _error_fields(content: bytes) -> tuple[str, str]:
    """The message and code of an error body: OpenAI-shaped JSON, other JSON, or text.
    The message is whole: redact it, then ``_shorten`` it."""
    text = content.decode("utf-8", errors="replace").strip()
    try:
        payload = json.loads(text)
    except ValueError:
        return text, ""
    return _error_fields_of(payload, text)


def _error_fields_of(payload: object, text: str) -> tuple[str, str]:
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, str):
        return error, ""
    if not isinstance(error, dict):
        return text, ""
    message = error.get("message") or error.get("detail") or text
    code = error.get("code") or error.get("type") or ""
    return str(message), str(code)


def _shorten(message: str) -> str:
    return message[:_MAX_MESSAGE]


def _is_context_error(code: str, message: str) -> bool:
    return code in _CONTEXT_CODES or bool(_CONTEXT_WORDS.search(message))


def _tool(spec: ToolSpec) -> dict[str, Any]:
    # ``dict``: the schema may be any mapping, and the JSON encoder takes only dicts.
    parameters = dict(spec.parameters)
    function = {"name": spec.name, "description": spec.description, "parameters": parameters}
    return {"type": "function", "function": function}


def _message(message: ChatMessage) -> dict[str, Any]:
    """A message on the wire: its text, or with images, a list of content parts; an
    assistant's tool calls; the call a tool's result answers."""
    if message.tool_calls:
        return _assistant_calling(message)
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if not message.images:
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
    parts += [{"type": "image_url", "image_url": {"url": image.data_url}} for image in message.images]
    return {"role": message.role, "content": parts}


def _assistant_calling(message: ChatMessage) -> dict[str, Any]:
    # No text is ``null``, as OpenAI's reference has it: some providers (Bedrock-backed
    # ones among them) refuse an empty string beside tool calls.
    calls = [
        {"id": call.id, "type": "function", "function": _function_call(call)}
        for call in message.tool_calls
    ]
    return {"role": message.role, "content": message.content or None, "tool_calls": calls}


def _function_call(call: ToolCall) -> dict[str, str]:
    return {"name": call.name, "arguments": call.arguments}


def _status_error(
    status: int, message: str, code: str, retry_after: float | None
) -> ChatModelError:
    what = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    if status in (401, 403):
        return AuthenticationError(f"the chat API refused the key ({what})")
    if status == 429 and (code in _QUOTA_CODES or _QUOTA_WORDS.search(message)):
        return QuotaExhaustedError(f"the chat API's quota is used up: check billing ({what})")
    if status == 429:
        return RateLimitedError(f"the chat API is rate limiting ({what})", retry_after)
    if status in (400, 413) and _is_context_error(code, message):
        return ContextTooLongError(f"the context is too long for the model ({what})")
    if status >= 500:
        return ModelUnavailableError(f"the chat API failed ({what})")
    if 400 <= status < 500:
        return RequestRejectedError(f"the chat API rejected the request ({what})")
    return ChatModelError(f"the chat API failed ({what})")


def _retry_reason(response: httpx.Response, error: ChatModelError) -> str | None:
    """Why a failed response is worth another try (the retry metric's label), or None."""
    if isinstance(error, QuotaExhaustedError):
        return None  # whatever the headers say: the quota will not come back in seconds
    # OpenAI's own hint wins over the status: false for a 5xx that will fail again,
    # true for a conflict or lock that will clear.
    should_retry = response.headers.get("x-should-retry", "").strip().lower()
    if should_retry == "false":
        return None
    if isinstance(error, RateLimitedError):
        return "rate_limited"
    if response.status_code in _RETRYABLE_STATUS:
        return "unavailable"
    return "server_asked" if should_retry == "true" else None


def _stream_error(chunk: dict[str, Any], redact: _Redact) -> ChatModelError:
    # Some servers (vLLM, proxies) report a failure as an error object inside the stream.
    message, code = _error_fields_of(chunk, json.dumps(chunk))
    message = _shorten(redact(message))
    if _is_context_error(code, message):
        return ContextTooLongError(f"the context is too long for the model ({message})")
    return ChatModelError(f"the chat API failed in mid-answer ({message})")


def _json_object(text: str, what: str, redact: _Redact) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except ValueError as exc:
        snippet = redact(text)[:_MAX_SNIPPET]
        raise MalformedResponseError(f"{what} is not valid JSON: {snippet!r}") from exc
    if not isinstance(payload, dict):
        raise MalformedResponseError(f"{what} is not a JSON object")
    return payload


def _usage(payload: object) -> Usage | None:
    # Usage is bookkeeping: an odd shape costs the numbers, never the answer.
    if not isinstance(payload, dict):
        return None
    prompt, completion = payload.get("prompt_tokens"), payload.get("completion_tokens")
    if not (_is_count(prompt) and _is_count(completion)):
        return None
    cached = _detail(payload, "prompt_tokens_details", "cached_tokens", prompt)
    reasoning = _detail(payload, "completion_tokens_details", "reasoning_tokens", completion)
    return Usage(prompt, completion, cached_tokens=cached, reasoning_tokens=reasoning)


def _detail(payload: dict[Any, Any], details: str, key: str, whole: int) -> int:
    # A part of ``whole`` (cached of prompt, reasoning of completion); 0 when absent or
    # odd, and never more than the whole, so that prices computed from it stay sane.
    section = payload.get(details)
    value = section.get(key) if isinstance(section, dict) else None
    return min(value, whole) if _is_count(value) else 0


def _is_count(value: object) -> bool:
    # ``bool`` is an ``int`` in Python; a JSON ``true`` is no count.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _completion(payload: dict[str, Any]) -> Completion:
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedResponseError("the answer has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise MalformedResponseError("the answer's choice has no message")
    content = message.get("content")
    calls = ToolCallAssembler()
    calls.add_whole(message.get("tool_calls"))
    text = content if isinstance(content, str) else ""
    return Completion(text, calls.calls(), _usage(payload.get("usage")))


def _model_ids(payload: dict[str, Any]) -> list[str]:
    data = payload.get("data")
    if not isinstance(data, list):
        raise MalformedResponseError("the model list has no data")
    return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]
