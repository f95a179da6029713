"""Fixtures for the Discord end-to-end tests: both fakes, settings, a running bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bots.app import running_engine
from bots.discord_wiring import build_discord
from bots.settings import Settings
from core.engine import Engine
from adapters.protocol import Adapter
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAIServer

# Short waits so the suite stays fast; the production defaults are tested for on their own.
FAST = {"guild_ready_timeout": 0.05, "edit_interval": 0.2, "connect_timeout": 5.0}


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
async def model_fake() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
def make_settings(tmp_path: Path, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "discord_token": discord_fake.token,
            "discord_api_url": discord_fake.api_url,
            "discord_gateway_url": discord_fake.gateway_url,
            "openai_api_key": "test-key",
            "openai_base_url": model_fake.base_url,
            "openai_max_retries": 0,
            "database_url": f"sqlite:///{tmp_path / 'chatwright.db'}",
            "system_prompt": "You are a test bot.",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@asynccontextmanager
async def running_bot(settings: Settings, **tuning: Any) -> AsyncIterator[tuple[Engine, Adapter]]:
    """The real engine (SQLite, OpenAI client) and the Discord adapter, started."""
    async with running_engine(settings) as engine:
        adapter = build_discord(settings, engine, **{**FAST, **tuning})
        await adapter.start()
        try:
            yield engine, adapter
        finally:
            await adapter.stop()


@pytest.fixture
async def bot(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[Engine, Adapter]]:
    async with running_bot(make_settings()) as running:
        yield running
