"""Pointing discord.py at other REST and gateway URLs (proxies, loopback fakes in tests).

discord.py reads both from class attributes (``Route.BASE`` for every REST call, webhooks
and interaction callbacks included; ``DiscordWebSocket.DEFAULT_GATEWAY`` for the first
gateway connection and after an invalidated session), so the override is process-wide.
That matches the settings, which are process-wide too: one bot token per process.
"""

from __future__ import annotations

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

__all__ = ["use_endpoints"]

_DISCORD_API = Route.BASE
_DISCORD_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY


def use_endpoints(api_url: str | None, gateway_url: str | None) -> None:
    """Use these URLs from now on; None restores Discord's own."""
    Route.BASE = api_url.rstrip("/") if api_url else _DISCORD_API
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url) if gateway_url else _DISCORD_GATEWAY
