"""Doctor against broken setups: each fails with a line saying what to fix (in-process,
against the loopback fakes; tokens tried live, models checked against the list)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bots.doctor import checks, run_checks
from bots.doctor_check import Check
from bots.settings import Settings
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import BOT_TOKEN
from tests.fakes.slack_socket import APP_TOKEN, FakeSlackSocketMode

pytestmark = pytest.mark.e2e

KEY = "sk-doctor-key-0123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "no-tiktoken"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def api() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=KEY) as server:
        yield server


def settings_for(tmp_path, api: FakeOpenAIServer | None, **values: object) -> Settings:
    chat = {"openai_base_url": api.base_url, "openai_api_key": KEY} if api else {}
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'bot.db'}",  # type: ignore[call-arg]
                    openai_model="fake-model", openai_max_retries=0, **(chat | values))


def named(found: list[Check], name: str) -> Check:
    [check] = [c for c in found if c.name == name]
    return check


def failed(found: list[Check]) -> list[str]:
    return [c.name for c in found if c.status == "fail"]


async def test_a_healthy_setup_passes_with_both_platforms_tried_live(tmp_path, api):
    async with FakeSlackSocketMode() as slack, FakeDiscord() as discord:
        found = await run_checks(settings_for(
            tmp_path, api, slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=slack.base_url,
            discord_token=discord.token, discord_api_url=discord.api_url))
        assert [c.method for c in slack.calls] == ["auth.test", "apps.connections.open"]
        assert discord.rest("GET", "/users/@me")
    assert failed(found) == []
    assert named(found, "slack bot token").detail == "accepted by auth.test: bot chatwright (UBOT) in Fake (T1)"
    assert named(found, "slack app token").status == "ok"
    assert named(found, "discord token").detail == "accepted by GET /users/@me: bot chatwright (id 1000)"
    assert named(found, "chat API").detail.endswith("model fake-model is available")


async def test_swapped_slack_tokens_fail_before_slack_is_asked(tmp_path, api):
    async with FakeSlackSocketMode() as slack:
        found = await run_checks(settings_for(
            tmp_path, api, slack_bot_token=APP_TOKEN, slack_app_token=BOT_TOKEN, slack_api_url=slack.base_url))
        assert slack.calls == []
    assert failed(found) == ["slack tokens"]
    assert "are swapped" in named(found, "slack tokens").detail


@pytest.mark.parametrize(
    ("bot", "app", "check", "says"),
    [("xoxb-revoked", APP_TOKEN, "slack bot token", "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)"),
     (BOT_TOKEN, "xapp-1-revoked", "slack app token", "SLACK_APP_TOKEN was refused by Slack (invalid_auth)")],
)
async def test_a_refused_slack_token_fails_naming_the_setting(tmp_path, api, bot, app, check, says):
    async with FakeSlackSocketMode() as slack:
        found = await run_checks(settings_for(
            tmp_path, api, slack_bot_token=bot, slack_app_token=app, slack_api_url=slack.base_url))
    assert failed(found) == [check] and named(found, check).detail.startswith(says)
    assert "revoked" not in named(found, check).detail


async def test_a_wrong_discord_token_fails_with_how_to_get_the_right_one(tmp_path, api):
    async with FakeDiscord() as discord:
        found = await run_checks(settings_for(
            tmp_path, api, discord_token="not-the-bot-token", discord_api_url=discord.api_url))
    assert failed(found) == ["discord token"]
    detail = named(found, "discord token").detail
    assert detail.startswith("DISCORD_TOKEN was refused by Discord (401 Unauthorized)")
    assert "developer portal" in detail and "not-the-bot-token" not in detail


async def test_a_model_the_server_does_not_list_fails(tmp_path):
    async with FakeOpenAIServer(api_key=KEY, models=("llama-3", "qwen-2")) as api:
        found = await run_checks(settings_for(tmp_path, api))
    chat = named(found, "chat API")
    assert chat.status == "fail"
    assert "model fake-model is not among its 2 models (it lists llama-3, qwen-2)" in chat.detail
    assert "set OPENAI_MODEL" in chat.detail


async def test_every_provider_of_the_models_file_is_checked_and_each_missing_model_fails(tmp_path, api, monkeypatch):
    monkeypatch.setenv("LOCAL_KEY", "sk-local-key-9876543210")
    async with FakeOpenAIServer(api_key="sk-local-key-9876543210", models=("llama-3",)) as local:
        models = tmp_path / "models.toml"
        models.write_text(f"""
