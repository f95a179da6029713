"""``RoutingChatModel``: one ``ChatModel`` over several providers.

The engine names a model (``ChatParams.model``: the persona's, or the default); the
catalog says which provider serves it and under which id, and the request goes to that
provider's chat model with the id on the wire. A name the catalog lacks goes to the
default provider as it is (see ``ModelCatalog.info``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Self

from core.errors import ConfigurationError
from core.model.catalog import DEFAULT_PROVIDER, ModelCatalog
from core.model.protocol import ChatModel, StreamItem
from core.types import ChatMessage, ChatParams

__all__ = ["RoutingChatModel"]


class RoutingChatModel:
    """A ``ChatModel`` sending each request to the provider of its model.

    ``providers`` holds one chat model per provider of ``catalog`` (built on one shared
    HTTP client by bots/app.py); closing this closes them all.
    """

    def __init__(self, catalog: ModelCatalog, providers: Mapping[str, ChatModel]) -> None:
        missing = sorted(set(catalog.providers) - set(providers))
        if missing:
            raise ConfigurationError(f"no chat model for provider(s) {', '.join(missing)}")
        self.catalog = catalog
        self.providers = MappingProxyType(dict(providers))
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(providers={sorted(self.providers)!r})"

    def route(self, params: ChatParams) -> tuple[ChatModel, ChatParams]:
        """The chat model serving ``params.model``, and ``params`` with its wire id."""
        info = self.catalog.info(params.model)
        return self.providers[info.provider], dataclasses.replace(params, model=info.wire_id)

    async def stream(
        self, messages: Sequence[ChatMessage], params: ChatParams
    ) -> AsyncIterator[StreamItem]:
        model, wire = self.route(params)
        items = model.stream(messages, wire)
        try:
            async for item in items:
                yield item
        finally:
            # A consumer that stops early closes the provider's stream (and its
            # connection) now, not when the generator is collected.
            close = getattr(items, "aclose", None)
            if close is not None:
                await close()

    async def list_models(self) -> list[str]:
        """The default provider's models (``chatwright doctor`` asks each provider itself)."""
        return await self.providers[DEFAULT_PROVIDER].list_models()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every provider's model (each closing twice is harmless, so is this)."""
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*(model.aclose() for model in self.providers.values()))
