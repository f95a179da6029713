"""``chatwright doctor``'s checks: each returns a plain verdict, none raises.

``checks`` yields each verdict as soon as it is known, so a person sees progress; every
check but the MCP servers' (which may fetch a package first) gets ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bots.access_policy import access_policy
from bots.app import persona_directories
from bots.doctor_check import Check, Status
from bots.doctor_models import catalog_or_failure, chat_check_name, provider_check
from bots.doctor_platforms import discord_checks, slack_checks
from bots.settings import Settings
from core.errors import ChatwrightError
from core.personas import load_presets
from core.store import PostgresStore, open_store, redacted_url
from core.store.postgres_migrations import SCHEMA_VERSION
from core.tokens import EstimatingCounter, default_counter

if TYPE_CHECKING:
    from core.tools.mcp import ServerStatus

__all__ = ["Check", "DEFAULT_TIMEOUT", "Status", "checks", "mcp_checks", "run_checks"]

# Long enough for a slow API's first answer; short enough that a hang is noticed.
DEFAULT_TIMEOUT = 10.0

_Probe = Callable[[], Awaitable["Check | list[Check]"]]


async def run_checks(settings: Settings, timeout: float = DEFAULT_TIMEOUT) -> list[Check]:
    return [check async for check in checks(settings, timeout)]


async def checks(
    settings: Settings, timeout: float = DEFAULT_TIMEOUT, on_start: Callable[[str], None] | None = None,
) -> AsyncIterator[Check]:
    """Each check's verdict in turn, as it is known; ``on_start(name)`` before each runs."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout)) as client:
        for name, probe, hint in _probes(settings, client):
            if on_start is not None:
                on_start(name)
            for check in await _bounded(name, probe, timeout, hint):
                yield check
    if on_start is not None:
        on_start("mcp servers")
    for check in await mcp_checks(settings.mcp_config):
        yield check


def _probes(settings: Settings, client: httpx.AsyncClient) -> list[tuple[str, _Probe, str]]:
    """(name, probe, what to check when it hangs), in the order they run."""
    catalog, catalog_failed = catalog_or_failure(settings)
    chat: list[tuple[str, _Probe, str]] = [
        (chat_check_name(provider), _bind(provider_check, settings, catalog, provider),
         f"is the server at {provider.base_url} up?")
        for provider in (catalog.providers.values() if catalog else ())
    ]
    return [
        ("database", lambda: _database(settings), "check DATABASE_URL"),
        *((check.name, _bind(_now, check), "") for check in catalog_failed),
        *chat,
        ("token counting", lambda: _now(_tokens()), ""),
        ("personas", lambda: _now(_personas(settings)), ""),
        ("access", lambda: _now(_access(settings)), ""),
        ("slack", lambda: slack_checks(settings, client), "check SLACK_API_URL and the network"),
        ("discord", lambda: discord_checks(settings, client), "check DISCORD_API_URL and the network"),
    ]


def _bind(probe: Callable[..., Awaitable[Check | list[Check]]], *args: object) -> _Probe:
    return lambda: probe(*args)


async def _now(found: Check | list[Check]) -> Check | list[Check]:
    """Verdicts known without waiting, given in turn with the others."""
    return found


async def _bounded(name: str, probe: _Probe, timeout: float, hint: str) -> list[Check]:
    """The probe's verdicts, or a failure naming the hang when it takes too long."""
    try:
        async with asyncio.timeout(timeout):
            found = await probe()
    except TimeoutError:
        fix = f": {hint}" if hint else ""
        return [Check(name, "fail", f"no answer within {timeout:g} s{fix}")]
    return found if isinstance(found, list) else [found]


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


def _access(settings: Settings) -> list[Check]:
    """Who may talk to the bot, a line per fact (ids are validated with the settings)."""
    return [Check("access", "ok", line) for line in access_policy(settings).describe()]


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
