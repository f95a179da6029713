"""The Discord adapter, configured from settings."""

from __future__ import annotations

from typing import Any

from adapters.discord import DiscordAdapter, DiscordConfig
from adapters.protocol import Adapter
from bots.access_policy import access_policy
from bots.admins import listed_admins
from bots.settings import Settings
from core.engine import Engine
from core.errors import ConfigurationError

__all__ = ["build_discord", "discord_config"]


def discord_config(settings: Settings, **tuning: Any) -> DiscordConfig:
    """``tuning`` sets the rest of ``DiscordConfig`` (intervals, timeouts), e.g. in tests."""
    if settings.discord_token is None:
        raise ConfigurationError("DISCORD_TOKEN is not set: add the bot token from the Developer Portal.")
    return DiscordConfig(
        token=settings.discord_token.get_secret_value(),
        api_url=settings.discord_api_url,
        gateway_url=settings.discord_gateway_url,
        shard_count=settings.discord_shard_count,
        shard_ids=settings.discord_shard_ids,
        admin_user_ids=listed_admins(settings.admin_user_ids, "discord"),
        access=access_policy(settings),
        **{"shutdown_grace": settings.shutdown_grace_seconds, **tuning},
    )


def build_discord(settings: Settings, engine: Engine, **tuning: Any) -> Adapter:
    return DiscordAdapter(engine, discord_config(settings, **tuning))
