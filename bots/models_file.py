"""``MODELS_FILE``: more providers and models, read into a ``ModelCatalog``.

::

    default_model = "gpt-4o-mini"          # optional; else OPENAI_MODEL

    [providers.local]                      # "default" is the OPENAI_* settings' own
    base_url = "http://localhost:8080/v1"
    api_type = "openai"                    # or "azure"
    api_key_env = "LOCAL_API_KEY"          # the NAME of the variable holding the key
    api_version = "2024-10-21"             # Azure only

    [models."llama3.2:3b"]
    provider = "local"                     # optional; else "default"
    model_id = "llama3.2:3b-instruct-q4"   # optional: the id on the wire
    context_window = 4096
    max_reply_tokens = 512
    vision = false
    tools = false
    price_input = 0.15                     # US dollars per million tokens
    price_cached_input = 0.075
    price_output = 0.6

Every mistake is one ``ConfigurationError`` naming the file, the table and the key. A
key that is not set is no error here: ``missing_key`` says it, the start refuses it
only for an API that needs one (``Provider.hosted``), doctor reports it.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bots.settings import Settings
from core.errors import ConfigurationError
from core.model.catalog import DEFAULT_PROVIDER, ModelCatalog, ModelInfo, Prices, Provider

__all__ = ["default_provider", "load_catalog", "missing_key", "provider_api_key", "provider_secrets"]

_TOP_KEYS = ("default_model", "models", "providers")
_PROVIDER_KEYS = ("api_key_env", "api_type", "api_version", "base_url")
_MODEL_KEYS = (
    "context_window", "max_reply_tokens", "model_id", "price_cached_input", "price_input",
    "price_output", "provider", "tools", "vision",
)
_PROVIDER_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What /model use takes: one word that Slack and Discord options carry whole.
_MODEL_NAME = re.compile(r"^\S{1,100}$")


def load_catalog(settings: Settings) -> ModelCatalog:
    """The catalog of ``settings``: the default provider (OPENAI_*) and MODELS_FILE's."""
    default = default_provider(settings)
    default_prices = _env_prices(settings)
    if settings.models_file is None:
        return ModelCatalog({DEFAULT_PROVIDER: default}, default_model=settings.openai_model,
                            default_prices=default_prices)
    return _FileReader(settings.models_file).catalog(default, settings.openai_model, default_prices)


def default_provider(settings: Settings) -> Provider:
    """The provider of the OPENAI_* settings, always there."""
    return Provider(
        DEFAULT_PROVIDER, settings.openai_base_url, settings.openai_api_type,
        api_key_env="OPENAI_API_KEY", api_version=settings.openai_api_version,
    )


# -- keys ----------------------------------------------------------------------------------
def provider_api_key(settings: Settings, provider: Provider) -> str | None:
    """The provider's key (None: unset or empty): OPENAI_API_KEY for the default
    provider; else the variable ``api_key_env`` names, from the environment or .env."""
    if provider.name == DEFAULT_PROVIDER:
        key = settings.openai_api_key
        return (key.get_secret_value() or None) if key is not None else None
    if provider.api_key_env is None:
        return None
    return os.environ.get(provider.api_key_env) or _dotenv().get(provider.api_key_env) or None


def missing_key(settings: Settings, provider: Provider) -> str | None:
    """What is wrong with the provider's key, in one line; None when nothing is."""
    if provider_api_key(settings, provider) is not None:
        return None
    if provider.name == DEFAULT_PROVIDER:
        return f"OPENAI_API_KEY is not set, and {provider.base_url} needs a key" if provider.hosted else None
    if provider.api_key_env is not None:
        return f"provider '{provider.name}': {provider.api_key_env} is not set (api_key_env in {settings.models_file})"
    if provider.hosted:
        return f"provider '{provider.name}': {provider.base_url} needs a key: set api_key_env in {settings.models_file}"
    return None


