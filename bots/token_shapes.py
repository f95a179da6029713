"""What a platform token looks like, to name a token pasted in the wrong place.

Only the shape is checked here (prefixes, parts); whether the platform takes the token
is doctor's live check. Messages never repeat a token: only its first characters'
kind (``xoxb-``, ``xapp-``) is named.
"""

from __future__ import annotations

import re

__all__ = ["discord_token_doubt", "discord_token_problem", "slack_token_problems"]

_SLACK_KINDS = {"xoxb-": "a bot token", "xapp-": "an app-level token", "xoxp-": "a user token",
                "xoxe": "a token-rotation token"}
# Three base64url parts separated by dots: the bot's id, a timestamp, an HMAC.
_DISCORD_SHAPE = re.compile(r"[A-Za-z0-9_-]{17,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")


def slack_token_problems(bot_token: str | None, app_token: str | None) -> list[str]:
    """What is wrong with the shapes of SLACK_BOT_TOKEN and SLACK_APP_TOKEN (empty: nothing)."""
    if bot_token is not None and app_token is not None and _is(bot_token, "xapp-") and _is(app_token, "xoxb-"):
        return ["SLACK_BOT_TOKEN and SLACK_APP_TOKEN are swapped: the xoxb-… token is the bot token, "
                "the xapp-… token the app-level token"]
    problems = []
    if bot_token is not None and not _is(bot_token, "xoxb-"):
        problems.append(f"SLACK_BOT_TOKEN {_kind(bot_token, 'xoxb-')}: set it to the app's "
                        "Bot User OAuth Token (xoxb-…, under OAuth & Permissions)")
    if app_token is not None and not _is(app_token, "xapp-"):
        problems.append(f"SLACK_APP_TOKEN {_kind(app_token, 'xapp-')}: set it to an "
                        "app-level token (xapp-…, under Basic Information) with connections:write")
    return problems


def discord_token_problem(token: str) -> str | None:
    """What is certainly wrong with DISCORD_TOKEN, or None."""
    if token.lower().startswith("bot "):
        return "DISCORD_TOKEN starts with 'Bot ': set the token alone, without the prefix"
    if any(_is(token, prefix) for prefix in _SLACK_KINDS):
        return ("DISCORD_TOKEN is a Slack token: set it to the bot token from the Discord developer "
                "portal (Bot → Reset Token)")
    if token != token.strip() or any(c.isspace() or c in "\"'" for c in token):
        return "DISCORD_TOKEN holds spaces or quotes: set the token alone"
    return None


def discord_token_doubt(token: str) -> str | None:
    """A hint when DISCORD_TOKEN does not look like a bot token (a proxy may still take
    it: Discord's answer decides), or None."""
    if _DISCORD_SHAPE.fullmatch(token):
        return None
    return ("it does not look like a Discord bot token (three parts separated by dots): copy it "
            "again from the Discord developer portal (Bot → Reset Token), not the client secret")


def _is(token: str, prefix: str) -> bool:
    return token.strip().startswith(prefix)


def _kind(token: str, expected: str) -> str:
    """``is a user token, not xoxb-…`` — what the token is instead of ``expected``."""
    for prefix, kind in _SLACK_KINDS.items():
        if _is(token, prefix):
            return f"is {kind}, not {expected}…"
    return f"does not start with {expected}"
