"""Logging around Slack: the Web API client quiet unless debug logging is on (it costs CPU
per call), and no warning at start for a token that is in use."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from adapters.common.tasks import TaskSet
from adapters.slack.app import _web_api_logger, build_app, web_client
from adapters.slack.config import SlackConfig
from core.commands import CommandTable

# Building the app reads only the engine's command table (for the slash commands).
_NO_ENGINE = SimpleNamespace(commands=SimpleNamespace(table=CommandTable()))


@pytest.fixture
def sdk_logger():
    logger = logging.getLogger("slack_sdk.web.async_client")
    saved = logger.level
    logger.setLevel(logging.NOTSET)
    yield logger
    logger.setLevel(saved)


def test_an_unset_level_becomes_the_level_in_force(sdk_logger):
    root = logging.getLogger()
    saved = root.level
    root.setLevel(logging.INFO)
    try:
        # slack_sdk skips building its debug lines only when ``logger.level > DEBUG``.
        assert _web_api_logger().level == logging.INFO
    finally:
        root.setLevel(saved)


def test_debug_logging_still_shows_api_calls(sdk_logger):
    sdk_logger.setLevel(logging.DEBUG)
    assert _web_api_logger().level == logging.DEBUG


def test_no_token_unused_warning_when_the_token_is_in_the_environment(monkeypatch, caplog):
    # As `chatwright run` is started in production: the token in the environment.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    config = SlackConfig(bot_token="xoxb-from-the-environment", signing_secret="secret")
    with caplog.at_level(logging.WARNING):
        built = build_app(config, _NO_ENGINE, web_client(config), None, TaskSet())  # type: ignore[arg-type]
    assert built.client.token == "xoxb-from-the-environment"
    assert not [r for r in caplog.records if "unused" in r.getMessage()]


def test_other_bolt_warnings_still_show(caplog):
    config = SlackConfig(bot_token="xoxb-1", signing_secret="secret")
    build_app(config, _NO_ENGINE, web_client(config), None, TaskSet())  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        logging.getLogger("slack_bolt.AsyncApp").warning("something else")
    assert [r.getMessage() for r in caplog.records] == ["something else"]
