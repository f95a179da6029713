"""Composing the engine from settings: store, chat models, presets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
import asyncio
import logging
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import httpx

from bots.aiohttp_transport import AiohttpTransport
from bots.models_file import default_provider, load_catalog, missing_key, provider_api_key
from bots.settings import Settings
from core.attachments import AttachmentLimits
from core.engine import Engine, EngineConfig
from core.image_memory import FilePolicy
from core.errors import ConfigurationError
from core.ledger import LeasePolicy
from core.model.catalog import DEFAULT_PROVIDER, ModelCatalog, Provider
from core.model.openai import OpenAIChatModel
from core.model.retry import RetryPolicy
from core.model.router import RoutingChatModel
from core.model.windows import discover_windows
from core.personas import load_presets
from core.plugins.loading import load_plugins
from core.tools.policy import ToolLimits
from core.store import open_store
from core.types import Persona

__all__ = [
    "BUILTIN_PERSONAS", "build_model", "engine_config", "persona_directories", "provider_model",
    "routing_model", "running_engine",
]

logger = logging.getLogger(__name__)

BUILTIN_PERSONAS = Path(__file__).with_name("personas")


def persona_directories(settings: Settings) -> list[Path]:
    """The built-in presets, then the operator's own (which override them by name)."""
    return [BUILTIN_PERSONAS] + ([settings.persona_dir] if settings.persona_dir else [])


def build_model(settings: Settings, client: httpx.AsyncClient | None = None) -> OpenAIChatModel:
    """The default provider's chat model (OPENAI_*); on ``client`` if given (then the
    caller closes it), else on its own."""
    return provider_model(settings, default_provider(settings), client)


def provider_model(
    settings: Settings, provider: Provider, client: httpx.AsyncClient | None = None,
    max_retries: int | None = None,
) -> OpenAIChatModel:
    """One provider's chat model, with the timeouts and retries of OPENAI_*; on ``client``
    if given (then the caller closes it), else on its own. ``max_retries=0``: doctor's."""
    retries = settings.openai_max_retries if max_retries is None else max_retries
    return OpenAIChatModel(
        base_url=provider.base_url,
        api_key=provider_api_key(settings, provider),
        model_default=settings.openai_model if provider.name == DEFAULT_PROVIDER else None,
        api_type=provider.api_type,
        api_version=provider.api_version,
        timeout=httpx.Timeout(settings.openai_timeout_seconds, connect=10.0),
        retry=RetryPolicy(max_attempts=retries + 1, deadline=settings.openai_deadline_seconds),
        client=client,
    )


def routing_model(settings: Settings, catalog: ModelCatalog, client: httpx.AsyncClient) -> RoutingChatModel:
    """One chat model per provider of ``catalog``, all on ``client`` (the caller closes it).

    A hosted API (OpenAI's, Azure's) without its key stops the start: every answer would
    fail. Another provider's unset key is a warning: local servers often take none.
    """
    for provider in catalog.providers.values():
        problem = missing_key(settings, provider)
        if problem and provider.hosted:
            raise ConfigurationError(problem)
        if problem:
            logger.warning("%s; its requests go without a key", problem)
    return RoutingChatModel(catalog, {name: provider_model(settings, p, client) for name, p in catalog.providers.items()})


