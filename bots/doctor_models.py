"""Doctor's chat API checks: each provider of the catalog reached, each model found.

A provider whose server lists models must list every model the bot would send it: a
model it lacks fails at the first question, so doctor fails too. A hosted API
(api.openai.com, Azure) without a key fails without being asked.
"""

from __future__ import annotations

from bots.app import provider_model
from bots.doctor_check import Check
from bots.models_file import load_catalog, missing_key
from bots.settings import Settings
from core.errors import ChatwrightError
from core.model.catalog import DEFAULT_PROVIDER, ModelCatalog, Provider

__all__ = ["catalog_or_failure", "chat_check_name", "provider_check"]


def catalog_or_failure(settings: Settings) -> tuple[ModelCatalog | None, list[Check]]:
    """The catalog, or the one line saying why MODELS_FILE could not be read."""
    try:
        return load_catalog(settings), []
    except ChatwrightError as exc:
        return None, [Check("models file", "fail", str(exc))]


async def provider_check(settings: Settings, catalog: ModelCatalog, provider: Provider) -> Check:
    name = chat_check_name(provider)
    problem = missing_key(settings, provider)
    if problem is not None and provider.hosted:
        return Check(name, "fail", problem)
    where = f"{provider.base_url.rstrip('/')}/models"
    try:
        # One attempt: a person is waiting for the verdict, and retries would only delay it.
        async with provider_model(settings, provider, max_retries=0) as model:
            offered = await model.list_models()
    except ChatwrightError as exc:
        also = f"; {problem}" if problem else ""
        return Check(name, "fail", f"{exc} ({_fix(provider)}){also}")
    verdict = _verdict(name, where, _wanted(catalog, provider.name), offered, provider)
    if problem is not None and verdict.status == "ok":  # it answered without: say the key is unset
        return Check(name, "warn", f"{verdict.detail}; {problem}")
    return verdict


def _verdict(name: str, where: str, wanted: list[str], offered: list[str], provider: Provider) -> Check:
    missing = [model for model in wanted if model not in offered]
    if not wanted:
        return Check(name, "ok", f"reached {where}; {len(offered)} models listed, none configured here")
    if not missing:
        return Check(name, "ok", f"reached {where}; {_models(wanted)} available")
    if not offered:
        return Check(name, "warn", f"reached {where}, but it lists no models: {_models(missing)} not confirmed")
    absent = f"reached {where}, but {_models(missing)} not among its {len(offered)} models"
    if provider.api_type == "azure":  # Azure answers by deployment names, which it does not list
        return Check(name, "warn", f"{absent} (fine if they are Azure deployment names)")
    return Check(name, "fail", f"{absent} ({_listed(offered)}): {_model_fix(provider)}")


def _wanted(catalog: ModelCatalog, provider: str) -> list[str]:
    """The wire ids the bot may send this provider, the default model's first."""
    ids = [catalog.info(m).wire_id for m in catalog.names() if catalog.info(m).provider == provider]
    return list(dict.fromkeys(ids))


def chat_check_name(provider: Provider) -> str:
    return "chat API" if provider.name == DEFAULT_PROVIDER else f"chat API {provider.name}"


def _models(names: list[str]) -> str:
    return f"model {names[0]} is" if len(names) == 1 else f"models {', '.join(names)} are"


def _listed(offered: list[str], shown: int = 5) -> str:
    more = f", … {len(offered) - shown} more" if len(offered) > shown else ""
    return f"it lists {', '.join(sorted(offered)[:shown])}{more}"


def _fix(provider: Provider) -> str:
    if provider.name == DEFAULT_PROVIDER:
        return "check OPENAI_BASE_URL and OPENAI_API_KEY"
    return f"check base_url and api_key_env of [providers.{provider.name}] in MODELS_FILE"


def _model_fix(provider: Provider) -> str:
    if provider.name == DEFAULT_PROVIDER:
        return "set OPENAI_MODEL (or model_id in MODELS_FILE) to a model the server lists"
    return f"set model_id in MODELS_FILE to a model [providers.{provider.name}] lists"
