"""Settings from the environment and ``.env``; names as in ARCHITECTURE.md.

Secrets are ``SecretStr`` so that printing or logging settings never shows them.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

from core.errors import ConfigurationError
from core.model.catalog import DEFAULT_PROVIDER, Provider

__all__ = ["InvalidSettings", "Settings", "load_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        # An empty line in .env (as in .env.example) means "not set", not "empty string".
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    # -- chat API ------------------------------------------------------------------------
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    # "azure" sends the key as an ``api-key`` header and adds ``api-version``.
    openai_api_type: Literal["openai", "azure"] = "openai"
    openai_api_version: str = "2024-10-21"
    openai_timeout_seconds: float = Field(60.0, gt=0)
    openai_max_retries: int = Field(4, ge=0, le=10)
    # Overall deadline for one answer, retries included.
    openai_deadline_seconds: float = Field(180.0, gt=0)

    # Whether the model takes images; unset: yes on OpenAI's and Azure's APIs (but not
    # for gpt-3.5 models), no elsewhere (local servers mostly run text-only models). A
    # persona's ``vision`` overrides it.
    openai_vision: bool | None = None

    # More providers and models, with their context windows and prices (TOML; see
    # README: "Models and providers"). The OPENAI_* settings stay the default provider.
    models_file: Path | None = None
    # Prices of the default provider's models, in US dollars per million tokens, where
    # MODELS_FILE gives none (README: "What answers cost").
    openai_price_input: float | None = Field(None, ge=0)
    openai_price_cached_input: float | None = Field(None, ge=0)
    openai_price_output: float | None = Field(None, ge=0)

    # -- behaviour -------------------------------------------------------------------------
    system_prompt: str = "You are a helpful assistant. Answer clearly and concisely."
    persona_dir: Path | None = None
    context_token_budget: int = Field(6000, ge=256)
    max_reply_tokens: int | None = Field(None, ge=1)
    max_input_chars: int = Field(8000, ge=1)
    max_persona_chars: int = Field(4000, ge=1)
    # 0 disables the limit.
    user_messages_per_minute: int = Field(20, ge=0)
    channel_daily_token_budget: int = Field(0, ge=0)
    # A channel's daily budget in US dollars, at the configured prices; 0: none.
    channel_daily_budget_usd: float = Field(0.0, ge=0)
    # When the history no longer fits, this share of the budget is freed at once, so
    # that the next requests share their prefix with this one (providers' prompt caches).
    context_trim_share: float = Field(0.08, ge=0, le=0.9)

    # Earlier messages of a thread (or a Discord reply chain) read when the bot is first
    # asked there; they become the conversation's first turns.
    thread_context_messages: int = Field(50, ge=0, le=1000)

    # -- files and images people send (see README: "Images and files") -------------------
    attachment_max_bytes: int = Field(20 * 1024 * 1024, ge=1)
    attachments_max_per_message: int = Field(10, ge=1, le=100)
    # The long side of an image as the model gets it, in pixels.
    image_max_pixels: int = Field(1568, ge=64, le=8192)
    # Keep images' bytes until /forget; else only for IMAGE_MEMORY_TURNS questions.
    store_images: bool = False
    # Questions after an image's own that still see it.
    image_memory_turns: int = Field(3, ge=0, le=100)

    # -- tools, plugins, MCP servers (see README: "Tools") -------------------------------
    # Tools enabled where a channel's admins and its persona chose none: names as
    # ``/tools list`` shows them, comma-separated, or "all". None by default, so that an
    # upgrade never gives the model new powers silently.
    tools_enabled: Annotated[frozenset[str], NoDecode] = frozenset()
    tool_max_steps: int = Field(8, ge=1, le=50)
    tool_timeout_seconds: float = Field(30.0, gt=0)
    tool_total_seconds: float = Field(120.0, gt=0)
    tool_output_max_chars: int = Field(16_000, ge=100)
    # Plugin modules to load (besides the ``chatwright.plugins`` entry points).
    plugins: Annotated[tuple[str, ...], NoDecode] = ()
    # A JSON file of MCP servers ({"mcpServers": {...}}, as other MCP clients use).
    mcp_config: Path | None = None
    # Let fetch_url (the example plugin) reach private, loopback and link-local addresses.
    fetch_allow_private: bool = False

    # -- storage --------------------------------------------------------------------------
    database_url: str = "sqlite:///data/chatwright.db"
    # Connections one process may hold at once on PostgreSQL (SQLite uses one).
    database_pool_size: int = Field(10, ge=1, le=100)

    # -- answers across restarts (see README: "Every question answered once") -------------
    # A process that stops renewing (crashed) holds its answers this long at most.
    answer_lease_seconds: float = Field(30.0, ge=1, le=600)
    # On SIGTERM/SIGINT, answers in flight get this long to finish; the rest resume at
    # the next start. Below the 30 s Kubernetes and compose wait before SIGKILL.
    shutdown_grace_seconds: float = Field(20.0, ge=0, le=3600)
    # An unfinished answer older than this is not asked again: the user is told instead.
    resume_max_age_seconds: float = Field(900.0, ge=0)

    # -- Slack ----------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_reply_in_thread: bool = True
    slack_ignore_other_bots: bool = True
    slack_native_streaming: bool = False
    # 👍/👎 under each finished answer in Slack.
    slack_feedback: bool = True
    # The status line's loading messages where the persona has none, separated by "|"
    # (they are sentences, and may hold commas); empty: chatwright's own.
    slack_loading_messages: Annotated[tuple[str, ...], NoDecode] = ()

    # -- Discord --------------------------------------------------------------------------
    discord_token: SecretStr | None = None
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None
    discord_shard_count: int | None = Field(None, ge=1)
    # The shards this process runs (of DISCORD_SHARD_COUNT), so that processes split the guilds.
    discord_shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None

    # -- HTTP server and operations -------------------------------------------------------
    http_host: str = "0.0.0.0"
    http_port: int = Field(3000, ge=0, le=65535)
    # /metrics on a port of its own, not on the public HTTP_PORT; unset: on HTTP_PORT.
    metrics_port: int | None = Field(None, ge=0, le=65535)

    # -- who may talk to the bot (core/access.py): platform-qualified ids, slack:U1,discord:2
    admin_user_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    # Empty: everyone (but the blocked). Admins are always allowed.
    allowed_user_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    blocked_user_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    # Empty: every channel. A thread is in its channel.
    allowed_channel_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    # Discord roles whose members may talk to it (besides ALLOWED_USER_IDS).
    allowed_role_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    allow_dms: bool = True

    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("admin_user_ids", "allowed_user_ids", "blocked_user_ids", "allowed_channel_ids",
                     "allowed_role_ids", "tools_enabled", "plugins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        return _listed(value, ",")

    @field_validator("admin_user_ids", "allowed_user_ids", "blocked_user_ids", "allowed_channel_ids")
    @classmethod
    def _platform_qualified(cls, ids: frozenset[str]) -> frozenset[str]:
        # Unqualified ids used to be ignored silently: an admin list that names nobody.
        return _checked_ids(ids, ("slack", "discord"))

    @field_validator("allowed_role_ids")
    @classmethod
    def _discord_roles(cls, ids: frozenset[str]) -> frozenset[str]:
        return _checked_ids(ids, ("discord",))

    @field_validator("slack_loading_messages", mode="before")
    @classmethod
    def _split_loading_messages(cls, value: object) -> object:
        return _listed(value, "|")  # sentences: they may hold commas

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _split_shard_ids(cls, value: object) -> object:
        return _listed(value, ",") or None

    @field_validator("discord_shard_ids")
    @classmethod
    def _shard_ids_within_count(cls, ids: tuple[int, ...] | None, info: ValidationInfo) -> tuple[int, ...] | None:
        if ids is None:
            return None
        # Fields are checked in order, so a valid DISCORD_SHARD_COUNT is already in ``data``.
        count = info.data.get("discord_shard_count")
        if count is None:
            raise PydanticCustomError("shard_ids", "needs DISCORD_SHARD_COUNT, the number of shards over all processes")
        if len(set(ids)) != len(ids) or not all(0 <= i < count for i in ids):
            raise PydanticCustomError(
                "shard_ids", "ids must be distinct, from 0 to {last} for DISCORD_SHARD_COUNT={count}; got {ids}",
                {"last": count - 1, "count": count, "ids": ",".join(map(str, ids))},
            )
        return ids

    @field_validator("metrics_port")
    @classmethod
    def _metrics_port_apart(cls, port: int | None, info: ValidationInfo) -> int | None:
        if port and port == info.data.get("http_port"):
            raise PydanticCustomError(
                "metrics_port", "is HTTP_PORT too: set another port, or unset it to serve /metrics on HTTP_PORT")
        return port

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def secret_values(self) -> list[str]:
        """The plain values of every secret that is set, for masking in logs."""
        secrets = (self.openai_api_key, self.slack_bot_token, self.slack_app_token,
                   self.slack_signing_secret, self.discord_token)
        values = [s.get_secret_value() for s in secrets if s is not None]
        # The database password lives inside DATABASE_URL; a driver may echo it.
        password = _url_password(self.database_url)
        if password:
            values.append(password)
        return values + self._mcp_secrets() + self._provider_secrets()

    def _provider_secrets(self) -> list[str]:
        """The keys of MODELS_FILE's providers (read from the variables they name)."""
        if self.models_file is None:
            return []
        from bots.models_file import provider_secrets  # imports this module: only when called

        return provider_secrets(self)

    def _mcp_secrets(self) -> list[str]:
        """The MCP servers' env values, headers and URL secrets (see core/tools/mcp)."""
        if self.mcp_config is None:
            return []
        from core.tools.mcp import load_config, secret_values  # the SDK only when used

        try:
            return list(secret_values(load_config(self.mcp_config)))
        except ConfigurationError:  # said in one line when the bot starts
            return []

    @property
    def vision(self) -> bool:
        """OPENAI_VISION, or its default for the API and model configured."""
        if self.openai_vision is not None:
            return self.openai_vision
        hosted = Provider(DEFAULT_PROVIDER, self.openai_base_url, self.openai_api_type).hosted
        return hosted and not self.openai_model.startswith("gpt-3.5")

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def discord_configured(self) -> bool:
        return self.discord_token is not None


