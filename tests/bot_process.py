"""``chatwright run`` in a child process, configured by environment only (the Slack burst
benchmark, the end-to-end tests of the command itself and of restarts).

The bot gets a process (and so a CPU) of its own, as in production, where Slack and the
model provider do not share its CPU. The child runs in a scratch directory, so no
``.env`` is read, and every chatwright setting of the parent's environment is dropped,
so a developer's own tokens never reach it::

    async with BotProcess(env, workdir) as bot:      # started; /healthz answered
        await bot.wait_for_log("slack connected")     # the adapters are up too
        bot.events_url, bot.cpu_seconds()
        await bot.kill()                              # or stop(): SIGTERM, as on exit
    async with bot.successor() as again:              # a restart: same env, same database
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

import aiohttp

from bots.settings import Settings
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_socket import APP_TOKEN

__all__ = [
    "BotProcess", "discord_environment", "free_port", "slack_http_environment", "slack_socket_environment",
]

_ROOT = Path(__file__).resolve().parent.parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port that is free now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def slack_http_environment(slack_api_url: str, model_url: str, model_key: str, workdir: Path) -> dict[str, str]:
    """What ``chatwright run`` needs for Slack in HTTP mode on a free loopback port, with
    the SQLite file in ``workdir``."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        **_common_environment(model_url, model_key, workdir),
    }


def slack_socket_environment(slack_api_url: str, model_url: str, model_key: str, workdir: Path) -> dict[str, str]:
    """The same for Slack in Socket Mode (the fake's app-level token, no signing secret);
    the HTTP port still serves ``/healthz``."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack_api_url,
        **_common_environment(model_url, model_key, workdir),
    }


def discord_environment(discord: FakeDiscord, model_url: str, model_key: str, workdir: Path) -> dict[str, str]:
    """The same for Discord, against ``discord``'s REST API and gateway."""
    return {
        "DISCORD_TOKEN": discord.token,
        "DISCORD_API_URL": discord.api_url,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        **_common_environment(model_url, model_key, workdir),
    }


def _common_environment(model_url: str, model_key: str, workdir: Path) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": model_url,
        "OPENAI_API_KEY": model_key,
        "DATABASE_URL": f"sqlite:///{workdir / 'chatwright.db'}",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(free_port()),
    }


class BotProcess:
    """``python -m bots.cli run`` with ``env`` on top of a cleaned environment.

    Its log goes to ``workdir/bot.log`` (``bot-2.log`` for its successor, and so on);
    ``log()`` reads it and ``log_tail()`` shows the end of it.
    """

    def __init__(
        self, env: Mapping[str, str], workdir: Path, *, start_timeout: float = 30.0, run: int = 1
    ) -> None:
        self.port = int(env["HTTP_PORT"])
        self._given_env = dict(env)
        inherited = _clean_environment()
        python_path = os.pathsep.join(filter(None, [str(_ROOT), inherited.get("PYTHONPATH")]))
        self._env = {**inherited, "PYTHONPATH": python_path, **env}
        self._workdir = workdir
        self._start_timeout = start_timeout
        self._run = run
        self.log_path = workdir / ("bot.log" if run == 1 else f"bot-{run}.log")
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "the bot is not running"
        return self._process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bots.cli", "run",
                cwd=self._workdir, env=self._env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )
        try:
            async with asyncio.timeout(self._start_timeout):
                await self._wait_healthy()
        except BaseException:
            await self.stop()
            raise

    def successor(self) -> BotProcess:
        """The same bot started again (same environment, port and database), logging to
        a file of its own so that each run's log can be read apart."""
        return BotProcess(self._given_env, self._workdir, start_timeout=self._start_timeout, run=self._run + 1)

    async def kill(self) -> int | None:
        """SIGKILL, as a crash or an OOM kill: no clean-up runs. The exit code (-9)."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.returncode is None:
            process.kill()
        return await process.wait()

    async def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (the bot's own clean shutdown), SIGKILL if that hangs; the exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(timeout):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        return process.returncode

    def cpu_seconds(self) -> float:
        """User + system CPU time of the bot so far, all its threads included (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # After the command name: state is field 3, utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    async def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """The first log line containing ``text``, once it is written; fails if the bot
        exits first or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            line = next((line for line in self.log().splitlines() if text in line), None)
            if line is not None:
                return line
            if self._process is None or self._process.returncode is not None:
                raise AssertionError(f"the bot is not running and never logged {text!r}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in the log within {timeout} s:\n{self.log_tail()}")
            # The log is a file the child writes: look again shortly (this waits for the
            # bot, not for time).
            await asyncio.sleep(0.05)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _wait_healthy(self) -> None:
        """Poll ``/healthz`` until it answers 200; fail at once if the bot exits."""
        assert self._process is not None
        async with aiohttp.ClientSession() as session:
            while True:
                if self._process.returncode is not None:
                    raise RuntimeError(f"the bot exited with {self._process.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.base_url}/healthz") as response:
                        if response.status == 200:
                            return
                # Not up yet: poll again shortly (this waits for the bot, not for time).
                await asyncio.sleep(0.05)


def _clean_environment() -> dict[str, str]:
    """The parent's environment without any chatwright setting."""
    settings = {name.upper() for name in Settings.model_fields}
    return {name: value for name, value in os.environ.items() if name.upper() not in settings}
