"""``configure_logging``: the level in force, per-request library lines kept out of INFO,
secrets masked, LOG_FORMAT (text or JSON lines) and the event id of the answer."""

from __future__ import annotations

import json
import logging

import pytest

from bots.logs import RedactSecrets, configure_logging
from core.log_context import answering


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


# -- request bodies and short secrets ------------------------------------------------------------


@pytest.fixture
def bolt_verification_logger(restored_logging, caplog):
    """The logger Bolt reports bad signatures on, with its filters as they were."""
    logger = logging.getLogger("slack_bolt.AsyncRequestVerification")
    saved = logger.filters[:]
    yield logger
    logger.filters[:] = saved


async def _refuse_unsigned(body: str) -> int:
    from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
    from slack_bolt.request.async_request import AsyncBoltRequest
    from slack_bolt.response import BoltResponse

    # Built after logging is configured, as the bot builds its app: Bolt then resets
    # the level of its loggers to the root's.
    verification = AsyncRequestVerification("signing-secret")
    request = AsyncBoltRequest(body=body, headers={"x-slack-signature": "v0=forged", "x-slack-request-timestamp": "1"})

    async def proceed() -> BoltResponse:
        raise AssertionError("an unsigned request went on")

    response = await verification.async_process(req=request, resp=BoltResponse(status=200), next=proceed)
    return response.status


@pytest.mark.parametrize(("level", "shown"), [("INFO", False), ("DEBUG", True)])
async def test_bolt_logs_the_body_of_a_refused_request_only_at_debug(bolt_verification_logger, caplog, level, shown):
    configure_logging(level)
    logging.getLogger().addHandler(caplog.handler)
    assert await _refuse_unsigned('{"junk": "BODY-MARKER"}') == 401
    assert any("BODY-MARKER" in r.getMessage() for r in caplog.records) is shown


def test_a_one_character_secret_is_masked_as_a_word_only(restored_logging):
    args = ("x", "context_length_exceeded")
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "key %s refused (max_tokens, %s)", args, None)
    RedactSecrets(["x"]).filter(record)
    assert record.getMessage() == "key [redacted] refused (max_tokens, context_length_exceeded)"



# -- LOG_FORMAT: JSON lines, the event id, secrets masked in every field ----------------------

SECRET = "sk-very-secret-key-123"


def _lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line]


def test_json_lines_carry_level_logger_message_and_time(restored_logging, capsys):
    configure_logging("INFO", fmt="json")
    logging.getLogger("logs_under_test").info("started %d adapters", 2)
    [line] = _lines(capsys)
    fields = json.loads(line)
    assert (fields["level"], fields["logger"], fields["message"]) == ("INFO", "logs_under_test", "started 2 adapters")
    assert fields["timestamp"].startswith("20") and "event_id" not in fields


def test_json_lines_of_one_answer_carry_its_event_id(restored_logging, capsys):
    configure_logging("INFO", fmt="json")
    with answering("slack", "Ev42"):
        logging.getLogger("core.engine").warning("reply failed")
    logging.getLogger("core.engine").warning("outside")
    inside, outside = (json.loads(line) for line in _lines(capsys))
    assert (inside["event_id"], inside["platform"]) == ("Ev42", "slack")
    assert "event_id" not in outside and "platform" not in outside


def test_text_lines_of_one_answer_show_it_after_the_logger(restored_logging, capsys):
    configure_logging("INFO")
    with answering("discord", "123"):
        logging.getLogger("core.engine").info("answering")
    logging.getLogger("core.engine").info("idle")
    inside, outside = _lines(capsys)
    assert inside.endswith(" INFO core.engine [discord:123]: answering")
    assert outside.endswith(" INFO core.engine: idle")


def test_secrets_are_masked_in_json_message_traceback_and_extra_fields(restored_logging, capsys):
    configure_logging("INFO", [SECRET], fmt="json")
    log = logging.getLogger("logs_under_test")
    try:
        raise RuntimeError(f"refused key {SECRET}")
    except RuntimeError:
        log.exception("call with %s failed", SECRET, extra={"request": f"Bearer {SECRET}"})
    log.info("odd", extra={"headers": {"authorization": SECRET}})  # not a string: masked once serialised
    output = capsys.readouterr().err
    assert SECRET not in output
    first, second = (json.loads(line) for line in output.splitlines())
    assert first["message"] == "call with [redacted] failed"
    assert "RuntimeError: refused key [redacted]" in first["exc_info"]
    assert first["request"] == "Bearer [redacted]"
    assert second["headers"] == {"authorization": "[redacted]"}
