"""Which models the bot may use, through which provider, and what each can take.

A ``ModelCatalog`` is built at start from ``MODELS_FILE`` (bots/models_file.py) and the
single-provider settings (``OPENAI_*``, the provider named ``default``). The engine asks
it for a model's context window, reply cap, vision, tool support and prices; the
routing chat model (core/model/router.py) for its provider. A model the catalog does not
name is served by the default provider with what settings say (so a persona may name any
model the default provider has).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["DEFAULT_PROVIDER", "Prices", "Provider", "ModelInfo", "ModelCatalog"]

DEFAULT_PROVIDER = "default"

ApiType = Literal["openai", "azure"]


@dataclass(frozen=True, slots=True)
class Provider:
    """An OpenAI-compatible API. The key is never here: ``api_key_env`` names the
    environment variable that holds it (None: the API takes no key)."""

    name: str
    base_url: str
    api_type: ApiType = "openai"
    api_key_env: str | None = None
    api_version: str = "2024-10-21"

    @property
    def hosted(self) -> bool:
        """OpenAI's or Azure's API: it always needs a key, and its models take images."""
        host = (urlsplit(self.base_url).hostname or "").lower()
        return self.api_type == "azure" or host == "api.openai.com"


@dataclass(frozen=True, slots=True)
class Prices:
    """US dollars per million tokens."""

    input: float
    output: float
    # Prompt tokens read from the provider's cache; unset: billed as ``input``.
    cached_input: float | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model as the bot knows it; None where unknown (then settings or the server say)."""

    name: str  # what people and personas call it (``/model use NAME``)
    provider: str = DEFAULT_PROVIDER
    # The model's id on the wire, when it differs from ``name`` (e.g. an Azure deployment).
    model_id: str | None = None
    context_window: int | None = None
    max_reply_tokens: int | None = None
    vision: bool | None = None
    tools: bool = True
    prices: Prices | None = None

    @property
    def wire_id(self) -> str:
        return self.model_id or self.name


@dataclass(frozen=True, slots=True)
class ModelCatalog:
    providers: Mapping[str, Provider]
    models: Mapping[str, ModelInfo] = field(default_factory=dict)
    # The model used where no channel or persona names one (OPENAI_MODEL, or the file's).
    default_model: str = ""
    # Prices of a default-provider model the catalog does not name (OPENAI_PRICE_*).
    default_prices: Prices | None = None
    # True when MODELS_FILE lists the models: ``/model use`` then takes only those
    # (a persona may still name another: it goes to the default provider).
    named_only: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "providers", MappingProxyType(dict(self.providers)))
        object.__setattr__(self, "models", MappingProxyType(dict(self.models)))

    def info(self, name: str | None) -> ModelInfo:
        """What is known of ``name`` (the default model for None or ""); a name the
        catalog lacks is a model of the default provider, priced at ``default_prices``."""
        name = name or self.default_model
        return self.models.get(name) or ModelInfo(name, prices=self.default_prices)

    def provider(self, name: str | None) -> Provider:
        return self.providers[self.info(name).provider]

    def names(self) -> list[str]:
        """The models named in the catalog, the default first."""
        rest = sorted(n for n in self.models if n != self.default_model)
        return ([self.default_model] if self.default_model else []) + rest
