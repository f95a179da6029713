"""Why the Discord adapter could not start, worded for the operator."""

from __future__ import annotations

import aiohttp
import discord

from core.errors import ChatwrightError, ConfigurationError

__all__ = ["DiscordUnavailable", "startup_error"]

_PRIVILEGED_HINT = (
    "Discord refused a privileged intent. chatwright needs none: check that nothing enables "
    "message_content, members or presences, or switch them on in the Developer Portal (Bot page)."
)


class DiscordUnavailable(ChatwrightError):
    """Discord's REST API or gateway could not be reached or did not get ready in time."""

    def user_message(self) -> str:
        return str(self)


def startup_error(exc: BaseException, api_url: str, gateway_url: str) -> ChatwrightError:
    """The clear error ``start()`` raises for what went wrong while connecting."""
    if isinstance(exc, discord.LoginFailure):
        return ConfigurationError("Discord refused DISCORD_TOKEN: check the bot token in the Developer Portal.")
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return ConfigurationError(_PRIVILEGED_HINT)
    if isinstance(exc, discord.ConnectionClosed) and exc.code == 4004:
        return ConfigurationError("Discord's gateway refused DISCORD_TOKEN: check the bot token.")
    if isinstance(exc, (OSError, aiohttp.ClientError, discord.HTTPException)):
        return DiscordUnavailable(f"Discord is unreachable at {api_url} / {gateway_url}: {exc}")
    return DiscordUnavailable(f"Discord connection failed: {exc!r}")
