"""``chatwright discord-invite`` and ``build_discord``'s configuration."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from bots.cli import main
from bots.cli_commands.discord_invite import PERMISSIONS, application_id_from_token, invite_url
from bots.discord_wiring import discord_config
from bots.settings import Settings
from core.errors import ConfigurationError


def _token(user_id: str) -> str:
    return base64.b64encode(user_id.encode()).decode().rstrip("=") + ".GhIjKl.signature"


def test_invite_url_has_exactly_the_scopes_and_permissions() -> None:
    query = parse_qs(urlsplit(invite_url("123")).query)
    assert query == {"client_id": ["123"], "scope": ["bot applications.commands"], "permissions": [str(PERMISSIONS)]}
    # view channels, send messages, read message history, send messages in threads
    assert PERMISSIONS == (1 << 10) | (1 << 11) | (1 << 16) | (1 << 38)


def test_application_id_from_token() -> None:
    assert application_id_from_token(_token("987654321012345678")) == "987654321012345678"
    assert application_id_from_token("not-base64!.x.y") is None
    assert application_id_from_token(base64.b64encode(b"abc").decode() + ".x.y") is None


def test_cli_with_client_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discord-invite", "--client-id", "42"]) == 0
    assert "client_id=42" in capsys.readouterr().out


def test_cli_reads_the_id_from_the_token(monkeypatch: pytest.MonkeyPatch, capsys, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("DISCORD_TOKEN", _token("555"))
    assert main(["discord-invite"]) == 0
    assert "client_id=555" in capsys.readouterr().out


def test_cli_fails_in_one_line_without_id_or_token(monkeypatch: pytest.MonkeyPatch, capsys, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main(["discord-invite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--client-id" in err


def test_discord_config_from_settings() -> None:
    settings = Settings(
        _env_file=None, discord_token="tok", discord_api_url="http://a", discord_gateway_url="ws://g",
        discord_shard_count=3, admin_user_ids="slack:U1,discord:42",
    )
    config = discord_config(settings, edit_interval=0.5)
    assert (config.token, config.api_url, config.gateway_url, config.shard_count) == ("tok", "http://a", "ws://g", 3)
    assert config.admin_user_ids == frozenset({"42"}) and config.edit_interval == 0.5


def test_discord_config_needs_a_token() -> None:
    with pytest.raises(ConfigurationError, match="DISCORD_TOKEN"):
        discord_config(Settings(_env_file=None))
