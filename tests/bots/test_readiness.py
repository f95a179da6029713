"""``/readyz``: 503 while the bot starts, 200 once its adapters run (naming the parts it
asked), 503 again from the stop signal on while answers drain; ``/healthz`` says 200 all
along; with METRICS_PORT, ``/metrics`` is served there only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bots.http_server import HttpServer
from bots.runner import run_bot
from bots.settings import Settings
from tests.bot_process import free_port
from tests.fakes.discord_server import DM_CHANNEL, MEMBER, FakeDiscord
from tests.fakes.openai_server import Answer, FakeOpenAIServer


async def _status(http: httpx.AsyncClient, path: str) -> tuple[int, str]:
    response = await http.get(path)
    return response.status_code, response.json()["status"]


async def test_readyz_follows_the_servers_readiness_and_healthz_stays_ok():
    server = HttpServer("127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            seen = [await _status(http, "/readyz")]
            server.mark_ready()
            seen.append(await _status(http, "/readyz"))
            server.mark_draining()
            server.mark_ready()  # too late: draining is final
            seen.append(await _status(http, "/readyz"))
            health = await _status(http, "/healthz")
    finally:
        await server.stop()
    assert seen == [(503, "starting"), (200, "ready"), (503, "draining")]
    assert health == (200, "ok")


async def _until(http: httpx.AsyncClient, path: str, expected: int) -> tuple[int, str]:
    """Poll ``path`` until it answers ``expected`` (the bot's state changes inside it)."""
    async with asyncio.timeout(10):
        while (seen := await _status(http, path))[0] != expected:
            await asyncio.sleep(0.02)
    return seen


@pytest.mark.e2e
async def test_run_bot_is_ready_only_between_start_and_the_stop_signal(tmp_path: Path):
    async with FakeDiscord() as discord, FakeOpenAIServer() as model:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, discord_token=discord.token, discord_api_url=discord.api_url,
            discord_gateway_url=discord.gateway_url, openai_api_key="test-key", openai_base_url=model.base_url,
            openai_max_retries=0, database_url=f"sqlite:///{tmp_path / 'chatwright.db'}",
            http_host="127.0.0.1", http_port=free_port(), metrics_port=free_port(), shutdown_grace_seconds=10,
        )
        discord.withhold_ready = True
        stop = asyncio.Event()
        running = asyncio.create_task(run_bot(settings, stop))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}") as http:
            # The HTTP server is up before the adapters connect; Discord holds READY back.
            await discord.wait_for(lambda: discord.identifies)
            assert await _status(http, "/readyz") == (503, "starting")
            assert await _status(http, "/healthz") == (200, "ok")

            await discord.release_ready()
            assert await _until(http, "/readyz", 200) == (200, "ready")
            assert (await http.get("/readyz")).json()["checks"] == {"discord": "ok", "store": "ok"}
            # METRICS_PORT: /metrics there, not on the public port.
            assert (await http.get("/metrics")).status_code == 404
            scraped = await http.get(f"http://127.0.0.1:{settings.metrics_port}/metrics")
            assert "chatwright_answers_in_flight" in scraped.text

            model.script(Answer("a slow answer", delay=1.0))
            discord.send_message(DM_CHANNEL, MEMBER, "question")
            await model.wait_for(lambda: model.requests)
            stop.set()
            assert await _until(http, "/readyz", 503) == (503, "draining")
            answered = [m for m in discord.bot_messages(DM_CHANNEL) if m.content == "a slow answer"]
            assert answered == []  # not ready any more, though the answer is still being written
            assert await _status(http, "/healthz") == (200, "ok")
            await running
        assert [m for m in discord.bot_messages(DM_CHANNEL) if m.content == "a slow answer"]