def _listed(value: object, separator: str) -> object:
    """A setting's text as its items, each stripped, empty ones dropped (other values as
    they are: a default, or what a test passed)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(separator) if part.strip()]
    return value


# Slack ids are upper-case letters and digits (U…, W…, C…, G…, D…); Discord's are numbers.
_ID_SHAPES = {"slack": re.compile(r"[A-Z0-9]+"), "discord": re.compile(r"[0-9]+")}
_ID_RULES = {"slack": "Slack ids are upper-case letters and digits", "discord": "Discord ids are digits only"}


def _checked_ids(ids: frozenset[str], platforms: tuple[str, ...]) -> frozenset[str]:
    """``ids`` if each is ``platform:id`` for one of ``platforms``; else every wrong one named."""
    problems = [problem for entry in sorted(ids) if (problem := _id_problem(entry, platforms))]
    if problems:
        raise PydanticCustomError("platform_id", "{problems}", {"problems": "; ".join(problems)})
    return ids


def _id_problem(entry: str, platforms: tuple[str, ...]) -> str | None:
    platform, colon, bare = entry.partition(":")
    if not colon:
        return f"{entry!r} has no platform: write {_qualified(entry, platforms)}"
    if platform not in platforms:
        allowed = " or ".join(f"{p}:" for p in platforms)
        return f"{entry!r}: the platform must be {allowed}"
    if not _ID_SHAPES[platform].fullmatch(bare):
        return f"{entry!r}: {_ID_RULES[platform]}"
    return None


def _qualified(bare: str, platforms: tuple[str, ...]) -> str:
    """How ``bare`` is written with its platform (guessed from its shape)."""
    fits = [p for p in platforms if _ID_SHAPES[p].fullmatch(bare)] or list(platforms)
    return " or ".join(f"{p}:{bare}" for p in fits)


def _url_password(url: str) -> str:
    try:
        return unquote(urlsplit(url).password or "")
    except ValueError:  # a malformed URL: open_store says what is wrong with it
        return ""


class InvalidSettings(ConfigurationError):
    """Settings that failed validation: ``problems`` holds one line per setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def load_settings(**overrides: object) -> Settings:
    """Load settings; every invalid one is named at once, one line each."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise InvalidSettings(_problems(exc)) from None


def _problems(exc: ValidationError) -> list[str]:
    """One line per setting: its variable, what is wrong, where to fix it."""
    lines: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        # A setting with several errors (a union's members) is named once, by the first.
        lines.setdefault(name, f"invalid setting {name}: {error['msg']} (check your environment or .env)")
    return list(lines.values())
