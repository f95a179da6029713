"""Asking a server how large a model's context window is, where the server says.

Local servers run models with windows of their own choosing (a llama.cpp server started
with ``-c 2048``), which no model name tells. Some say it:

- vLLM: ``GET /v1/models`` → each model's ``max_model_len``;
- llama.cpp: ``GET /props`` → ``default_generation_settings.n_ctx`` (or ``n_ctx``);
- Ollama: ``POST /api/show`` → ``num_ctx`` in its ``parameters`` when the model sets it;
  else Ollama runs it with its default context (``OLLAMA_DEFAULT_WINDOW``), cut to the
  model's own ``<arch>.context_length`` if smaller.

``discover_windows`` is called once at start (bots/app.py) with the catalog; every
failure (no such endpoint, a timeout, odd JSON) means "not said", never an error.
A window in ``MODELS_FILE`` is never asked about: the operator's word wins.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from collections.abc import Awaitable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.model.catalog import ModelCatalog, ModelInfo, Provider

__all__ = ["OLLAMA_DEFAULT_WINDOW", "discover_windows", "server_window", "is_local_server"]

log = logging.getLogger(__name__)

# The context Ollama gives a model whose Modelfile sets no num_ctx: 2,048 in the versions
# most installs still run (newer ones give 4,096); the smaller errs on the safe side.
OLLAMA_DEFAULT_WINDOW = 2048
# Each request of the discovery: a server that says nothing this fast is not waited for.
DISCOVERY_TIMEOUT = 2.0

_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d+)\s*$", re.MULTILINE)
# Host names of private networks and containers (compose services have one label).
_LOCAL_SUFFIXES = (".local", ".lan", ".internal", ".home.arpa", ".localhost")


def is_local_server(base_url: str) -> bool:
    """Whether an API runs on this machine or a private network (a self-hosted model
    server), not a hosted service: loopback or private addresses, ``localhost``,
    one-label names (``http://ollama:11434``), ``.local``/``.lan``/``.internal`` names."""
    host = (urlsplit(base_url).hostname or "").lower()
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host or host.endswith(_LOCAL_SUFFIXES)
    return address.is_loopback or address.is_private or address.is_link_local


async def discover_windows(
    catalog: ModelCatalog, client: httpx.AsyncClient, *,
    keys: Mapping[str, str | None] | None = None, timeout: float = DISCOVERY_TIMEOUT,
) -> ModelCatalog:
    """The catalog with the window of each model that has none filled in where its server
    says (the default model included, added to ``models`` if it was not there).

    ``keys``: provider name → API key, for servers that want one. Servers are asked all at
    once, each request within ``timeout``; never raises.
    """
    models = dict(catalog.models)
    if catalog.default_model and catalog.default_model not in models:
        models[catalog.default_model] = catalog.info(catalog.default_model)
    asking = {
        name: info for name, info in models.items()
        if info.context_window is None and _may_ask(catalog.providers.get(info.provider))
    }
    if not asking:
        return catalog
    keys = keys or {}
    windows = await asyncio.gather(*(
        _within(3 * timeout, server_window(client, catalog.providers[info.provider], info.wire_id,
                                           key=keys.get(info.provider), timeout=timeout))
        for info in asking.values()
    ))
    for (name, info), window in zip(asking.items(), windows):
        if window is not None:
            log.info("the server says model %s has a context window of %d tokens", name, window)
            models[name] = replace(info, context_window=window)
    return replace(catalog, models=models)


async def _within(seconds: float, asking: Awaitable[int | None]) -> int | None:
    # The per-request timeout bounds each read; this, a server that trickles its answer.
    try:
        return await asyncio.wait_for(asking, seconds)
    except TimeoutError:
        return None


def _may_ask(provider: Provider | None) -> bool:
    # Hosted OpenAI and Azure say nothing of windows: not asked (and not billed a call).
    if provider is None or provider.api_type == "azure":
        return False
    return not (urlsplit(provider.base_url).hostname or "").endswith("openai.com")


async def server_window(
    client: httpx.AsyncClient, provider: Provider, model_id: str, *,
    key: str | None = None, timeout: float = DISCOVERY_TIMEOUT,
) -> int | None:
    """The context window the server at ``provider.base_url`` runs ``model_id`` with, if
    it says (vLLM, llama.cpp, Ollama, asked in that order); else None."""
    ask = _Asker(client, provider.base_url, key, timeout)
    listed = await ask.json("GET", "/models", root=False)
    window = _vllm_window(listed, model_id)
    if window is None:
        window = _llamacpp_window(await ask.json("GET", "/props"))
    if window is None:
        window = _ollama_window(await ask.json("POST", "/api/show", {"model": model_id}))
    return window


class _Asker:
    """One server's JSON endpoints, at ``base_url`` (``…/v1``) or at its root."""

    __slots__ = ("_client", "_base", "_root", "_headers", "_timeout")

    def __init__(self, client: httpx.AsyncClient, base_url: str, key: str | None, timeout: float) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        # llama.cpp and Ollama keep their own endpoints beside the OpenAI ones under /v1.
        self._root = re.sub(r"/v1$", "", self._base)
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._timeout = timeout

    async def json(self, method: str, path: str, body: Any = None, *, root: bool = True) -> Any:
        url = (self._root if root else self._base) + path
        try:
            response = await self._client.request(
                method, url, json=body, headers=self._headers, timeout=self._timeout)
            if not response.is_success:
                return None
            return response.json()
        except (httpx.HTTPError, ValueError, OSError) as exc:  # ValueError: not JSON
            log.debug("no context window from %s: %r", url, exc)
            return None


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _vllm_window(listed: Any, model_id: str) -> int | None:
    data = listed.get("data") if isinstance(listed, dict) else None
    for entry in data if isinstance(data, list) else ():
        if isinstance(entry, dict) and entry.get("id") == model_id:
            return _positive(entry.get("max_model_len"))
    return None


def _llamacpp_window(props: Any) -> int | None:
    if not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings")
    if isinstance(settings, dict) and _positive(settings.get("n_ctx")):
        return _positive(settings.get("n_ctx"))
    return _positive(props.get("n_ctx"))


def _ollama_window(shown: Any) -> int | None:
    if not isinstance(shown, dict):
        return None
    parameters = shown.get("parameters")
    if isinstance(parameters, str) and (match := _NUM_CTX.search(parameters)):
        return _positive(int(match.group(1)))
    info = shown.get("model_info")
    if not isinstance(info, dict):
        return None
    trained = [_positive(v) for k, v in info.items() if k.endswith(".context_length")]
    trained = [t for t in trained if t]
    if not trained and not {"modelfile", "details"} & shown.keys():
        return None  # not Ollama's answer
    # Ollama runs a model without num_ctx at its default context, whatever it was trained on.
    return min([OLLAMA_DEFAULT_WINDOW, *trained])
