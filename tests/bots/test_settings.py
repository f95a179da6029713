from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest

from bots.admins import listed_admins
from bots.logs import RedactSecrets
from bots.settings import InvalidSettings, Settings, load_settings
from core.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)


def test_env_example_as_dotenv_loads_with_defaults(tmp_path):
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    settings = load_settings()
    assert settings.openai_api_key is None and settings.max_reply_tokens is None
    assert settings.http_port == 3000 and not settings.slack_configured


def test_env_example_documents_every_setting():
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), flags=re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_admin_ids_are_split_and_qualified(monkeypatch):
    monkeypatch.setenv("ADMIN_USER_IDS", "slack:U1, discord:42 ,slack:U2")
    settings = load_settings()
    assert listed_admins(settings.admin_user_ids, "slack") == {"U1", "U2"}
    assert listed_admins(settings.admin_user_ids, "discord") == {"42"}


def test_invalid_value_is_one_line_naming_the_setting(monkeypatch):
    monkeypatch.setenv("CONTEXT_TOKEN_BUDGET", "12")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("invalid setting CONTEXT_TOKEN_BUDGET") and "\n" not in message


def test_secrets_never_show_in_repr(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-value")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-also-secret")
    settings = load_settings()
    assert "sk-very-secret-value" not in repr(settings) + str(settings)
    assert set(settings.secret_values()) == {"sk-very-secret-value", "xoxb-also-secret"}


def test_log_filter_masks_secrets_in_messages_and_tracebacks():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "calling with %s", ("Bearer sk-abcdef123",), None)
    try:
        raise RuntimeError("token xoxb-123456 refused")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecrets(["sk-abcdef123", "xoxb-123456"]).filter(record)
    assert record.getMessage() == "calling with Bearer [redacted]"
    assert "xoxb-123456" not in record.exc_text and "[redacted]" in record.exc_text


def test_discord_shard_ids_are_split_from_a_comma_list(monkeypatch):
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "4")
    monkeypatch.setenv("DISCORD_SHARD_IDS", " 2, 3 ,")
    assert load_settings().discord_shard_ids == (2, 3)


def test_discord_shard_ids_default_to_all_shards(monkeypatch):
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "2")
    assert load_settings().discord_shard_ids is None


@pytest.mark.parametrize(
    ("ids", "count", "reason"),
    [
        ("0,1", None, "needs DISCORD_SHARD_COUNT"),
        ("0,2", "2", "from 0 to 1 for DISCORD_SHARD_COUNT=2; got 0,2"),
        ("-1", "2", "got -1"),
        ("1,1", "2", "distinct"),
        ("one", "2", "valid integer"),
    ],
)
def test_invalid_discord_shard_ids_are_one_clear_line(monkeypatch, ids, count, reason):
    monkeypatch.setenv("DISCORD_SHARD_IDS", ids)
    if count is not None:
        monkeypatch.setenv("DISCORD_SHARD_COUNT", count)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("invalid setting DISCORD_SHARD_IDS: ") and reason in message and "\n" not in message


def test_the_database_password_is_one_of_the_secrets_masked_in_logs():
    settings = Settings(_env_file=None, database_url="postgresql://bot:s3cr%40t-pw@db:5432/chat")  # type: ignore[call-arg]
    assert "s3cr@t-pw" in settings.secret_values()
    sqlite = Settings(_env_file=None, database_url="sqlite:///data/x.db")  # type: ignore[call-arg]
    assert not any("data" in secret for secret in sqlite.secret_values())


def test_the_secrets_of_mcp_servers_are_masked_in_logs_too(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCS_TOKEN", "docs-t0ken-value")
    config = tmp_path / "mcp.json"
    config.write_text('{"mcpServers": {"gh": {"command": "x", "env": {"GITHUB_TOKEN": "ghp-secret-1"}},'
                      ' "docs": {"url": "https://mcp.example/mcp", "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}}}}')
    secrets = load_settings(mcp_config=config).secret_values()
    assert "ghp-secret-1" in secrets and any("docs-t0ken-value" in s for s in secrets)
    # A broken file is reported when the bot starts, not here.
    config.write_text("{")
    assert load_settings(mcp_config=config).secret_values() == []


def test_tools_and_plugins_are_read_from_comma_separated_settings(monkeypatch):
    monkeypatch.setenv("TOOLS_ENABLED", " time, github.search ,,")
    monkeypatch.setenv("PLUGINS", "a.b, c")
    settings = load_settings()
    assert settings.tools_enabled == {"time", "github.search"} and settings.plugins == ("a.b", "c")


def test_every_invalid_setting_is_named_at_once_one_line_each(monkeypatch):
    monkeypatch.setenv("HTTP_PORT", "lots")
    monkeypatch.setenv("CONTEXT_TOKEN_BUDGET", "12")
    monkeypatch.setenv("ADMIN_USER_IDS", "U123")
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    names = [line.split(":")[0] for line in caught.value.problems]
    assert sorted(names) == ["invalid setting ADMIN_USER_IDS", "invalid setting CONTEXT_TOKEN_BUDGET",
                             "invalid setting HTTP_PORT"]
    assert str(caught.value).splitlines() == caught.value.problems


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("ADMIN_USER_IDS", "U123", "'U123' has no platform: write slack:U123"),
        ("ALLOWED_USER_IDS", "slack:U1,4242", "'4242' has no platform: write slack:4242 or discord:4242"),
        ("BLOCKED_USER_IDS", "discord:bob", "'discord:bob': Discord ids are digits only"),
        ("ALLOWED_CHANNEL_IDS", "teams:C1", "'teams:C1': the platform must be slack: or discord:"),
        ("ALLOWED_CHANNEL_IDS", "slack:c1", "'slack:c1': Slack ids are upper-case letters and digits"),
        ("ALLOWED_ROLE_IDS", "slack:R1", "'slack:R1': the platform must be discord:"),
    ],
)
def test_id_lists_must_name_the_platform_of_each_id(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    [problem] = caught.value.problems
    assert problem.startswith(f"invalid setting {name}: ") and says in problem


def test_well_formed_id_lists_load(monkeypatch):
    monkeypatch.setenv("ALLOWED_USER_IDS", "slack:U1,discord:42")
    monkeypatch.setenv("ALLOWED_ROLE_IDS", "discord:510")
    monkeypatch.setenv("ALLOWED_CHANNEL_IDS", "slack:C0123ABC")
    settings = load_settings()
    assert settings.allowed_user_ids == {"slack:U1", "discord:42"} and settings.allowed_role_ids == {"discord:510"}


def test_metrics_port_must_be_apart_from_http_port_but_two_free_ports_are_fine(monkeypatch):
    monkeypatch.setenv("HTTP_PORT", "3000")
    monkeypatch.setenv("METRICS_PORT", "3000")
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    [problem] = caught.value.problems
    assert problem.startswith("invalid setting METRICS_PORT: is HTTP_PORT too")
    monkeypatch.setenv("HTTP_PORT", "0")
    monkeypatch.setenv("METRICS_PORT", "0")
    assert load_settings().metrics_port == 0