def provider_secrets(settings: Settings) -> list[str]:
    """The keys of MODELS_FILE's providers, for masking in logs (the file's mistakes
    are said when the bot starts, not here)."""
    try:
        catalog = load_catalog(settings)
    except ConfigurationError:
        return []
    keys = (provider_api_key(settings, p) for p in catalog.providers.values() if p.name != DEFAULT_PROVIDER)
    return [key for key in keys if key]


def _dotenv() -> Mapping[str, str | None]:
    """The .env file's values: pydantic-settings reads it but leaves the environment be."""
    from dotenv import dotenv_values  # pydantic-settings' own dependency

    env_file = Settings.model_config.get("env_file")
    files = [env_file] if isinstance(env_file, (str, Path)) else list(env_file or ())
    values: dict[str, str | None] = {}
    for name in files:
        if Path(name).is_file():
            values.update(dotenv_values(name))
    return values


def _env_prices(settings: Settings) -> Prices | None:
    given = (settings.openai_price_input, settings.openai_price_output)
    if given == (None, None):
        if settings.openai_price_cached_input is not None:
            raise ConfigurationError("OPENAI_PRICE_CACHED_INPUT needs OPENAI_PRICE_INPUT and OPENAI_PRICE_OUTPUT")
        return None
    if None in given:
        raise ConfigurationError("set OPENAI_PRICE_INPUT and OPENAI_PRICE_OUTPUT together (US dollars per million tokens)")
    return Prices(settings.openai_price_input, settings.openai_price_output,  # type: ignore[arg-type]
                  settings.openai_price_cached_input)


