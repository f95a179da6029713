"""Building the discord.py client: default intents, no mentions, commands synced on login."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord.config import DiscordConfig
from adapters.discord.endpoints import use_endpoints
from adapters.discord.replies import NO_MENTIONS

__all__ = ["ChatwrightClient", "ShardedChatwrightClient", "build_client", "chatwright_intents"]

log = logging.getLogger(__name__)


def chatwright_intents() -> discord.Intents:
    """``Intents.default()``: no privileged intent, so no switch to flip in the portal.

    DMs, mentions of the bot and slash commands carry their content without the
    ``message_content`` intent, and those are all chatwright answers.
    """
    return discord.Intents.default()


class _SyncsCommands:
    """``setup_hook`` runs once, after login and before the gateway: register the commands."""

    tree: app_commands.CommandTree
    sync_on_login: bool

    async def setup_hook(self) -> None:
        if self.sync_on_login:
            synced = await self.tree.sync()
            log.info("discord: %d slash commands registered", len(synced))


class ChatwrightClient(_SyncsCommands, discord.Client):
    pass


class ShardedChatwrightClient(_SyncsCommands, discord.AutoShardedClient):
    async def launch_shard(self, gateway: Any, shard_id: int, *, initial: bool = False) -> None:
        # discord.py retries a shard that failed to connect forever, even after close():
        # a stop while shards were still connecting would then never return.
        if not self.is_closed():
            await super().launch_shard(gateway, shard_id, initial=initial)


def build_client(config: DiscordConfig) -> ChatwrightClient | ShardedChatwrightClient:
    use_endpoints(config.api_url, config.gateway_url)
    options: dict[str, Any] = {
        "intents": chatwright_intents(),
        # A default for anything sent without its own allowed_mentions.
        "allowed_mentions": NO_MENTIONS,
        "guild_ready_timeout": config.guild_ready_timeout,
    }
    if config.shard_count:
        shard_ids = list(config.shard_ids) if config.shard_ids else None
        client: ChatwrightClient | ShardedChatwrightClient = ShardedChatwrightClient(
            shard_count=config.shard_count, shard_ids=shard_ids, **options
        )
    else:
        client = ChatwrightClient(**options)
    client.tree = app_commands.CommandTree(client)
    client.sync_on_login = config.sync_commands
    return client