[providers.local]
base_url = "{local.base_url}"
api_key_env = "LOCAL_KEY"

[models.llama]
provider = "local"
model_id = "llama-3"

[models.qwen]
provider = "local"
model_id = "qwen-2.5"
""")
        found = await run_checks(settings_for(tmp_path, api, models_file=models))
    assert named(found, "chat API").status == "ok"
    local_check = named(found, "chat API local")
    assert local_check.status == "fail"
    assert "model qwen-2.5 is not among its 1 models (it lists llama-3)" in local_check.detail
    assert "[providers.local]" in local_check.detail


async def test_an_unset_key_a_local_server_does_without_is_a_warning(tmp_path, api):
    async with FakeOpenAIServer(api_key=None, models=("llama-3",)) as local:
        models = tmp_path / "models.toml"
        models.write_text(f'[providers.local]\nbase_url = "{local.base_url}"\napi_key_env = "UNSET_LOCAL_KEY"\n'
                          '[models.llama]\nprovider = "local"\nmodel_id = "llama-3"\n')
        found = await run_checks(settings_for(tmp_path, api, models_file=models))
    check = named(found, "chat API local")
    assert check.status == "warn" and "model llama-3 is available" in check.detail
    assert "UNSET_LOCAL_KEY is not set" in check.detail and failed(found) == []


async def test_an_unreadable_models_file_fails_with_the_files_own_line(tmp_path, api):
    models = tmp_path / "models.toml"
    models.write_text("[models.x]\nproviderr = 'default'\n")
    found = await run_checks(settings_for(tmp_path, api, models_file=models))
    assert failed(found) == ["models file"] and "providerr" in named(found, "models file").detail


async def test_the_access_policy_is_shown(tmp_path, api):
    found = await run_checks(settings_for(tmp_path, api, allowed_user_ids=frozenset({"slack:U1"}), allow_dms=False))
    lines = [c.detail for c in found if c.name == "access"]
    assert lines[0].startswith("users: only") and "DMs: off (ALLOW_DMS=false)" in lines


async def test_a_server_that_lists_no_models_is_only_a_warning(tmp_path):
    async with FakeOpenAIServer(api_key=KEY, models=()) as api:
        found = await run_checks(settings_for(tmp_path, api))
    assert named(found, "chat API").status == "warn" and failed(found) == []


async def test_no_key_against_a_hosted_api_fails_without_asking_it(tmp_path):
    found = await run_checks(settings_for(tmp_path, None, openai_base_url="https://api.openai.com/v1"))
    chat = named(found, "chat API")
    assert chat.status == "fail" and "OPENAI_API_KEY is not set" in chat.detail


async def test_a_hanging_chat_api_fails_after_the_timeout_and_earlier_checks_show_at_once(tmp_path):
    async with _silent_server() as base_url:
        started: list[str] = []
        found = checks(settings_for(tmp_path, None, openai_base_url=base_url), timeout=0.2, on_start=started.append)
        first = await anext(found)
        # The database's verdict is out before the chat API is even asked.
        assert first.name == "database" and started == ["database"]
        chat = await anext(found)
        rest = [check async for check in found]
    assert chat.name == "chat API" and chat.status == "fail"
    assert chat.detail == f"no answer within 0.2 s: is the server at {base_url} up?"
    assert "personas" in [c.name for c in rest]


class _silent_server:
    """A TCP server that accepts connections and never answers (a hung chat API)."""

    async def __aenter__(self) -> str:
        self._release = asyncio.Event()
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._release.wait()
        writer.close()

    async def __aexit__(self, *exc_info: object) -> None:
        self._release.set()
        self._server.close()
        await self._server.wait_closed()