# -- the file --------------------------------------------------------------------------------
class _FileReader:
    """Reads one MODELS_FILE; every error names the file, the table and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def catalog(self, default: Provider, openai_model: str, default_prices: Prices | None) -> ModelCatalog:
        data = self._load()
        self._check_keys(data, _TOP_KEYS, "the top level")
        providers = {DEFAULT_PROVIDER: default}
        for name, table in self._tables(data, "providers").items():
            providers[name] = self._provider(name, table)
        models = {name: self._model(name, table, providers, default_prices)
                  for name, table in self._tables(data, "models").items()}
        default_model = data.get("default_model", openai_model)
        if not isinstance(default_model, str) or not default_model:
            raise self._error("the top level", "default_model", "expected a model's name")
        if default_model != openai_model and default_model not in models:
            raise self._error("the top level", "default_model",
                              f"{default_model!r} is not a [models] table here (nor OPENAI_MODEL)")
        return ModelCatalog(providers, models, default_model, default_prices=default_prices,
                            named_only=bool(models))

    def _load(self) -> dict[str, Any]:
        try:
            with self.path.open("rb") as file:
                return tomllib.load(file)
        except FileNotFoundError:
            raise ConfigurationError(f"MODELS_FILE {self.path}: no such file") from None
        except OSError as exc:
            raise ConfigurationError(f"MODELS_FILE {self.path}: cannot read it ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"MODELS_FILE {self.path} is not valid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise ConfigurationError(f"MODELS_FILE {self.path} is not UTF-8 text") from None

    def _tables(self, data: Mapping[str, Any], kind: str) -> dict[str, Mapping[str, Any]]:
        section = data.get(kind, {})
        if not isinstance(section, dict):
            raise self._error("the top level", kind, f"expected tables like [{kind}.NAME]")
        name_rule = _PROVIDER_NAME if kind == "providers" else _MODEL_NAME
        for name, table in section.items():
            where = f"[{kind}.{_quoted(name)}]"
            if not isinstance(table, dict):
                raise self._error("the top level", f"{kind}.{name}", f"expected a table {where}")
            if not name_rule.match(name):
                rule = "letters, digits, '_', '.', '-'" if kind == "providers" else "one word of at most 100 characters"
                raise ConfigurationError(f"MODELS_FILE {self.path}: {where}: the name must be {rule}")
        return section

    def _provider(self, name: str, table: Mapping[str, Any]) -> Provider:
        where = f"[providers.{_quoted(name)}]"
        if name == DEFAULT_PROVIDER:
            raise ConfigurationError(f"MODELS_FILE {self.path}: {where}: 'default' is the provider of the "
                                     "OPENAI_* settings; give this one another name")
        self._check_keys(table, _PROVIDER_KEYS, where)
        base_url = self._get(table, where, "base_url", str, required=True)
        split = urlsplit(base_url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise self._error(where, "base_url", f"{base_url!r} is not an http:// or https:// URL")
        api_type = self._get(table, where, "api_type", str) or "openai"
        if api_type not in ("openai", "azure"):
            raise self._error(where, "api_type", f"{api_type!r}: use \"openai\" or \"azure\"")
        key_env = self._get(table, where, "api_key_env", str)
        if key_env is not None and not _ENV_NAME.match(key_env):
            raise self._error(where, "api_key_env",
                              f"{key_env!r} is not a variable's name: give the NAME of the variable holding the key")
        version = self._get(table, where, "api_version", str) or Provider.__dataclass_fields__["api_version"].default
        return Provider(name, base_url.rstrip("/"), api_type, key_env, version)  # type: ignore[arg-type]

    def _model(self, name: str, table: Mapping[str, Any], providers: Mapping[str, Provider],
               default_prices: Prices | None) -> ModelInfo:
        where = f"[models.{_quoted(name)}]"
        self._check_keys(table, _MODEL_KEYS, where)
        provider = self._get(table, where, "provider", str) or DEFAULT_PROVIDER
        if provider not in providers:
            known = ", ".join(sorted(providers))
            raise self._error(where, "provider", f"no provider {provider!r} (known: {known})")
        window = self._count(table, where, "context_window")
        reply = self._count(table, where, "max_reply_tokens")
        if window is not None and reply is not None and reply >= window:
            raise self._error(where, "max_reply_tokens", f"{reply} leaves no room in a context_window of {window}")
        prices = self._prices(table, where)
        if prices is None and provider == DEFAULT_PROVIDER:
            prices = default_prices
        vision = self._get(table, where, "vision", bool)
        tools = self._get(table, where, "tools", bool)
        return ModelInfo(
            name, provider, self._get(table, where, "model_id", str), window, reply, vision,
            True if tools is None else tools, prices,
        )

    def _prices(self, table: Mapping[str, Any], where: str) -> Prices | None:
        input_, cached, output = (self._get(table, where, key, float)
                                  for key in ("price_input", "price_cached_input", "price_output"))
        if input_ is None and output is None:
            if cached is not None:
                raise self._error(where, "price_cached_input", "give price_input and price_output too")
            return None
        if input_ is None or output is None:
            missing = "price_input" if input_ is None else "price_output"
            raise self._error(where, missing, "missing: give price_input and price_output together")
        return Prices(input_, output, cached)

    def _count(self, table: Mapping[str, Any], where: str, key: str) -> int | None:
        value = self._get(table, where, key, int)
        if value is not None and value < 1:
            raise self._error(where, key, f"{value} is not a positive number of tokens")
        return value

    def _get(self, table: Mapping[str, Any], where: str, key: str, kind: type, *, required: bool = False) -> Any:
        value = table.get(key)
        if value is None:
            if required:
                raise self._error(where, key, "missing")
            return None
        if not _is(value, kind):
            raise self._error(where, key, f"expected {_KIND_WORDS[kind]}, got {value!r}")
        if kind is float:
            value = float(value)
            if not math.isfinite(value) or value < 0:
                raise self._error(where, key, f"{value} is not a price (dollars per million tokens, 0 or more)")
        if kind is str and not value.strip():
            raise self._error(where, key, "empty")
        return value

    def _check_keys(self, table: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise self._error(where, key, f"unknown key{hint}; known keys: {', '.join(known)}")

    def _error(self, where: str, key: str, problem: str) -> ConfigurationError:
        return ConfigurationError(f"MODELS_FILE {self.path}: {where} {key}: {problem}")


_KIND_WORDS = {str: "text in quotes", int: "a whole number", bool: "true or false", float: "a number"}


def _is(value: object, kind: type) -> bool:
    # TOML's true is a Python bool, which is an int too: neither stands for the other.
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _quoted(name: str) -> str:
    """A table name as TOML needs it written (``models."llama3.2:3b"``)."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'
