"""``DiscordAdapter.connected`` (what ``/readyz`` asks): true once READY and while the
gateway connection is open; false before start, when the connection drops, after stop."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.discord.adapter import DiscordAdapter
from bots.app import running_engine
from bots.discord_wiring import build_discord
from bots.settings import Settings
from tests.adapters.discord.conftest import FAST

pytestmark = pytest.mark.e2e


async def test_connected_follows_the_gateway_connection(make_settings: Callable[..., Settings]):
    settings = make_settings()
    async with running_engine(settings) as engine:
        adapter = build_discord(settings, engine, **FAST)
        assert isinstance(adapter, DiscordAdapter)
        seen = [adapter.connected]
        await adapter.start()
        try:
            seen.append(adapter.connected)
            assert adapter.client is not None and adapter.client.ws is not None
            await adapter.client.ws.close()  # the connection drops; discord.py will reconnect
            seen.append(adapter.connected)
        finally:
            await adapter.stop()
        seen.append(adapter.connected)
    assert seen == [False, True, False, False]
