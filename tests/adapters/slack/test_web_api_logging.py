"""The Web API client's logger: quiet unless debug logging is on (it costs CPU per call)."""

from __future__ import annotations

import logging

import pytest

from adapters.slack.app import _web_api_logger


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
