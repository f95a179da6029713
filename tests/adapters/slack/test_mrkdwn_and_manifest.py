"""mrkdwn conversion, splitting, the manifest and the wiring's configuration errors: pure."""

from __future__ import annotations

import json

import pytest

from adapters.common.splitting import split_message
from adapters.slack.manifest import BOT_EVENTS, BOT_SCOPES, build_manifest
from adapters.slack.mrkdwn import preview, to_mrkdwn
from adapters.slack.replies import MESSAGE_LIMIT
from bots.cli import main
from bots.settings import Settings
from bots.slack_wiring import slack_config
from core.errors import ConfigurationError


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold** and __bold__", "*bold* and *bold*"),
        ("*it* ~~gone~~", "_it_ ~gone~"),
        ("[docs](https://a.dev/?x=1&y=2)", "<https://a.dev/?x=1&amp;y=2|docs>"),
        ("# Title\n## Sub", "*Title*\n*Sub*"),
        ("- a\n- b", "• a\n• b"),
        ("use `x < y`", "use `x &lt; y`"),
        ("```python\nif a < b: **x**\n```", "```\nif a &lt; b: **x**\n```"),
        ("> quoted", "> quoted"),
        ("ping <!here> and <!channel>", "ping &lt;!here&gt; and &lt;!channel&gt;"),
    ],
)
def test_markdown_to_mrkdwn(markdown, mrkdwn):
    assert to_mrkdwn(markdown) == mrkdwn


def test_preview_closes_an_open_code_block_and_truncates():
    assert preview("look:\n```\ncode", 100).endswith("```")
    shown = preview("word " * 2000, 500)
    assert len(shown) <= 500 and shown.endswith("…")


def test_long_code_answer_splits_between_messages_not_inside_blocks():
    code = "```\n" + "\n".join(f"x{i} = {i}" for i in range(300)) + "\n```"
    parts = split_message(to_mrkdwn(("prose " * 600) + "\n" + code), MESSAGE_LIMIT)
    assert len(parts) > 1 and all(len(p) <= MESSAGE_LIMIT and p.count("```") % 2 == 0 for p in parts)


def test_socket_manifest_has_exactly_what_chatwright_uses():
    manifest = build_manifest()
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert "request_url" not in settings["event_subscriptions"]
    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert settings["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)
    # /help is Slack's own: not in the manifest.
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/persona", "/model", "/tools", "/forget", "/usage"]


def test_cli_prints_the_http_manifest(capsys):
    assert main(["slack-manifest", "--http", "https://bot.example.com"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    urls = {manifest["settings"]["event_subscriptions"]["request_url"], manifest["settings"]["interactivity"]["request_url"]}
    urls |= {c["url"] for c in manifest["features"]["slash_commands"]}
    assert urls == {"https://bot.example.com/slack/events"}
    assert manifest["settings"]["socket_mode_enabled"] is False


def test_cli_yaml_output(capsys):
    assert main(["slack-manifest", "--format", "yaml"]) == 0
    out = capsys.readouterr().out
    assert 'socket_mode_enabled: true' in out and '- "app_mentions:read"' in out


def test_http_mode_without_signing_secret_says_what_to_set():
    settings = Settings(_env_file=None, slack_bot_token="xoxb-x", slack_app_token=None, slack_signing_secret=None)
    with pytest.raises(ConfigurationError, match="SLACK_SIGNING_SECRET"):
        slack_config(settings)


def test_socket_mode_needs_no_signing_secret_and_hides_tokens():
    settings = Settings(_env_file=None, slack_bot_token="xoxb-secret", slack_app_token="xapp-secret",
                        slack_signing_secret=None, admin_user_ids="slack:U1,discord:2")
    config = slack_config(settings)
    assert config.socket_mode and config.admin_user_ids == frozenset({"U1"})
    assert "secret" not in repr(config)
