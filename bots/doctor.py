"""``chatwright doctor``'s checks: each returns a plain verdict, none raises."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bots.app import build_model, persona_directories
from bots.settings import Settings
from core.errors import ChatwrightError
from core.personas import load_presets
from core.store import PostgresStore, open_store, redacted_url
from core.store.postgres_migrations import SCHEMA_VERSION
from core.tokens import EstimatingCounter, default_counter

if TYPE_CHECKING:
    from core.tools.mcp import ServerStatus

__all__ = ["Check", "mcp_checks", "run_checks"]

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str


async def run_checks(settings: Settings) -> list[Check]:
    return [
        await _database(settings),
        await _chat_api(settings),
        _tokens(),
        _personas(settings),
        _slack(settings),
        _discord(settings),
        *await mcp_checks(settings.mcp_config),
    ]


async def _database(settings: Settings) -> Check:
    # Only through redacted_url, here and in every message: the URL may hold a password.
    try:
        store = open_store(settings.database_url)
        if isinstance(store, PostgresStore):
            return await _postgres(store)
        await store.open()
        await store.aclose()
    except ChatwrightError as exc:
        return Check("database", "fail", f"{exc} (check DATABASE_URL)")
    return Check("database", "ok", f"opened {redacted_url(settings.database_url)}")


async def _postgres(store: PostgresStore) -> Check:
    """Connect and read the schema version, migrating nothing: the replicas migrate
    when they start, and a doctor run must not race them."""
    found = await store.probe()
    reached = f"reached PostgreSQL {found.server_version} at {store.url}"
    if found.schema_version > SCHEMA_VERSION:
        return Check("database", "fail",
                     f"{reached}, but its schema version {found.schema_version} is newer than "
                     f"the {SCHEMA_VERSION} this chatwright knows: upgrade chatwright")
    if found.schema_version < SCHEMA_VERSION:
        return Check("database", "ok",
                     f"{reached}; schema version {found.schema_version} will be migrated "
                     f"to {SCHEMA_VERSION} at start")
    return Check("database", "ok", f"{reached}; schema version {SCHEMA_VERSION} (current)")


async def _chat_api(settings: Settings) -> Check:
    where = f"{settings.openai_base_url.rstrip('/')}/models"
    # One attempt: a person is waiting for the verdict, and retries would only delay it.
    try:
        async with build_model(settings.model_copy(update={"openai_max_retries": 0})) as model:
            models = await model.list_models()
    except ChatwrightError as exc:
        return Check("chat API", "fail", f"{exc} (check OPENAI_BASE_URL and OPENAI_API_KEY)")
    if settings.openai_model not in models:
        return Check(
            "chat API", "warn",
            f"reached {where}, but OPENAI_MODEL={settings.openai_model} is not among its "
            f"{len(models)} models (fine for Azure deployments and some proxies)",
        )
    return Check("chat API", "ok", f"reached {where}; model {settings.openai_model} is available")


def _tokens() -> Check:
    if isinstance(default_counter(), EstimatingCounter):
        return Check("token counting", "warn", "tiktoken encoding not cached: using a conservative estimate")
    return Check("token counting", "ok", "exact, with tiktoken")


def _personas(settings: Settings) -> Check:
    try:
        presets = load_presets(persona_directories(settings))
    except ChatwrightError as exc:
        return Check("personas", "fail", exc.user_message())
    return Check("personas", "ok", f"{len(presets)} presets: {', '.join(sorted(presets))}")


def _slack(settings: Settings) -> Check:
    if not settings.slack_configured:
        return Check("slack", "skip", "not configured (SLACK_BOT_TOKEN unset)")
    if settings.slack_app_token is not None:
        return Check("slack", "ok", "Socket Mode (SLACK_APP_TOKEN set)")
    if settings.slack_signing_secret is None:
        return Check("slack", "fail", "HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)")
    return Check("slack", "ok", f"HTTP mode at http://{settings.http_host}:{settings.http_port}/slack/events")


def _discord(settings: Settings) -> Check:
    if not settings.discord_configured:
        return Check("discord", "skip", "not configured (DISCORD_TOKEN unset)")
    shards = f", {settings.discord_shard_count} shards" if settings.discord_shard_count else ""
    return Check("discord", "ok", f"token set{shards}")


# Long enough for `npx -y` to fetch a server; a person is waiting, so not the bot's retries.
_MCP_START_SECONDS = 30.0


async def mcp_checks(config: Path | None) -> list[Check]:
    """Start each server of MCP_CONFIG once, as the bot would, and list its tools."""
    if config is None:
        return [Check("mcp servers", "skip", "not configured (MCP_CONFIG unset)")]
    # Imported here: the SDK takes half a second to import, and most bots use no MCP.
    from core.tools.mcp import McpServers, ServerTimings, load_config
    from core.tools.registry import ToolRegistry

    try:
        servers = load_config(config)
    except ChatwrightError as exc:
        return [Check("mcp servers", "fail", str(exc))]
    if not servers:
        return [Check("mcp servers", "skip", f"MCP_CONFIG {config} names no enabled server")]
    async with McpServers(servers, ToolRegistry(), ServerTimings(start_seconds=_MCP_START_SECONDS)) as running:
        try:
            await asyncio.wait_for(running.wait_until(running.settled), _MCP_START_SECONDS + 5)
        except TimeoutError:
            pass  # those still starting are reported as such
        statuses = running.statuses()
    return [_mcp_server(status) for status in statuses]


def _mcp_server(status: ServerStatus) -> Check:
    name = f"mcp server {status.name}"
    if status.state == "starting":
        return Check(name, "fail", f"did not start ({status.where}): no answer within {_MCP_START_SECONDS:g} s")
    if status.state != "up":
        return Check(name, "fail", f"did not start ({status.where}): {status.error or 'it stopped'}")
    tools = f": {', '.join(status.tools)}" if status.tools else ""
    return Check(name, "ok", f"started ({status.where}); {len(status.tools)} tools{tools}")
