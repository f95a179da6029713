"""``configure_logging``: the level in force, and per-request library lines kept out of INFO."""

from __future__ import annotations

import logging

import pytest

from bots.logs import configure_logging


@pytest.fixture
def restored_logging():
    root, httpx = logging.getLogger(), logging.getLogger("httpx")
    saved = (root.handlers[:], root.level, httpx.level)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    httpx.setLevel(saved[2])


@pytest.mark.usefixtures("restored_logging")
def test_at_info_the_chat_client_does_not_log_every_request():
    configure_logging("INFO")
    assert logging.getLogger().isEnabledFor(logging.INFO)
    httpx = logging.getLogger("httpx")
    assert not httpx.isEnabledFor(logging.INFO) and httpx.isEnabledFor(logging.WARNING)


@pytest.mark.usefixtures("restored_logging")
def test_at_debug_it_does_and_at_error_it_stays_quiet():
    configure_logging("DEBUG")
    assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)
    configure_logging("ERROR")
    assert not logging.getLogger("httpx").isEnabledFor(logging.WARNING)
