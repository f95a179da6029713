"""Settings → the Slack adapter and the routes it needs on the shared HTTP server."""

from __future__ import annotations

from aiohttp import web

from adapters.protocol import Adapter
from adapters.slack import SlackAdapter, SlackConfig
from bots.access_policy import access_policy
from bots.admins import listed_admins
from bots.settings import Settings
from core.engine import Engine
from core.errors import ConfigurationError

__all__ = ["build_slack", "slack_config"]


def build_slack(settings: Settings, engine: Engine) -> tuple[Adapter, list[web.RouteDef]]:
    """The adapter, and its routes (empty in Socket Mode)."""
    adapter = SlackAdapter(slack_config(settings), engine)
    return adapter, adapter.routes()


def slack_config(settings: Settings) -> SlackConfig:
    if settings.slack_bot_token is None:
        raise ConfigurationError("SLACK_BOT_TOKEN is not set: set it to the app's Bot User OAuth Token (xoxb-…)")
    app_token = _secret(settings.slack_app_token)
    signing_secret = _secret(settings.slack_signing_secret)
    if not app_token and not signing_secret:
        raise ConfigurationError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs it (Basic Information → Signing Secret), "
            "or set SLACK_APP_TOKEN for Socket Mode"
        )
    return SlackConfig(
        bot_token=_secret(settings.slack_bot_token),
        signing_secret=signing_secret,
        app_token=app_token,
        api_url=settings.slack_api_url,
        reply_in_thread=settings.slack_reply_in_thread,
        ignore_other_bots=settings.slack_ignore_other_bots,
        native_streaming=settings.slack_native_streaming,
        feedback=settings.slack_feedback,
        loading_messages=settings.slack_loading_messages,
        admin_user_ids=listed_admins(settings.admin_user_ids, "slack"),
        access=access_policy(settings),
        shutdown_grace=settings.shutdown_grace_seconds,
    )


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]
