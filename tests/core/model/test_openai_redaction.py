"""The chat client's errors never show the key, not even part of it, and stay readable.

Error texts are cut to ``_MAX_MESSAGE`` characters; the cut must come after the key is
masked, or a key straddling it keeps its first half. A one-character key
(``OPENAI_API_KEY=x``, a local server) must not mangle every "x" of the text.
"""

from __future__ import annotations

import json

import httpx
import pytest

from core.errors import AuthenticationError, ChatModelError, ContextTooLongError, MalformedResponseError
from core.model.openai import OpenAIChatModel
from core.model.retry import RetryPolicy
from core.types import ChatMessage, ChatParams

KEY = "sk-straddling-0123456789abcdef"
CUT = 300  # core.model.openai._MAX_MESSAGE
MESSAGES = [ChatMessage("user", "hello")]
PARAMS = ChatParams("gpt-test")


def model_answering(response: httpx.Response, key: str) -> OpenAIChatModel:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: response))
    return OpenAIChatModel(base_url="https://api.test/v1", api_key=key, retry=RetryPolicy(max_attempts=1), client=client)


def error_body(message: str, code: str | None = None) -> dict[str, object]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}


def straddling(limit: int) -> str:
    """A text whose ``limit``-character cut falls in the middle of the key."""
    return "x" * (limit - len(KEY) // 2) + KEY + " and then some more text"


async def failure(model: OpenAIChatModel) -> ChatModelError:
    with pytest.raises(ChatModelError) as caught:
        async for _ in model.stream(MESSAGES, PARAMS):
            pass
    return caught.value


def assert_no_part_of_the_key(text: str) -> None:
    assert KEY[: len(KEY) // 2] not in text and KEY[len(KEY) // 2 :] not in text


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(401, json=error_body(straddling(CUT))),
        httpx.Response(400, text=straddling(CUT)),
        httpx.Response(200, text=f"data: {json.dumps(error_body(straddling(CUT)))}\n\n"),
        httpx.Response(200, text=f"data: {straddling(80)}\n\n"),
    ],
    ids=["json error", "text error", "error in the stream", "not JSON"],
)
async def test_a_key_straddling_the_cut_never_shows_even_in_part(response):
    error = await failure(model_answering(response, KEY))
    assert "[redacted]" in str(error)
    assert_no_part_of_the_key(str(error))


async def test_the_model_list_that_doctor_asks_for_is_redacted_too():
    model = model_answering(httpx.Response(401, json=error_body(straddling(CUT))), KEY)
    with pytest.raises(AuthenticationError) as caught:
        await model.list_models()
    assert_no_part_of_the_key(str(caught.value))


async def test_a_one_character_key_leaves_the_error_readable_and_recognised():
    message = ("This model's maximum context length is 8192 tokens. However, you requested "
               "9000 tokens (max_tokens: 808). Key used: x.")
    model = model_answering(httpx.Response(400, json=error_body(message)), "x")
    error = await failure(model)
    assert isinstance(error, ContextTooLongError)
    assert "maximum context length" in str(error) and "(max_tokens: 808)" in str(error)
    assert "Key used: [redacted]." in str(error)


async def test_a_one_character_key_keeps_the_error_code_readable_in_the_stream():
    chunk = {"error": {"message": "context_length_exceeded for key x", "code": None}}
    model = model_answering(httpx.Response(200, text=f"data: {json.dumps(chunk)}\n\n"), "x")
    error = await failure(model)
    assert isinstance(error, ContextTooLongError)
    assert "context_length_exceeded for key [redacted]" in str(error)


async def test_a_short_key_is_masked_as_a_word_in_a_snippet_that_is_not_json():
    model = model_answering(httpx.Response(200, text="data: max_tokens x\n\n"), "x")
    error = await failure(model)
    assert isinstance(error, MalformedResponseError)
    assert "'max_tokens [redacted]'" in str(error)
