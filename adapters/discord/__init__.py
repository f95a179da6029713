"""The Discord adapter: DMs, mentions, reply chains and slash commands, on discord.py."""

from __future__ import annotations

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.config import DiscordConfig

__all__ = ["DiscordAdapter", "DiscordConfig"]
