"""The engine with a model catalog: each answer within its model's window, the reply
capped, vision and tools per model, and an empty answer to a prompt that did not fit."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from core.context import MESSAGE_OVERHEAD
from core.engine import Engine, EngineConfig
from core.errors import ContextTooLongError, MalformedResponseError
from core.image_memory import FilePolicy
from core.model.catalog import ModelCatalog, ModelInfo, Provider
from core.model.fake import ScriptedChatModel
from core.model_limits import LOCAL_REPLY_CAP, UNKNOWN_LOCAL_WINDOW, WINDOW_SHARE, trimmed_history
from core.tokens import EstimatingCounter
from core.tools.policy import ToolLimits
from core.tools.registry import ToolRegistry
from core.types import ChatMessage, NewTurn, Persona, ToolCall
from tests.core.conftest import CHANNEL, message
from tests.core.test_engine_files import Files, ask
from tests.core.attachments import samples
from tests.fakes.tools import FunctionTool

DEFAULT = Persona(system_prompt="You are the default.")
LOCAL = Provider("local", "http://127.0.0.1:8080/v1")
HOSTED = Provider("default", "https://api.openai.com/v1")


def catalog(*models: ModelInfo, default: str = "small") -> ModelCatalog:
    return ModelCatalog({"default": HOSTED, "local": LOCAL}, {m.name: m for m in models}, default)


def make_engine(store, model, models: ModelCatalog | None, tools=(), **config) -> Engine:
    registry = ToolRegistry(tools)
    return Engine(
        store=store, model=model, counter=EstimatingCounter(), today=lambda: date(2026, 11, 30),
        tools=registry,
        config=EngineConfig(default_persona=config.pop("persona", DEFAULT), model="m-settings", models=models,
                            tools=ToolLimits(default=frozenset(registry.names())), **config),
    )


async def answer(engine: Engine, msg) -> tuple[str, str]:
    async with engine.reply(msg) as reply:
        return "".join([delta async for delta in reply]), reply.model


async def seed(store, turns: int) -> None:
    """``turns`` turns of about 100 tokens each, counted as the engine counts."""
    for i in range(turns):
        text = f"turn {i}: " + "the quick brown fox jumps over the lazy dog " * 9
        role = "user" if i % 2 == 0 else "assistant"
        await store.add_turn(CHANNEL, NewTurn(role, text, EstimatingCounter().count(text)))


def sent_tokens(messages) -> int:
    counter = EstimatingCounter()
    return sum(counter.count(m.content) + MESSAGE_OVERHEAD for m in messages)


async def test_a_small_local_model_gets_a_context_and_a_reply_cap_within_its_window(memory_store):
    await seed(memory_store, 60)  # 6,000 tokens of history: the settings' budget would send it all
    model = ScriptedChatModel(["ok"])
    small = ModelInfo("small", provider="local", context_window=2048)
    # One turn at a time (no block trimming), so that the budget is seen filled.
    engine = make_engine(memory_store, model, catalog(small), context_trim_share=0)
    assert await answer(engine, message("hi")) == ("ok", "small")
    sent, params = model.calls[0]
    assert params.model == "small"
    # No MAX_REPLY_TOKENS anywhere: a local model still gets a cap, a quarter of its window.
    assert params.max_tokens == 2048 // 4
    # The budget is (window - cap) * share, not the settings' 6,000; and it is used.
    assert (2048 - 512) * WINDOW_SHARE - 100 < sent_tokens(sent) <= (2048 - 512) * WINDOW_SHARE


async def test_an_unknown_window_on_a_local_server_is_taken_as_small(memory_store):
    await seed(memory_store, 60)
    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model, catalog(ModelInfo("small", provider="local")))
    await answer(engine, message("hi"))
    sent, params = model.calls[0]
    assert params.max_tokens == min(LOCAL_REPLY_CAP, UNKNOWN_LOCAL_WINDOW // 4)
    assert sent_tokens(sent) <= UNKNOWN_LOCAL_WINDOW * WINDOW_SHARE


async def test_a_hosted_model_with_an_unknown_window_is_sent_what_settings_say(memory_store):
    await seed(memory_store, 60)
    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model, catalog(ModelInfo("small")), context_token_budget=3000,
                         context_trim_share=0)  # one turn at a time: the budget is seen filled
    await answer(engine, message("hi"))
    sent, params = model.calls[0]
    assert params.max_tokens is None
    assert 2800 < sent_tokens(sent) <= 3000


async def test_the_reply_cap_is_the_smallest_asked_and_never_more_than_the_window_leaves(memory_store):
    model = ScriptedChatModel(["ok", "ok", "ok"])
    capped = ModelInfo("small", provider="local", context_window=8192, max_reply_tokens=700)
    engine = make_engine(memory_store, model, catalog(capped), max_reply_tokens=2000)
    await answer(engine, message("hi"))
    assert model.calls[-1][1].max_tokens == 700  # the model's own limit under MAX_REPLY_TOKENS
    engine = make_engine(memory_store, model, catalog(ModelInfo("small", provider="local", context_window=1000)),
                         max_reply_tokens=4000)
    await answer(engine, message("x" * 1200))  # the question alone is ~400 tokens of 1,000
    sent, params = model.calls[-1]
    assert params.max_tokens is not None
    assert sent_tokens(sent) + params.max_tokens <= 1000 * WINDOW_SHARE


async def test_a_persona_naming_a_model_gets_that_models_limits(memory_store):
    model = ScriptedChatModel(["ok"])
    big = ModelInfo("big", provider="local", context_window=32768, max_reply_tokens=3000)
    persona = Persona("You are big.", model="big")
    engine = make_engine(memory_store, model, catalog(ModelInfo("small", provider="local"), big), persona=persona)
    assert await answer(engine, message("hi")) == ("ok", "big")
    assert model.calls[0][1].max_tokens == 3000


async def test_without_a_catalog_the_settings_model_and_values_are_used(memory_store):
    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model, None, max_reply_tokens=321)
    assert await answer(engine, message("hi")) == ("ok", "m-settings")
    assert model.calls[0][1].max_tokens == 321


async def test_a_model_without_tools_is_offered_none(memory_store):
    model = ScriptedChatModel(["ok", "ok"])
    tool = FunctionTool("time", lambda args: "12:00")
    engine = make_engine(memory_store, model, catalog(ModelInfo("small", tools=False)), tools=[tool])
    await answer(engine, message("what time is it?"))
    assert model.calls[-1][1].tools == ()
    engine = make_engine(memory_store, model, catalog(ModelInfo("small", tools=True)), tools=[tool])
    await answer(engine, message("what time is it?"))
    assert [spec.name for spec in model.calls[-1][1].tools] == ["time"]


@pytest.mark.parametrize("model_vision, sent", [(True, 1), (False, 0)])
async def test_vision_comes_from_the_model_when_the_persona_does_not_say(memory_store, model_vision, sent):
    model = ScriptedChatModel(["I see it."])
    engine = make_engine(memory_store, model, catalog(ModelInfo("small", vision=model_vision)),
                         files=FilePolicy(vision=not model_vision))
    source = Files(**{"shot.png": samples.png((64, 64))})
    await ask(engine, source, "what is this?", "shot.png")
    assert len(model.calls[0][0][-1].images) == sent


# -- an empty answer to a prompt that did not fit ------------------------------------------


def small_window() -> ModelCatalog:
    return catalog(ModelInfo("small", provider="local", context_window=2048))


@pytest.mark.parametrize("empty", ["", MalformedResponseError("the chat stream ended before [DONE]")])
async def test_an_empty_answer_near_the_window_is_asked_again_with_half_the_history(memory_store, empty):
    await seed(memory_store, 20)
    model = ScriptedChatModel([empty, "Here you are."])
    engine = make_engine(memory_store, model, small_window())
    assert await answer(engine, message("and now?")) == ("Here you are.", "small")
    first, second = (sent for sent, _ in model.calls)
    assert second[0] == first[0] and second[-1] == first[-1]  # the persona and the question
    assert len(second) - 2 == (len(first) - 2) - (len(first) - 2) // 2
    assert second[1:-1] == first[-1 - (len(second) - 2):-1]  # the newer half
    turns = await memory_store.recent_turns(CHANNEL, 1)
    assert turns[0].content == "Here you are."


@pytest.mark.parametrize("empty", ["", MalformedResponseError("the chat stream ended before [DONE]")])
async def test_empty_twice_near_the_window_is_a_conversation_too_long(memory_store, empty):
    await seed(memory_store, 20)
    model = ScriptedChatModel([empty, empty])
    engine = make_engine(memory_store, model, small_window())
    with pytest.raises(ContextTooLongError) as caught:
        await answer(engine, message("and now?"))
    assert "/forget" in caught.value.user_message()
    assert len(model.calls) == 2
    # The question is kept, as after any model failure.
    assert (await memory_store.recent_turns(CHANNEL, 1))[0].content == "name-U1: and now?"


async def test_an_empty_answer_to_a_small_prompt_stays_what_it_was(memory_store):
    model = ScriptedChatModel(["", MalformedResponseError("the chat stream ended before [DONE]")])
    engine = make_engine(memory_store, model, small_window())
    assert await answer(engine, message("hi")) == ("", "small")
    with pytest.raises(MalformedResponseError):
        await answer(engine, message("hi again"))
    assert len(model.calls) == 2  # neither was asked again


async def test_text_then_a_broken_stream_is_not_taken_for_an_empty_answer(memory_store):
    await seed(memory_store, 20)

    class HalfThenBroken(ScriptedChatModel):
        async def stream(self, messages, params):
            self.calls.append((list(messages), params))
            yield "Half an ans"
            raise MalformedResponseError("cut off")

    model = HalfThenBroken([])
    engine = make_engine(memory_store, model, small_window())
    with pytest.raises(MalformedResponseError):
        await answer(engine, message("and now?"))
    assert len(model.calls) == 1


def test_half_the_history_is_left_out_with_tool_steps_kept_whole():
    call = ToolCall("c1", "time", "{}")
    chat = [ChatMessage("system", "s"), ChatMessage("user", "u1"), ChatMessage("assistant", "", (), (call,)),
            ChatMessage("tool", "12:00", (), (), "c1"), ChatMessage("user", "u2"), ChatMessage("assistant", "a2"),
            ChatMessage("user", "question"), ChatMessage("assistant", "", (), (call,)),
            ChatMessage("tool", "13:00", (), (), "c1")]
    # The older half of the five history messages goes, and the result whose call went with it;
    # the question and this answer's own tool step stay.
    assert [m.content for m in trimmed_history(chat)] == ["s", "u2", "a2", "question", "", "13:00"]


async def test_a_llamacpp_empty_200_stream_becomes_conversation_too_long(memory_store):
    # What a llama.cpp server sent for a prompt over its n_ctx: HTTP 200, nothing in the
    # stream. The chat client reads it as a cut-off answer ("an answer I couldn't read").
    from core.model.openai import OpenAIChatModel

    requests: list[dict] = []

    def server(request: httpx.Request) -> httpx.Response:
        requests.append(json.loads(request.content))
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"")

    await seed(memory_store, 20)
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
        chat_model = OpenAIChatModel(base_url="http://127.0.0.1:8080/v1", api_key=None, client=client)
        engine = make_engine(memory_store, chat_model, small_window())
        with pytest.raises(ContextTooLongError):
            await answer(engine, message("and now?"))
    assert len(requests) == 2 and len(requests[1]["messages"]) < len(requests[0]["messages"])
    assert requests[0]["max_tokens"] <= 2048 // 4
