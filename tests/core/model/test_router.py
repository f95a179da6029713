"""RoutingChatModel: each request to the provider of its model, with the model's wire id."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from core.errors import ConfigurationError
from core.model.catalog import ModelCatalog, ModelInfo, Provider
from core.model.fake import ScriptedChatModel
from core.model.router import RoutingChatModel
from core.types import ChatMessage, ChatParams, Usage

CATALOG = ModelCatalog(
    {"default": Provider("default", "http://a/v1"), "local": Provider("local", "http://b/v1")},
    {"llama": ModelInfo("llama", "local", model_id="llama3.2:3b"), "big": ModelInfo("big")},
    default_model="big",
)
QUESTION = [ChatMessage("user", "hi")]


def echo_model(tag: str) -> ScriptedChatModel:
    return ScriptedChatModel(lambda messages, params: f"{tag}:{params.model}")


async def answer(model: RoutingChatModel, name: str | None) -> str:
    return "".join([item async for item in model.stream(QUESTION, ChatParams(model=name or "")) if isinstance(item, str)])


@pytest.fixture
def router() -> RoutingChatModel:
    return RoutingChatModel(CATALOG, {"default": echo_model("A"), "local": echo_model("B")})


@pytest.mark.parametrize(("name", "expected"), [
    ("llama", "B:llama3.2:3b"),  # the file's model on its provider, under its wire id
    ("big", "A:big"),
    ("gpt-4o", "A:gpt-4o"),  # not in the catalog: the default provider, as named
    (None, "A:big"),  # no model named: the default
])
async def test_each_model_goes_to_its_provider_under_its_wire_id(router, name, expected):
    assert await answer(router, name) == expected


async def test_the_providers_stream_passes_through_whole_usage_included():
    provider = ScriptedChatModel(["hello"])
    router = RoutingChatModel(ModelCatalog({"default": Provider("default", "http://a")}), {"default": provider})

    items = [item async for item in router.stream(QUESTION, ChatParams(model="m", temperature=0.5))]

    assert "".join(i for i in items if isinstance(i, str)) == "hello"
    assert isinstance(items[-1], Usage)
    assert provider.calls[0][1] == ChatParams(model="m", temperature=0.5)


async def test_a_consumer_that_stops_early_closes_the_providers_stream():
    closed: list[str] = []

    class Provider_:
        async def stream(self, messages: Sequence[ChatMessage], params: ChatParams) -> AsyncIterator[str]:
            try:
                yield "one"
                yield "two"
            finally:
                closed.append(params.model)

    catalog = ModelCatalog({"default": Provider("default", "http://a")})
    router = RoutingChatModel(catalog, {"default": Provider_()})  # type: ignore[dict-item]
    stream = router.stream(QUESTION, ChatParams(model="m"))
    assert await anext(stream) == "one"
    await stream.aclose()

    assert closed == ["m"]


async def test_models_are_listed_from_the_default_provider(router):
    assert await router.list_models() == ["fake-model"]


async def test_closing_closes_every_provider_and_twice_is_harmless():
    a, b = echo_model("A"), echo_model("B")
    async with RoutingChatModel(CATALOG, {"default": a, "local": b}) as router:
        pass
    await router.aclose()
    assert a.closed and b.closed


def test_a_provider_without_a_chat_model_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="no chat model for provider"):
        RoutingChatModel(CATALOG, {"default": echo_model("A")})
