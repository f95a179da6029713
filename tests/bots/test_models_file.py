"""MODELS_FILE: providers and models read into a ModelCatalog, every mistake one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.models_file import load_catalog, missing_key, provider_api_key, provider_secrets
from bots.settings import Settings
from core.errors import ConfigurationError
from core.model.catalog import DEFAULT_PROVIDER, ModelInfo, Prices, Provider

GOOD = """
default_model = "llama"

[providers.local]
base_url = "http://127.0.0.1:8080/v1/"
api_key_env = "LOCAL_KEY"

[providers.azure]
base_url = "https://example.openai.azure.com/openai/deployments/big"
api_type = "azure"
api_key_env = "AZURE_KEY"
api_version = "2025-01-01"

[models.llama]
provider = "local"
model_id = "llama3.2:3b-instruct"
context_window = 4096
max_reply_tokens = 512
vision = false
tools = false

[models."gpt-4o"]
context_window = 128000
vision = true
price_input = 2.5
price_cached_input = 1.25
price_output = 10

[models.cheap]
"""


def settings(tmp_path: Path, text: str | None = None, **values: object) -> Settings:
    if text is not None:
        path = tmp_path / "models.toml"
        path.write_text(text)
        values["models_file"] = path
    values.setdefault("openai_model", "gpt-4o-mini")
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def error(tmp_path: Path, text: str, **values: object) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_catalog(settings(tmp_path, text, **values))
    return str(caught.value)


def test_without_a_file_the_openai_settings_are_the_only_provider_and_any_model_may_be_named(tmp_path):
    catalog = load_catalog(settings(tmp_path, openai_base_url="http://127.0.0.1:9/v1", openai_model="m1"))

    assert catalog.providers == {DEFAULT_PROVIDER: Provider(
        DEFAULT_PROVIDER, "http://127.0.0.1:9/v1", "openai", "OPENAI_API_KEY", "2024-10-21")}
    assert catalog.default_model == "m1"
    assert catalog.models == {} and not catalog.named_only
    assert catalog.info("anything") == ModelInfo("anything")


def test_the_file_gives_providers_models_and_the_default(tmp_path):
    catalog = load_catalog(settings(tmp_path, GOOD))

    assert set(catalog.providers) == {"default", "local", "azure"}
    assert catalog.providers["local"] == Provider("local", "http://127.0.0.1:8080/v1", "openai", "LOCAL_KEY")
    assert catalog.providers["azure"].api_type == "azure"
    assert catalog.providers["azure"].api_version == "2025-01-01"
    assert catalog.default_model == "llama" and catalog.named_only
    assert catalog.info("llama") == ModelInfo("llama", "local", "llama3.2:3b-instruct", 4096, 512, False, False)
    assert catalog.info("llama").wire_id == "llama3.2:3b-instruct"
    assert catalog.info("gpt-4o").prices == Prices(2.5, 10.0, 1.25)
    assert catalog.info("cheap") == ModelInfo("cheap")
    assert catalog.names() == ["llama", "cheap", "gpt-4o"]


def test_openai_prices_price_the_default_providers_models_the_file_leaves_unpriced(tmp_path):
    catalog = load_catalog(settings(tmp_path, GOOD, openai_price_input=0.15, openai_price_output=0.6))
    env = Prices(0.15, 0.6)

    assert catalog.info("cheap").prices == env  # in the file, on the default provider, no price
    assert catalog.info("gpt-4o").prices == Prices(2.5, 10.0, 1.25)  # the file's own
    assert catalog.info("llama").prices is None  # another provider's
    assert catalog.info("gpt-4o-mini").prices == env  # not in the file: the default provider's


def test_the_default_model_may_be_openai_model_without_a_table(tmp_path):
    catalog = load_catalog(settings(tmp_path, '[models.other]\n'))
    assert catalog.default_model == "gpt-4o-mini"
    assert catalog.names() == ["gpt-4o-mini", "other"]


@pytest.mark.parametrize(("text", "expected"), [
    ("default_model = 3", "the top level default_model: expected a model's name"),
    ('default_model = "nope"', "the top level default_model: 'nope' is not a [models] table here"),
    ("colour = 1", "the top level colour: unknown key; known keys: default_model, models, providers"),
    ("models = 1", "the top level models: expected tables like [models.NAME]"),
    ("[providers.local]\napi_key_env = 'K'", "[providers.local] base_url: missing"),
    ("[providers.local]\nbase_url = 'ftp://x'", "[providers.local] base_url: 'ftp://x' is not an http:// or https:// URL"),
    ("[providers.local]\nbase_url = 'http://x'\napi_type = 'anthropic'",
     "[providers.local] api_type: 'anthropic': use \"openai\" or \"azure\""),
    ("[providers.local]\nbase_url = 'http://x'\napi_key_env = 'sk-abc123'",
     "[providers.local] api_key_env: 'sk-abc123' is not a variable's name"),
    ("[providers.local]\nbase_url = 'http://x'\nbase = 1", "[providers.local] base: unknown key (did you mean base_url?)"),
    ("[providers.default]\nbase_url = 'http://x'", "[providers.default]: 'default' is the provider of the OPENAI_* settings"),
    ("[providers.'a b']\nbase_url = 'http://x'", "[providers.\"a b\"]: the name must be letters, digits"),
    ("[models.m]\nprovider = 'gone'", "[models.m] provider: no provider 'gone' (known: default)"),
    ("[models.m]\ncontext_window = '8k'", "[models.m] context_window: expected a whole number, got '8k'"),
    ("[models.m]\ncontext_window = true", "[models.m] context_window: expected a whole number, got True"),
    ("[models.m]\ncontext_window = 0", "[models.m] context_window: 0 is not a positive number of tokens"),
    ("[models.m]\ncontext_window = 2048\nmax_reply_tokens = 2048",
     "[models.m] max_reply_tokens: 2048 leaves no room in a context_window of 2048"),
    ("[models.m]\nvision = 'yes'", "[models.m] vision: expected true or false, got 'yes'"),
    ("[models.m]\nprice_input = 1.0", "[models.m] price_output: missing: give price_input and price_output together"),
    ("[models.m]\nprice_cached_input = 1.0", "[models.m] price_cached_input: give price_input and price_output too"),
    ("[models.m]\nprice_input = -1\nprice_output = 1", "[models.m] price_input: -1.0 is not a price"),
    ("[models.m]\nprice_input = nan\nprice_output = 1", "[models.m] price_input: nan is not a price"),
    ("[models.m]\nwindow = 4096", "[models.m] window: unknown key"),
    ('[models."two words"]', '[models."two words"]: the name must be one word'),
    ("[models.m]\nmodel_id = ''", "[models.m] model_id: empty"),
])
def test_each_mistake_names_the_file_the_table_and_the_key(tmp_path, text, expected):
    message = error(tmp_path, text)
    assert message.startswith(f"MODELS_FILE {tmp_path / 'models.toml'}: "), message
    assert expected in message, message


def test_a_missing_file_and_broken_toml_are_one_line_each(tmp_path):
    with pytest.raises(ConfigurationError) as caught:
        load_catalog(settings(tmp_path, models_file=tmp_path / "gone.toml"))
    missing = str(caught.value)
    assert missing == f"MODELS_FILE {tmp_path / 'gone.toml'}: no such file"
    broken = error(tmp_path, "[models.m\n")
    assert broken.startswith(f"MODELS_FILE {tmp_path / 'models.toml'} is not valid TOML: ") and "line 1" in broken
    assert "\n" not in broken


@pytest.mark.parametrize(("values", "expected"), [
    ({"openai_price_input": 1.0}, "set OPENAI_PRICE_INPUT and OPENAI_PRICE_OUTPUT together"),
    ({"openai_price_cached_input": 1.0}, "OPENAI_PRICE_CACHED_INPUT needs OPENAI_PRICE_INPUT and OPENAI_PRICE_OUTPUT"),
])
def test_half_given_openai_prices_are_refused(tmp_path, values, expected):
    with pytest.raises(ConfigurationError, match=expected):
        load_catalog(settings(tmp_path, **values))


# -- keys ------------------------------------------------------------------------------------
def test_a_providers_key_comes_from_the_variable_it_names_or_from_dot_env(tmp_path, monkeypatch):
    catalog = load_catalog(settings(tmp_path, GOOD, openai_api_key="sk-default"))
    s = settings(tmp_path, GOOD, openai_api_key="sk-default")
    monkeypatch.chdir(tmp_path)  # Settings reads ".env" in the working directory
    monkeypatch.delenv("LOCAL_KEY", raising=False)
    monkeypatch.delenv("AZURE_KEY", raising=False)
    (tmp_path / ".env").write_text("AZURE_KEY=from-dotenv\n")
    monkeypatch.setenv("LOCAL_KEY", "from-env")

    assert provider_api_key(s, catalog.providers["default"]) == "sk-default"
    assert provider_api_key(s, catalog.providers["local"]) == "from-env"
    assert provider_api_key(s, catalog.providers["azure"]) == "from-dotenv"
    assert sorted(provider_secrets(s)) == ["from-dotenv", "from-env"]


def test_a_missing_key_is_said_and_hosted_apis_are_told_apart(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("LOCAL_KEY", "AZURE_KEY"):
        monkeypatch.delenv(name, raising=False)
    s = settings(tmp_path, GOOD)
    catalog = load_catalog(s)
    path = tmp_path / "models.toml"

    assert missing_key(s, catalog.providers["local"]) == f"provider 'local': LOCAL_KEY is not set (api_key_env in {path})"
    assert not catalog.providers["local"].hosted and catalog.providers["azure"].hosted
    assert missing_key(s, catalog.providers["default"]) == (
        "OPENAI_API_KEY is not set, and https://api.openai.com/v1 needs a key")
    local_default = load_catalog(settings(tmp_path, openai_base_url="http://127.0.0.1:9/v1")).providers["default"]
    assert missing_key(s, local_default) is None  # a local server takes none
    keyless_azure = Provider("az", "https://x.openai.azure.com/openai", "azure")
    assert missing_key(s, keyless_azure) == (
        f"provider 'az': https://x.openai.azure.com/openai needs a key: set api_key_env in {path}")
