"""``chatwright discord-invite``: the link that adds the bot to a server.

Scopes: ``bot`` (join the server) and ``applications.commands`` (the slash commands).
Permissions, the fewest that let chatwright work in a channel:

- View Channels: see the channels it is mentioned in;
- Send Messages: answer, and show the typing indicator;
- Send Messages in Threads: answer in threads, which are conversations of their own;
- Read Message History: answers are replies to the question, and Discord requires
  this permission to reply to a message.

Not asked for: Embed Links (answers are plain text), Manage Messages (the bot only edits
its own messages, which needs no permission), Mention Everyone (it never pings).
"""

from __future__ import annotations

import argparse
import base64
import binascii
from urllib.parse import quote, urlencode

from bots.settings import load_settings
from core.errors import ConfigurationError

__all__ = ["NAME", "HELP", "PERMISSIONS", "SCOPES", "add_arguments", "application_id_from_token", "invite_url", "run"]

NAME = "discord-invite"
HELP = "Print the OAuth2 link that adds the Discord bot to a server."

SCOPES = ("bot", "applications.commands")
_VIEW_CHANNEL = 1 << 10
_SEND_MESSAGES = 1 << 11
_READ_MESSAGE_HISTORY = 1 << 16
_SEND_MESSAGES_IN_THREADS = 1 << 38
PERMISSIONS = _VIEW_CHANNEL | _SEND_MESSAGES | _READ_MESSAGE_HISTORY | _SEND_MESSAGES_IN_THREADS

_AUTHORIZE_URL = "https://discord.com/oauth2/authorize"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--client-id", help="the application id (default: read from DISCORD_TOKEN)"
    )


def invite_url(client_id: str) -> str:
    query = {"client_id": client_id, "scope": " ".join(SCOPES), "permissions": str(PERMISSIONS)}
    return f"{_AUTHORIZE_URL}?{urlencode(query, quote_via=quote)}"


def application_id_from_token(token: str) -> str | None:
    """A bot token starts with the base64 of the bot's user id, which is the application id."""
    first = token.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded if decoded.isdigit() else None


def run(args: argparse.Namespace) -> int:
    client_id = args.client_id or _id_from_settings()
    if not client_id or not client_id.isdigit():
        raise ConfigurationError(
            "discord-invite needs --client-id or a valid DISCORD_TOKEN to read the application id from."
        )
    print(invite_url(client_id))
    return 0


def _id_from_settings() -> str | None:
    token = load_settings().discord_token
    return application_id_from_token(token.get_secret_value()) if token else None
