"""Context windows asked of the server: vLLM, llama.cpp, Ollama; anything else: not said."""

from __future__ import annotations

import json

import httpx
import pytest

from core.model.catalog import ModelCatalog, ModelInfo, Provider
from core.model.windows import OLLAMA_DEFAULT_WINDOW, discover_windows, is_local_server, server_window

LOCAL = Provider("local", "http://127.0.0.1:8080/v1", api_key_env="LOCAL_KEY")


class Server:
    """A model server's JSON endpoints by (method, path); every other request is a 404."""

    def __init__(self, routes: dict[tuple[str, str], object]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.routes.get((request.method, request.url.path))
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            return httpx.Response(404, json={"error": "not found"})
        if isinstance(answer, str):
            return httpx.Response(200, text=answer)
        return httpx.Response(200, json=answer)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


VLLM = {("GET", "/v1/models"): {"data": [{"id": "other", "max_model_len": 99},
                                          {"id": "qwen", "max_model_len": 32768}]}}
LLAMACPP = {("GET", "/v1/models"): {"data": [{"id": "qwen", "meta": {"n_ctx_train": 131072}}]},
            ("GET", "/props"): {"default_generation_settings": {"n_ctx": 2048}, "total_slots": 1}}
LLAMACPP_OLD = {("GET", "/props"): {"n_ctx": 4096}}
OLLAMA_NUM_CTX = {("POST", "/api/show"): {"parameters": "stop \"<|im_end|>\"\nnum_ctx 8192",
                                           "model_info": {"qwen2.context_length": 32768}}}
OLLAMA_DEFAULT = {("POST", "/api/show"): {"modelfile": "FROM qwen", "model_info": {"qwen2.context_length": 32768}}}
OLLAMA_TINY = {("POST", "/api/show"): {"details": {}, "model_info": {"tiny.context_length": 1024}}}


@pytest.mark.parametrize("routes, window", [
    (VLLM, 32768),
    (LLAMACPP, 2048),  # the server's n_ctx, not what the model was trained with
    (LLAMACPP_OLD, 4096),
    (OLLAMA_NUM_CTX, 8192),
    (OLLAMA_DEFAULT, OLLAMA_DEFAULT_WINDOW),  # Ollama's default context, not the model's 32k
    (OLLAMA_TINY, 1024),
    ({}, None),  # an OpenAI-compatible server that says nothing
    ({("GET", "/v1/models"): {"data": [{"id": "qwen"}]}, ("GET", "/props"): {"n_ctx": "big"},
      ("POST", "/api/show"): {"unrelated": True}}, None),
    ({("GET", "/v1/models"): "not json", ("GET", "/props"): httpx.ConnectTimeout("slow"),
      ("POST", "/api/show"): httpx.ConnectError("refused")}, None),
])
async def test_the_window_is_what_the_server_says(routes, window):
    async with Server(routes).client() as client:
        assert await server_window(client, LOCAL, "qwen") == window


async def test_the_endpoints_asked_are_under_the_base_url_and_its_root_with_the_key():
    server = Server(OLLAMA_NUM_CTX)
    async with server.client() as client:
        await server_window(client, LOCAL, "qwen", key="sk-local", timeout=0.5)
    asked = [(r.method, str(r.url)) for r in server.requests]
    assert asked == [("GET", "http://127.0.0.1:8080/v1/models"), ("GET", "http://127.0.0.1:8080/props"),
                     ("POST", "http://127.0.0.1:8080/api/show")]
    assert json.loads(server.requests[-1].content) == {"model": "qwen"}
    assert all(r.headers["authorization"] == "Bearer sk-local" for r in server.requests)
    assert all(r.extensions["timeout"]["read"] == 0.5 for r in server.requests)


async def test_discovery_fills_unknown_windows_only_and_adds_the_default_model():
    providers = {
        "default": Provider("default", "https://api.openai.com/v1"),
        "azure": Provider("azure", "https://x.openai.azure.com/openai", api_type="azure"),
        "local": LOCAL,
    }
    models = {
        "said": ModelInfo("said", provider="local", context_window=1000),  # MODELS_FILE wins
        "qwen-small": ModelInfo("qwen-small", provider="local", model_id="qwen"),
        "gpt": ModelInfo("gpt"),
        "deployment": ModelInfo("deployment", provider="azure"),
    }
    server = Server(VLLM)
    async with server.client() as client:
        found = await discover_windows(ModelCatalog(providers, models, "llama"), client, keys={"local": "k"})
    assert found.info("said").context_window == 1000
    assert found.info("qwen-small").context_window == 32768
    assert found.info("gpt").context_window is None and found.info("deployment").context_window is None
    assert "llama" in found.models and found.info("llama").context_window is None
    # Only the local server was asked (hosted OpenAI and Azure say nothing of windows).
    assert {r.url.host for r in server.requests} == {"127.0.0.1"}


async def test_discovery_of_a_catalog_with_nothing_to_ask_asks_nothing():
    catalog = ModelCatalog({"default": Provider("default", "https://api.openai.com/v1")}, {}, "gpt-4o")
    server = Server({})
    async with server.client() as client:
        assert (await discover_windows(catalog, client)).info("gpt-4o").context_window is None
    assert server.requests == []


@pytest.mark.parametrize("url, local", [
    ("http://localhost:11434/v1", True),
    ("http://127.0.0.1:8080/v1", True),
    ("http://[::1]:8000/v1", True),
    ("http://192.168.1.20:8000/v1", True),
    ("http://10.0.0.5/v1", True),
    ("http://ollama:11434/v1", True),  # a compose service
    ("http://gpu-box.lan:8000/v1", True),
    ("https://api.openai.com/v1", False),
    ("https://openrouter.ai/api/v1", False),
    ("https://8.8.8.8/v1", False),
    ("not a url", False),
])
def test_local_servers_are_told_from_hosted_apis(url, local):
    assert is_local_server(url) is local


async def test_a_server_that_never_finishes_answering_is_not_waited_for():
    import asyncio

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b'{"data": ['
            await asyncio.Event().wait()  # never more

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Endless())

    catalog = ModelCatalog({"local": LOCAL}, {"qwen": ModelInfo("qwen", provider="local")}, "qwen")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        found = await asyncio.wait_for(discover_windows(catalog, client, timeout=0.01), timeout=5)
    assert found.info("qwen").context_window is None
