"""The bot's HTTP server: ``/healthz``, ``/readyz``, ``/metrics`` and any adapter routes
(``/slack/events``).

``/healthz`` is liveness: 200 while the process serves. ``/readyz`` is readiness: 200 only
between ``mark_ready()`` and ``mark_draining()``, so that a load balancer sends events to
a replica once its adapters run and stops before they drain on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

__all__ = ["HttpServer"]

log = logging.getLogger(__name__)

Readiness = Literal["starting", "ready", "draining"]


class HttpServer:
    """An aiohttp server on ``host:port``; port 0 picks a free port (see ``port``)."""

    def __init__(self, host: str, port: int, routes: Iterable[web.RouteDef] = ()) -> None:
        self._host = host
        self._port = port
        self._app = web.Application(client_max_size=1024 * 1024)
        self._app.add_routes([
            web.get("/healthz", _healthz), web.get("/readyz", self._readyz), web.get("/metrics", _metrics), *routes,
        ])
        self._runner: web.AppRunner | None = None
        self.port = port
        self.readiness: Readiness = "starting"

    def mark_ready(self) -> None:
        # Draining is final: a late "ready" must not call traffic back to a stopping process.
        if self.readiness == "starting":
            self.readiness = "ready"

    def mark_draining(self) -> None:
        self.readiness = "draining"

    async def _readyz(self, _: web.Request) -> web.Response:
        status = 200 if self.readiness == "ready" else 503
        return web.json_response({"status": self.readiness}, status=status)

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        # A burst of Slack events opens many connections at once; with aiohttp's default
        # backlog of 128 the rest wait about a second to be accepted (measured).
        site = web.TCPSite(self._runner, self._host, self._port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("HTTP server listening on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


async def _healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _metrics(_: web.Request) -> web.Response:
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
