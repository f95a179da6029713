"""Doctor's platform checks: token shapes, then each token tried live.

Slack's ``auth.test`` takes the bot token and ``apps.connections.open`` the app-level
token (it only issues a WebSocket URL, so asking while the bot runs is harmless);
Discord's ``GET /users/@me`` takes the bot token. No message repeats a token.
"""

from __future__ import annotations

from typing import Any

import httpx

from bots.doctor_check import Check
from bots.settings import Settings
from bots.token_shapes import discord_token_doubt, discord_token_problem, slack_token_problems

__all__ = ["discord_checks", "slack_checks"]

_DISCORD_API = "https://discord.com/api/v10"


async def slack_checks(settings: Settings, client: httpx.AsyncClient) -> list[Check]:
    if settings.slack_bot_token is None:
        return [_slack_mode(settings)]
    bot, app = settings.slack_bot_token.get_secret_value(), _secret(settings.slack_app_token)
    problems = slack_token_problems(bot, app)
    if problems:
        return [_slack_mode(settings), *(Check("slack tokens", "fail", p) for p in problems)]
    checks = [_slack_mode(settings), await _slack_bot_token(settings.slack_api_url, bot, client)]
    if app is not None:
        checks.append(await _slack_app_token(settings.slack_api_url, app, client))
    return checks


def _slack_mode(settings: Settings) -> Check:
    if not settings.slack_configured:
        return Check("slack", "skip", "not configured (SLACK_BOT_TOKEN unset)")
    if settings.slack_app_token is not None:
        return Check("slack", "ok", "Socket Mode (SLACK_APP_TOKEN set)")
    if settings.slack_signing_secret is None:
        return Check("slack", "fail", "HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)")
    return Check("slack", "ok", f"HTTP mode at http://{settings.http_host}:{settings.http_port}/slack/events")


async def _slack_bot_token(api_url: str, token: str, client: httpx.AsyncClient) -> Check:
    name = "slack bot token"
    answer = await _slack_call(api_url, "auth.test", token, client)
    if isinstance(answer, str):
        return Check(name, "fail", answer)
    if not answer.get("ok"):
        return Check(name, "fail", f"SLACK_BOT_TOKEN was refused by Slack ({answer.get('error', 'no reason given')}): "
                                   "set it to the app's Bot User OAuth Token (xoxb-…)")
    return Check(name, "ok", f"accepted by auth.test: bot {answer.get('user', '?')} ({answer.get('user_id', '?')}) "
                             f"in {answer.get('team', '?')} ({answer.get('team_id', '?')})")


async def _slack_app_token(api_url: str, token: str, client: httpx.AsyncClient) -> Check:
    name = "slack app token"
    answer = await _slack_call(api_url, "apps.connections.open", token, client)
    if isinstance(answer, str):
        return Check(name, "fail", answer)
    if not answer.get("ok"):
        return Check(name, "fail", f"SLACK_APP_TOKEN was refused by Slack ({answer.get('error', 'no reason given')}): "
                                   "set it to an app-level token (xapp-…) with the connections:write scope")
    return Check(name, "ok", "accepted by apps.connections.open: Socket Mode can connect")


async def _slack_call(api_url: str, method: str, token: str, client: httpx.AsyncClient) -> dict[str, Any] | str:
    """Slack's JSON answer, or a line saying why there is none."""
    url = f"{api_url.rstrip('/')}/{method}"
    try:
        response = await client.post(url, headers={"Authorization": f"Bearer {token}"})
        answer = response.json()
    except httpx.HTTPError as exc:
        return f"Slack is unreachable at {url}: {_reason(exc)} (check SLACK_API_URL and the network)"
    except ValueError:
        return f"{url} answered HTTP {response.status_code}, not Slack's JSON (check SLACK_API_URL)"
    if not isinstance(answer, dict):
        return f"{url} answered something other than Slack's JSON (check SLACK_API_URL)"
    return answer


async def discord_checks(settings: Settings, client: httpx.AsyncClient) -> list[Check]:
    if settings.discord_token is None:
        return [Check("discord", "skip", "not configured (DISCORD_TOKEN unset)")]
    shards = f", {settings.discord_shard_count} shards" if settings.discord_shard_count else ""
    token = settings.discord_token.get_secret_value()
    configured = Check("discord", "ok", f"token set{shards}")
    problem = discord_token_problem(token)
    if problem is not None:
        return [configured, Check("discord token", "fail", problem)]
    api_url = settings.discord_api_url or _DISCORD_API
    return [configured, await _discord_token(api_url, token, discord_token_doubt(token), client)]


async def _discord_token(api_url: str, token: str, doubt: str | None, client: httpx.AsyncClient) -> Check:
    name = "discord token"
    url = f"{api_url.rstrip('/')}/users/@me"
    try:
        response = await client.get(url, headers={"Authorization": f"Bot {token}"})
    except httpx.HTTPError as exc:
        return Check(name, "fail", f"Discord is unreachable at {url}: {_reason(exc)} (check DISCORD_API_URL and the network)")
    if response.status_code == 401:
        hint = doubt or "copy the bot token again from the Discord developer portal (Bot → Reset Token)"
        return Check(name, "fail", f"DISCORD_TOKEN was refused by Discord (401 Unauthorized): {hint}")
    if response.status_code != 200:
        return Check(name, "fail", f"{url} answered HTTP {response.status_code} (check DISCORD_API_URL)")
    try:
        me = response.json()
    except ValueError:
        me = {}
    return Check(name, "ok", f"accepted by GET /users/@me: bot {me.get('username', '?')} (id {me.get('id', '?')})")


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _reason(exc: httpx.HTTPError) -> str:
    return str(exc) or type(exc).__name__
