"""What the Discord adapter needs to run, gathered by ``bots`` from settings."""

from __future__ import annotations

from dataclasses import dataclass

from core.access import EVERYONE, AccessPolicy

__all__ = ["DiscordConfig", "MESSAGE_LIMIT"]

# Discord rejects message content longer than this.
MESSAGE_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    token: str
    # REST base including the version, e.g. ``https://discord.com/api/v10``; None = Discord's.
    api_url: str | None = None
    # Gateway websocket URL, e.g. ``wss://gateway.discord.gg/``; None = Discord's.
    gateway_url: str | None = None
    # Set → ``AutoShardedClient`` with this many shards.
    shard_count: int | None = None
    # Of those, the ones this process runs (None: all); needs ``shard_count``.
    shard_ids: tuple[int, ...] | None = None
    # Discord user ids allowed to change personas anywhere, besides the servers' own admins.
    admin_user_ids: frozenset[str] = frozenset()
    # Who may talk to the bot (core/access.py); everyone by default.
    access: AccessPolicy = EVERYONE
    # At most one edit per interval while a reply streams (Discord's limit is ~5 per 5 s).
    edit_interval: float = 1.0
    # How long ``start()`` may take before it gives up with a clear error.
    connect_timeout: float = 30.0
    # discord.py waits this long after the last GUILD_CREATE before READY (its default).
    guild_ready_timeout: float = 2.0
    # Register the slash commands with Discord on start.
    sync_commands: bool = True
    # On stop, answers in flight get this long to finish; the rest resume at next start.
    shutdown_grace: float = 20.0
