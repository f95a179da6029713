"""``DiscordAdapter``: connects the client, answers messages, runs slash commands and the
"Ask chatwright" message command; answers read the reply chain they continue."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import discord

from adapters.discord.client import build_client
from adapters.discord.commands import add_commands, respond
from adapters.discord.context_menu import ask_about, ask_menu
from adapters.discord.config import DiscordConfig
from adapters.discord.endpoints import use_endpoints
from adapters.discord.errors import DiscordUnavailable, startup_error
from adapters.discord.events import PLATFORM, files_of, should_answer, to_incoming
from adapters.discord.files import DiscordFiles
from adapters.discord.replies import DiscordRenderers, route_of
from adapters.discord.reply_chain import ReplyChain
from adapters.common.pipeline import AnswerPipeline
from adapters.common.tasks import TaskSet
from core import metrics
from core.commands import Arguments
from core.engine import Engine
from core.errors import ChatwrightError

__all__ = ["DiscordAdapter"]

log = logging.getLogger(__name__)

_DISCORD_API = "Discord's API"
_DISCORD_GATEWAY = "Discord's gateway"


class DiscordAdapter:
    """The Discord side of chatwright. ``start()`` returns once READY; ``stop()`` closes."""

    name = PLATFORM

    def __init__(self, engine: Engine, config: DiscordConfig) -> None:
        self._engine = engine
        self._config = config
        self._client: discord.Client | None = None
        self._gateway: asyncio.Task[None] | None = None
        self._tasks = TaskSet()  # reading events; answers are the pipeline's
        self._files = DiscordFiles(config.api_url)
        self._chain = ReplyChain(lambda: self._client)
        self.pipeline = AnswerPipeline(
            engine, PLATFORM, DiscordRenderers(lambda: self._client, config.edit_interval),
            files=self._files, thread=self._chain, access=config.access,
        )
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()

    @property
    def client(self) -> discord.Client | None:
        return self._client

    @property
    def connected(self) -> bool:
        """READY, and its gateway connection (every shard's) open now: discord.py
        reconnects by itself, and until then no event comes."""
        client = self._client
        if client is None or not self._ready.is_set() or client.is_closed():
            return False
        if isinstance(client, discord.AutoShardedClient):
            return bool(client.shards) and not any(shard.is_closed() for shard in client.shards.values())
        return client.ws is not None and client.ws.open

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._client is not None:
            raise RuntimeError("DiscordAdapter is already started")
        self._client = self._new_client()
        try:
            await asyncio.wait_for(self._connect(self._client), self._config.connect_timeout)
        except TimeoutError:
            await self.stop()
            raise DiscordUnavailable(
                f"Discord did not get ready within {self._config.connect_timeout:.0f} s "
                f"({self._where()}); check DISCORD_API_URL / DISCORD_GATEWAY_URL and the network."
            ) from None
        except BaseException:
            await self.stop()
            raise
        log.info("discord: connected as %s, without privileged intents", self._client.user)
        self.pipeline.start()

    async def stop(self) -> None:
        """Let the answers in flight finish within the grace period (messages arriving
        meanwhile are recorded for the next start), then close the connection."""
        if self._client is not None:
            await self.pipeline.drain(self._config.shutdown_grace)
        client, self._client = self._client, None
        await self._tasks.aclose()
        await self._files.aclose()  # no answer is left to fetch a file
        if client is not None:
            await client.close()
        if self._gateway is not None:
            gateway, self._gateway = self._gateway, None
            await asyncio.gather(gateway, return_exceptions=True)
        use_endpoints(None, None)
        self._ready.clear()
        self._lost.clear()

    async def _connect(self, client: discord.Client) -> None:
        try:
            await client.login(self._config.token)
        except (discord.DiscordException, OSError, aiohttp.ClientError) as exc:
            raise self._startup_error(exc) from exc
        self._gateway = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        await self._until_ready(self._gateway)

    async def _until_ready(self, gateway: asyncio.Task[None]) -> None:
        ready = asyncio.create_task(self._ready.wait(), name="discord-ready")
        lost = asyncio.create_task(self._lost.wait(), name="discord-lost")
        try:
            await asyncio.wait({ready, lost, gateway}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            lost.cancel()
        if self._ready.is_set():
            return
        if gateway.done() and not gateway.cancelled() and gateway.exception() is not None:
            raise self._startup_error(gateway.exception())  # type: ignore[arg-type]
        # discord.py retries a failed first connection forever; before READY that is
        # a configuration problem, reported now rather than after the timeout.
        raise DiscordUnavailable(f"could not connect to {self._where()}; see the log for the cause")

    def _startup_error(self, exc: BaseException) -> ChatwrightError:
        return startup_error(exc, self._config.api_url or _DISCORD_API, self._config.gateway_url or _DISCORD_GATEWAY)

    def _where(self) -> str:
        return f"{self._config.api_url or _DISCORD_API}, {self._config.gateway_url or _DISCORD_GATEWAY}"

    # -- the client and its events -------------------------------------------------------------
    def _new_client(self) -> discord.Client:
        client = build_client(self._config)
        add_commands(client.tree, self._run_command, self._engine.commands.table)
        client.tree.add_command(ask_menu(self._ask_about))
        client.event(self.on_ready)
        client.event(self.on_disconnect)
        client.event(self.on_message)
        client.event(self.on_interaction)
        return client

    async def on_ready(self) -> None:
        self._ready.set()

    async def on_disconnect(self) -> None:
        if not self._ready.is_set():
            self._lost.set()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        # Only counted: discord.py's CommandTree routes the command to ``_run_command``.
        metrics.EVENTS_RECEIVED.labels(PLATFORM).inc()

    async def on_message(self, message: discord.Message) -> None:
        metrics.EVENTS_RECEIVED.labels(PLATFORM).inc()
        self._tasks.spawn(self._answer(message), name=f"discord-answer-{message.id}")

    async def _answer(self, message: discord.Message) -> None:
        client = self._client
        if client is None or client.user is None:
            return
        incoming = to_incoming(message, client.user.id, self._config.admin_user_ids)
        if incoming is None:
            _log_unanswerable(message, client.user.id)
            return
        self._chain.start_from(incoming.event_id, message)
        # A replayed event (gateway resume) finds its record and stops there.
        await self.pipeline.accept(incoming, route_of(message))

    async def _ask_about(self, interaction: discord.Interaction, target: discord.Message) -> None:
        await ask_about(interaction, target, pipeline=self.pipeline, chain=self._chain,
                        admin_ids=self._config.admin_user_ids)

    async def _run_command(self, interaction: discord.Interaction, name: str, arguments: Arguments) -> None:
        await respond(interaction, self._engine, self._config.admin_user_ids, name, arguments,
                      access=self.pipeline.access)


def _log_unanswerable(message: Any, bot_id: int) -> None:
    if should_answer(message, bot_id) and not message.content and not files_of(message):
        log.info(
            "discord: message %s addresses the bot but came without content (a reply with its "
            "ping turned off: without the message_content intent Discord hides its text)",
            message.id,
        )
