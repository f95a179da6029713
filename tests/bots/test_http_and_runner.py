from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from bots.http_server import HttpServer
from bots.runner import start_adapters, watch_parts
from core import metrics
from core.errors import ConfigurationError, StoreError
from core.store.memory import InMemoryStore


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


# -- /readyz asks the parts; /metrics apart; a port in use ------------------------------------

class Part:
    """A watched part whose answer the test sets."""

    def __init__(self) -> None:
        self.problem = ""
        self.error: Exception | None = None
        self.hang = False

    async def __call__(self) -> str:
        if self.hang:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error
        return self.problem


@pytest.fixture
async def http():
    # One client per test: making one costs more than the requests (its TLS context).
    async with httpx.AsyncClient() as client:
        yield client


async def _get(http: httpx.AsyncClient, server: HttpServer, path: str) -> httpx.Response:
    return await http.get(f"http://127.0.0.1:{server.port}{path}")


async def test_readyz_is_503_naming_each_part_that_is_not_ready(http):
    slack, store = Part(), Part()
    server = HttpServer("127.0.0.1", 0, check_timeout=0.05)
    server.watch("slack", slack)
    server.watch("store", store)
    server.mark_ready()
    await server.start()
    try:
        seen = [await _get(http, server, "/readyz")]
        slack.problem, store.error = "not connected", StoreError("database is locked")
        seen.append(await _get(http, server, "/readyz"))
        slack.problem, store.error, store.hang = "", None, True
        seen.append(await _get(http, server, "/readyz"))
        health = await _get(http, server, "/healthz")
    finally:
        await server.stop()
    assert [(r.status_code, r.json()) for r in seen] == [
        (200, {"status": "ready", "checks": {"slack": "ok", "store": "ok"}}),
        (503, {"status": "not ready", "checks": {"slack": "not connected", "store": "failed (StoreError)"}}),
        (503, {"status": "not ready", "checks": {"slack": "ok", "store": "no answer within 0.05 s"}}),
    ]
    assert health.status_code == 200


class Adapter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.connected = True


async def test_the_bot_watches_each_started_adapter_and_the_store(http):
    server = HttpServer("127.0.0.1", 0)
    discord, store = Adapter("discord"), InMemoryStore()
    watch_parts(server, [discord], store)  # type: ignore[list-item]
    server.mark_ready()
    await server.start()
    try:
        async with store:
            ready = await _get(http, server, "/readyz")
            discord.connected = False
            lost = await _get(http, server, "/readyz")
        closed = await _get(http, server, "/readyz")
    finally:
        await server.stop()
    assert ready.json()["checks"] == {"discord": "ok", "store": "ok"}
    assert lost.json()["checks"] == {"discord": "not connected", "store": "ok"}
    assert closed.json()["checks"]["store"] == "failed (StoreError)"


async def test_metrics_apart_are_not_on_the_public_port(http):
    public = HttpServer("127.0.0.1", 0, metrics=False)
    apart = HttpServer("127.0.0.1", 0, setting="METRICS_PORT", probes=False)
    await public.start()
    await apart.start()
    try:
        responses = [await _get(http, public, "/metrics"), await _get(http, apart, "/metrics"),
                     await _get(http, apart, "/healthz"), await _get(http, public, "/healthz")]
    finally:
        await public.stop()
        await apart.stop()
    assert [r.status_code for r in responses] == [404, 200, 404, 200]
    assert "chatwright_answers_in_flight" in responses[1].text


@pytest.mark.parametrize("setting", ["HTTP_PORT", "METRICS_PORT"])
async def test_a_port_in_use_is_a_one_line_error_naming_its_setting(setting):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HttpServer("127.0.0.1", port, setting=setting)
        with pytest.raises(ConfigurationError) as caught:
            await server.start()
    message = str(caught.value)
    assert message.startswith(f"{setting} {port} is in use") and "\n" not in message
    assert caught.value.__cause__ is None and server._runner is None
