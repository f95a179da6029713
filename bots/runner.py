"""Running the configured adapters together in one event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack

from aiohttp import web

from adapters.protocol import Adapter
from bots.app import running_engine
from bots.event_loop import loop_name
from bots.gc_tuning import tune_collector
from bots.http_server import HttpServer, ReadinessCheck
from bots.settings import Settings
from core.engine import Engine
from core.errors import ConfigurationError
from core.store import Store

__all__ = ["NOTHING_CONFIGURED", "Bot", "run_bot", "start_adapters", "watch_parts"]

log = logging.getLogger("chatwright")

NOTHING_CONFIGURED = (
    "no platform is configured: set SLACK_BOT_TOKEN (with SLACK_APP_TOKEN or "
    "SLACK_SIGNING_SECRET) or DISCORD_TOKEN in the environment or .env; "
    "to chat in a terminal, run `chatwright console`"
)
# Processed event ids are kept this long: far beyond any platform's retry window.
_EVENT_RETENTION_SECONDS = 7 * 24 * 3600
_PRUNE_EVERY_SECONDS = 3600


class Bot:
    """The running application: engine, HTTP server and every adapter that connected.

    ``async with Bot(settings) as bot:`` starts it all and stops it all on exit. An
    adapter that fails to connect is reported and left out; if none connects, entering
    raises ``ConfigurationError``. ``/readyz`` answers 200 once the adapters run (while each
    stays connected and the store answers), and 503 again from ``begin_draining()`` (or
    the exit) on, before the adapters drain.
    """

    def __init__(self, settings: Settings) -> None:
        if not (settings.slack_configured or settings.discord_configured):
            raise ConfigurationError(NOTHING_CONFIGURED)
        self._settings = settings
        self._stack = AsyncExitStack()
        self.adapters: list[Adapter] = []
        self.http_port = 0
        self.metrics_port: int | None = None  # set when METRICS_PORT serves /metrics apart
        self._server: HttpServer | None = None

    async def __aenter__(self) -> Bot:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.begin_draining()
        await self._stack.aclose()

    def begin_draining(self) -> None:
        """Answer ``/readyz`` with 503 from now on, so that load balancers send new events
        to other replicas while this one finishes its answers."""
        if self._server is not None:
            self._server.mark_draining()

    async def _start(self) -> None:
        settings = self._settings
        engine = await self._stack.enter_async_context(running_engine(settings))
        adapters, routes = _build_adapters(settings, engine)
        apart = settings.metrics_port is not None
        server = HttpServer(settings.http_host, settings.http_port, routes, metrics=not apart)
        await server.start()
        self._stack.push_async_callback(server.stop)
        self._server, self.http_port = server, server.port
        if apart:
            await self._serve_metrics(settings)
        pruner = asyncio.create_task(_prune_events(engine), name="prune-events")
        self._stack.callback(pruner.cancel)
        self.adapters = await start_adapters(adapters)
        self._stack.push_async_callback(_stop_all, self.adapters)
        if not self.adapters:
            raise ConfigurationError("no platform could connect; see the errors above")
        watch_parts(server, self.adapters, engine.store)
        server.mark_ready()

    async def _serve_metrics(self, settings: Settings) -> None:
        """``/metrics`` alone on METRICS_PORT, so that the public port does not show it."""
        assert settings.metrics_port is not None  # apart from HTTP_PORT: settings checked it
        metrics = HttpServer(settings.http_host, settings.metrics_port, setting="METRICS_PORT", probes=False)
        await metrics.start()
        self._stack.push_async_callback(metrics.stop)
        self.metrics_port = metrics.port


def watch_parts(server: HttpServer, adapters: list[Adapter], store: Store) -> None:
    """``/readyz`` asks each started adapter whether it is connected, and the store for a ping."""
    for adapter in adapters:
        server.watch(adapter.name, _connected(adapter))
    server.watch("store", _answers(store))


def _connected(adapter: Adapter) -> ReadinessCheck:
    async def check() -> str:
        return "" if adapter.connected else "not connected"

    return check


def _answers(store: Store) -> ReadinessCheck:
    async def check() -> str:
        await store.ping()
        return ""

    return check


async def run_bot(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set (or SIGINT/SIGTERM)."""
    async with Bot(settings) as bot:
        frozen = tune_collector()
        log.info("running on the %s event loop (%d startup objects left out of garbage collection)",
                 loop_name(asyncio.get_running_loop()), frozen)
        await (stop or _stop_on_signals()).wait()
        bot.begin_draining()
        log.info("stopping: no new events; answers in flight get up to %.0f s (SHUTDOWN_GRACE_SECONDS)",
                 settings.shutdown_grace_seconds)


async def _stop_all(adapters: list[Adapter]) -> None:
    await asyncio.gather(*(adapter.stop() for adapter in adapters), return_exceptions=True)


def _build_adapters(settings: Settings, engine: Engine) -> tuple[list[Adapter], list[web.RouteDef]]:
    builders: list[tuple[str, Callable[[], tuple[Adapter, list[web.RouteDef]]]]] = []
    if settings.slack_configured:
        builders.append(("slack", lambda: _slack(settings, engine)))
    if settings.discord_configured:
        builders.append(("discord", lambda: (_discord(settings, engine), [])))
    adapters: list[Adapter] = []
    routes: list[web.RouteDef] = []
    for name, build in builders:
        try:
            adapter, adapter_routes = build()
        except ConfigurationError as exc:
            log.error("%s is not started: %s", name, exc)
            continue
        adapters.append(adapter)
        routes.extend(adapter_routes)
    return adapters, routes


def _slack(settings: Settings, engine: Engine) -> tuple[Adapter, list[web.RouteDef]]:
    from bots.slack_wiring import build_slack

    return build_slack(settings, engine)


def _discord(settings: Settings, engine: Engine) -> Adapter:
    from bots.discord_wiring import build_discord

    return build_discord(settings, engine)


async def start_adapters(adapters: list[Adapter]) -> list[Adapter]:
    """Start all at once; one that fails is reported and left out, the others run on."""
    results = await asyncio.gather(*(a.start() for a in adapters), return_exceptions=True)
    started = []
    for adapter, result in zip(adapters, results):
        if isinstance(result, BaseException):
            log.error("%s failed to connect: %s", adapter.name, _describe(result))
        else:
            log.info("%s connected", adapter.name)
            started.append(adapter)
    return started


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def _prune_events(engine: Engine) -> None:
    while True:
        try:
            pruned = await engine.store.prune_events(_EVENT_RETENTION_SECONDS)
            log.debug("pruned %d processed event ids", pruned)
        except Exception:
            log.exception("pruning processed event ids failed")
        await asyncio.sleep(_PRUNE_EVERY_SECONDS)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
