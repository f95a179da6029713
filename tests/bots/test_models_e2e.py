"""Two providers, two fake APIs: ``/model use`` moves a channel's next answer to the other
one, with that provider's key (the bot as ``chatwright run`` composes it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bots.app import routing_model, running_engine
from bots.models_file import load_catalog
from bots.settings import Settings
from core.errors import ConfigurationError
from core.types import CommandRequest, ConversationRef, IncomingMessage
from tests.fakes.openai_server import FakeOpenAIServer

CHANNEL = ConversationRef("test", "W1", "C1")
MODELS = """
[providers.second]
base_url = "{url}"
api_key_env = "SECOND_API_KEY"

[models.small]
provider = "second"
model_id = "small-wire-id"
context_window = 8192
"""


@pytest.fixture
async def first() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key="key-first", models=["big"]) as server:
        yield server


@pytest.fixture
async def second() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key="key-second", models=["small-wire-id"]) as server:
        yield server


def settings_for(tmp_path: Path, models: str, **values: object) -> Settings:
    path = tmp_path / "models.toml"
    path.write_text(models)
    return Settings(  # type: ignore[call-arg]
        _env_file=None, models_file=path, openai_model="big", openai_max_retries=0,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}", user_messages_per_minute=0, **values,
    )


async def ask(engine, text: str) -> str:
    async with engine.reply(IncomingMessage(CHANNEL, "U1", "Alice", text)) as reply:
        return "".join([delta async for delta in reply])


async def test_model_use_sends_the_next_answer_to_the_other_provider_with_its_key(
    tmp_path, monkeypatch, first, second,
):
    monkeypatch.setenv("SECOND_API_KEY", "key-second")
    settings = settings_for(tmp_path, MODELS.format(url=second.base_url),
                            openai_base_url=first.base_url, openai_api_key="key-first")

    async with running_engine(settings) as engine:
        assert engine.config.model == "big" and engine.config.models.info("small").context_window == 8192
        await ask(engine, "one")
        result = await engine.run_command(CommandRequest(CHANNEL, "U1", "Alice", "model", "use small", is_admin=True))
        await ask(engine, "two")

    assert result.text == "This channel now uses small."
    assert [r["model"] for r in first.requests] == ["big"]
    assert first.headers_seen[0]["authorization"] == "Bearer key-first"
    assert [r["model"] for r in second.requests] == ["small-wire-id"]
    assert second.headers_seen[0]["authorization"] == "Bearer key-second"
    assert second.requests[0]["messages"][-1]["content"].endswith("two")


async def test_a_hosted_provider_without_its_key_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.delenv("AZURE_KEY", raising=False)
    models = '[providers.az]\nbase_url = "https://x.openai.azure.com/openai"\napi_type = "azure"\napi_key_env = "AZURE_KEY"\n'
    settings = settings_for(tmp_path, models, openai_base_url="http://127.0.0.1:9/v1")

    async with httpx.AsyncClient() as client:
        with pytest.raises(ConfigurationError, match=r"^provider 'az': AZURE_KEY is not set \(api_key_env in "):
            routing_model(settings, load_catalog(settings), client)


async def test_a_local_provider_without_its_key_is_only_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("SECOND_API_KEY", raising=False)
    settings = settings_for(tmp_path, MODELS.format(url="http://127.0.0.1:9/v1"), openai_base_url="http://127.0.0.1:8/v1")

    async with httpx.AsyncClient() as client:
        model = routing_model(settings, load_catalog(settings), client)

    assert set(model.providers) == {"default", "second"}
    assert "provider 'second': SECOND_API_KEY is not set" in caplog.text