def engine_config(settings: Settings, catalog: ModelCatalog | None = None) -> EngineConfig:
    """The engine's settings; ``catalog``: the models (default: ``load_catalog(settings)``)."""
    models = load_catalog(settings) if catalog is None else catalog
    return EngineConfig(
        default_persona=Persona(system_prompt=settings.system_prompt),
        model=models.default_model,
        models=models,
        context_token_budget=settings.context_token_budget,
        max_reply_tokens=settings.max_reply_tokens,
        max_input_chars=settings.max_input_chars,
        max_persona_chars=settings.max_persona_chars,
        user_messages_per_minute=settings.user_messages_per_minute,
        channel_daily_token_budget=settings.channel_daily_token_budget,
        channel_daily_budget_usd=settings.channel_daily_budget_usd,
        context_trim_share=settings.context_trim_share,
        thread_context_messages=settings.thread_context_messages,
        leases=LeasePolicy(
            lease_seconds=settings.answer_lease_seconds,
            resume_max_age_seconds=settings.resume_max_age_seconds,
        ),
        files=FilePolicy(
            limits=AttachmentLimits(
                max_bytes=settings.attachment_max_bytes,
                max_per_message=settings.attachments_max_per_message,
                image_max_pixels=settings.image_max_pixels,
            ),
            vision=settings.vision,
            store_images=settings.store_images,
            image_memory_turns=settings.image_memory_turns,
        ),
        tools=ToolLimits(
            default=settings.tools_enabled,
            max_steps=settings.tool_max_steps,
            call_timeout=settings.tool_timeout_seconds,
            total_timeout=settings.tool_total_seconds,
            max_output_chars=settings.tool_output_max_chars,
        ),
    )


@asynccontextmanager
async def running_engine(settings: Settings, *, single_writer: bool = True) -> AsyncIterator[Engine]:
    """An engine with its store open and its model client ready; both closed on exit.

    ``single_writer`` (``chatwright run``): this process must be the database's only
    writer, which lets the store cache what every message reads; on SQLite a second one
    is refused (``DatabaseInUse``). False for a process that may share the database
    with a running bot (``chatwright console``): its store reads the file every time.
    """
    presets = load_presets(persona_directories(settings))
    catalog = load_catalog(settings)  # a mistake in MODELS_FILE is said before anything opens
    _warn_unlisted_models(presets, catalog)
    store = open_store(settings.database_url, single_writer=single_writer, pool_size=settings.database_pool_size)
    await store.open()
    try:
        # The chat API's bytes go through aiohttp: httpx's pool is slow under many answers at once.
        # One client for every provider: one pool, one place to close.
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            catalog = await _with_windows(settings, catalog, client)
            async with routing_model(settings, catalog, client) as model:
                engine = Engine(store=store, model=model, config=engine_config(settings, catalog), presets=presets)
                # Before any adapter is built: they read the command table once, at start.
                load_plugins(settings.plugins, engine.tools, engine.commands.table)
                async with _mcp_servers(settings, engine):
                    try:
                        yield engine
                    finally:
                        await engine.ledger.aclose()
    finally:
        await store.aclose()


async def _with_windows(settings: Settings, catalog: ModelCatalog, client: httpx.AsyncClient) -> ModelCatalog:
    """``catalog`` with the context windows the servers report where MODELS_FILE says none."""
    keys = {name: provider_api_key(settings, p) for name, p in catalog.providers.items()}
    return await discover_windows(catalog, client, keys={n: k for n, k in keys.items() if k})


def _warn_unlisted_models(presets: Mapping[str, Persona], catalog: ModelCatalog) -> None:
    """A preset naming a model MODELS_FILE lacks still works (the default provider gets
    it as it is), but is most likely a typo: say so once, at start."""
    for preset in presets.values():
        if catalog.named_only and preset.model and preset.model not in catalog.names():
            logger.warning("persona preset '%s' names model '%s', which MODELS_FILE does not list; "
                           "it goes to the default provider as it is", preset.name, preset.model)


# How long the start waits for MCP servers to come up, so that the first questions see
# their tools; a slower server joins when it is ready (and is retried if it fails).
_MCP_START_WAIT = 10.0


@asynccontextmanager
async def _mcp_servers(settings: Settings, engine: Engine) -> AsyncIterator[None]:
    """The MCP servers of ``MCP_CONFIG``, their tools in ``engine.tools``, while inside."""
    if settings.mcp_config is None:
        yield
        return
    # Imported only when configured: the SDK takes half a second and ~40,000 objects.
    from core.tools.mcp import McpServers, ServerTimings, load_config

    servers = McpServers(load_config(settings.mcp_config), engine.tools,
                         ServerTimings(call_seconds=settings.tool_timeout_seconds))
    async with servers:
        with suppress(TimeoutError):
            await asyncio.wait_for(servers.wait_until(servers.settled), _MCP_START_WAIT)
        yield
