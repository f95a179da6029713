"""The bot's HTTP server: ``/healthz``, ``/readyz``, ``/metrics`` and any adapter routes
(``/slack/events``); or, on ``METRICS_PORT``, ``/metrics`` alone.

``/healthz`` is liveness: 200 while the process serves. ``/readyz`` is readiness: 200 only
between ``mark_ready()`` and ``mark_draining()`` and while every watched part answers
(each adapter connected, the store reachable: ``watch``), so that a load balancer sends
events to a replica once its adapters run, stops before they drain on shutdown, and
stops while one has lost its connection.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from core.errors import ConfigurationError

__all__ = ["CHECK_TIMEOUT", "HttpServer", "ReadinessCheck"]

log = logging.getLogger(__name__)

Readiness = Literal["starting", "ready", "draining"]
# A part of the bot that /readyz asks: "" when fine, else what is wrong ("not connected").
# Raising, or taking longer than CHECK_TIMEOUT, counts as wrong too.
ReadinessCheck = Callable[[], Awaitable[str]]
# Probes come every few seconds and must answer within about a second or two.
CHECK_TIMEOUT = 2.0


class HttpServer:
    """An aiohttp server on ``host:port``; port 0 picks a free port (see ``port``).

    ``setting`` names the setting the port comes from, for the error when it is taken;
    ``metrics`` / ``probes`` say whether ``/metrics`` / ``/healthz`` and ``/readyz`` are
    served here.
    """

    def __init__(
        self, host: str, port: int, routes: Iterable[web.RouteDef] = (), *, setting: str = "HTTP_PORT",
        metrics: bool = True, probes: bool = True, check_timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self._host = host
        self._port = port
        self._setting = setting
        self._app = web.Application(client_max_size=1024 * 1024)
        served = [web.get("/healthz", _healthz), web.get("/readyz", self._readyz)] if probes else []
        if metrics:
            served.append(web.get("/metrics", _metrics))
        self._app.add_routes([*served, *routes])
        self._runner: web.AppRunner | None = None
        self._checks: dict[str, ReadinessCheck] = {}
        self._check_timeout = check_timeout
        self._failing: dict[str, str] = {}
        self.port = port
        self.readiness: Readiness = "starting"

    def mark_ready(self) -> None:
        # Draining is final: a late "ready" must not call traffic back to a stopping process.
        if self.readiness == "starting":
            self.readiness = "ready"

    def mark_draining(self) -> None:
        self.readiness = "draining"

    def watch(self, name: str, check: ReadinessCheck) -> None:
        """``/readyz`` is 503 while ``check`` says something is wrong with ``name``."""
        self._checks[name] = check

    async def _readyz(self, _: web.Request) -> web.Response:
        if self.readiness != "ready":
            return web.json_response({"status": self.readiness}, status=503)
        names = list(self._checks)
        problems = await asyncio.gather(*(self._ask(name) for name in names))
        ready = not any(problems)
        checks = {name: problem or "ok" for name, problem in zip(names, problems)}
        return web.json_response({"status": "ready" if ready else "not ready", "checks": checks},
                                 status=200 if ready else 503)

    async def _ask(self, name: str) -> str:
        try:
            async with asyncio.timeout(self._check_timeout):
                problem = await self._checks[name]()
        except TimeoutError:
            problem, detail = f"no answer within {self._check_timeout:g} s", ""
        except Exception as exc:  # noqa: BLE001 - a failing part is what /readyz reports
            problem, detail = f"failed ({type(exc).__name__})", str(exc)
        else:
            detail = ""
        self._note(name, problem, detail)
        return problem

    def _note(self, name: str, problem: str, detail: str) -> None:
        """Logs a part going wrong and coming back once each, not at every probe."""
        before = self._failing.get(name, "")
        if problem and problem != before:
            log.warning("not ready: %s %s%s", name, problem, f": {detail}" if detail else "")
            self._failing[name] = problem
        elif not problem and before:
            log.info("%s is ready again", name)
            del self._failing[name]

    async def start(self) -> None:
        """Listen; raises ``ConfigurationError`` naming the setting when the port is taken
        (or the host is not this machine's): an operator's one-line error, not a traceback."""
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        # A burst of Slack events opens many connections at once; with aiohttp's default
        # backlog of 128 the rest wait about a second to be accepted (measured).
        site = web.TCPSite(self._runner, self._host, self._port, backlog=1024)
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            raise ConfigurationError(self._cannot_listen(exc)) from None
        self.port = self._runner.addresses[0][1]
        log.info("HTTP server listening on %s:%s", self._host, self.port)

    def _cannot_listen(self, exc: OSError) -> str:
        where = f"{self._host}:{self._port}"
        if exc.errno == errno.EADDRINUSE:
            return (f"{self._setting} {self._port} is in use ({where}): stop the program using it "
                    f"or set {self._setting} to a free port")
        if exc.errno == errno.EACCES:
            return (f"{self._setting} {self._port} may not be used by this user ({where}): "
                    f"set {self._setting} to a port above 1023")
        if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            return f"HTTP_HOST {self._host!r} is not an address of this machine: set it to 0.0.0.0 or one of its addresses"
        return f"cannot listen on {where} ({self._setting}): {exc.strerror or exc}"

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


async def _healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _metrics(_: web.Request) -> web.Response:
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
