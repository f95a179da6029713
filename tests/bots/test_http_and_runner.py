from __future__ import annotations

import asyncio

import httpx
import pytest

from bots.http_server import HttpServer
from bots.runner import start_adapters
from core import metrics


async def test_healthz_and_metrics_on_a_free_port():
    server = HttpServer("127.0.0.1", 0)
    await server.start()
    try:
        metrics.EVENTS_RECEIVED.labels("test").inc()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            health = await client.get("/healthz")
            scraped = await client.get("/metrics")
    finally:
        await server.stop()
        await server.stop()  # stopping twice is harmless
    assert health.json() == {"status": "ok"}
    assert 'chatwright_events_received_total{platform="test"}' in scraped.text
    assert "chatwright_model_latency_seconds_bucket" in scraped.text


class FakeAdapter:
    def __init__(self, name: str, error: Exception | None = None) -> None:
        self.name = name
        self.error = error
        self.started = asyncio.Event()

    async def start(self) -> None:
        if self.error:
            raise self.error
        self.started.set()

    async def stop(self) -> None:
        pass


async def test_one_adapter_failing_to_connect_leaves_the_other_running(caplog):
    good = FakeAdapter("slack")
    bad = FakeAdapter("discord", ConnectionError("gateway unreachable"))
    started = await start_adapters([bad, good])
    assert started == [good] and good.started.is_set()
    assert "discord failed to connect: gateway unreachable" in caplog.text


@pytest.mark.parametrize("count", [0, 2])
async def test_start_adapters_reports_all(count):
    adapters = [FakeAdapter(f"a{i}") for i in range(count)]
    assert await start_adapters(adapters) == adapters
