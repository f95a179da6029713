"""Every question answered once across restarts: the real ``chatwright run`` process is
killed (SIGKILL) or stopped (SIGTERM) while it answers, and started again on the same
SQLite file.

The fake Slack, Discord and model run in this process and outlive the bot's, so they
see both the bot that stopped and the one that took over. Leases are short (2 s), so a
killed bot's answers are resumed within seconds; a SIGTERM releases them at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.replies import THINKING
from tests.adapters.slack.harness import mention
from tests.bot_process import BotProcess, discord_environment, slack_http_environment, slack_socket_environment
from tests.fakes.discord_server import DM_CHANNEL, MEMBER, FakeDiscord, SentMessage
from tests.fakes.openai_server import Answer, FakeOpenAIServer, Hang, echo
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI, SignedSender
from tests.fakes.slack_socket import APP_TOKEN, FakeSlackSocketMode

pytestmark = pytest.mark.e2e

KEY = "sk-restart-test-key"
QUESTION = "what survives a restart?"
# The question as the model reads it: in a Slack channel with its speaker's name (the fake
# users.info's "u1" for U1, see core/speakers.py); in the Discord DM as it is.
SLACK_QUESTION = f"u1: {QUESTION}"
# What the model (its default echo) answers the bot that took over, on Slack and on Discord.
SLACK_RESUMED = f"echo: {SLACK_QUESTION}"
DISCORD_RESUMED = f"echo: {QUESTION}"
# Plain words, so Slack's mrkdwn and Discord show them as they are.
WORDS = " ".join(f"word{n}" for n in range(60))
# Writes for about 7 s: still writing whenever the test stops the bot mid-answer.
SLOW = Answer(WORDS, chunk_size=8, chunk_delay=0.12)
# Long enough for the first process to start and the next to take over after a kill.
WAIT = 20.0


def _environment(base: dict[str, str], tmp_path: Path, *, lease: float = 2, grace: float = 1) -> dict[str, str]:
    return {
        **base,
        "OPENAI_MODEL": "fake-model",
        "OPENAI_MAX_RETRIES": "0",
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "no-tiktoken"),
        "ANSWER_LEASE_SECONDS": str(lease),
        "SHUTDOWN_GRACE_SECONDS": str(grace),
    }


def _user_turns(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "user"]


def _assert_clean(*bots: BotProcess, secrets: tuple[str, ...]) -> None:
    """No secret and no traceback in the log of any run (a killed one included)."""
    for bot in bots:
        log = bot.log()
        assert not [s for s in secrets if s in log], log
        assert "Traceback" not in log, log


# -- Slack -------------------------------------------------------------------------------------
def _slack_preview_shown(slack: FakeSlackAPI, channel: str, thread_ts: str) -> Any:
    """The placeholder, once it shows the answer so far. A preview edit comes only after
    the placeholder's ts is stored, so a bot killed from here on knows its message."""
    messages = slack.thread(channel, thread_ts)
    return messages and len(messages[0].history) > 1 and messages[0]


async def _slack_answered(slack: FakeSlackAPI, channel: str, thread_ts: str, text: str) -> None:
    await slack.wait_for(lambda: text in slack.bot_texts(channel, thread_ts), timeout=WAIT)


def _assert_slack_answered_once(
    slack: FakeSlackAPI, channel: str, thread_ts: str, text: str, placeholder_ts: str
) -> None:
    """One message in the thread, with the answer: the placeholder itself, edited."""
    assert slack.bot_texts(channel, thread_ts) == [text]
    [message] = slack.thread(channel, thread_ts)
    assert message.ts == placeholder_ts and message.history[0] == THINKING, message.history


def _slack_secrets() -> tuple[str, ...]:
    return KEY, BOT_TOKEN, SIGNING_SECRET, APP_TOKEN


async def test_slack_answer_killed_mid_stream_is_finished_in_its_placeholder_after_restart(tmp_path):
    ts = "1700000100.000100"
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        model.script(SLOW)
        env = _environment(slack_http_environment(slack.base_url, model.base_url, KEY, tmp_path), tmp_path)
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for_log("slack connected")
            async with SignedSender(bot.events_url) as sender:
                assert (await sender.event(mention(QUESTION, ts))).status == 200
            placeholder = await slack.wait_for(lambda: _slack_preview_shown(slack, "C1", ts), timeout=WAIT)
            assert placeholder.text.startswith("word0")  # part of the answer is showing
            assert await bot.kill() == -9

        async with bot.successor() as again:
            await _slack_answered(slack, "C1", ts, SLACK_RESUMED)
            assert await again.stop() == 0

    _assert_slack_answered_once(slack, "C1", ts, SLACK_RESUMED, placeholder.ts)
    assert len(model.requests) == 2
    assert _user_turns(model.requests[-1]) == [SLACK_QUESTION]
    assert "resuming an unfinished answer" in again.log()
    _assert_clean(bot, again, secrets=_slack_secrets())


async def test_slack_event_killed_right_after_its_ack_is_answered_after_restart(tmp_path):
    ts = "1700000200.000100"
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        # Whatever the killed bot asks (if it got that far) is never answered; the model
        # answers again once the bot is dead.
        model.responder = lambda body: Hang()
        env = _environment(slack_http_environment(slack.base_url, model.base_url, KEY, tmp_path), tmp_path)
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for_log("slack connected")
            async with SignedSender(bot.events_url) as sender:
                # Acknowledged: from Slack's side the event is delivered, never to be sent again.
                assert (await sender.event(mention(QUESTION, ts))).status == 200
                assert await bot.kill() == -9
        model.responder = echo

        async with bot.successor() as again:
            await _slack_answered(slack, "C1", ts, SLACK_RESUMED)
            assert await again.stop() == 0

    assert slack.bot_texts("C1", ts) == [SLACK_RESUMED]
    assert _user_turns(model.requests[-1]) == [SLACK_QUESTION]
    _assert_clean(bot, again, secrets=_slack_secrets())


async def test_slack_sigterm_lets_an_answer_in_flight_finish_within_the_grace(tmp_path):
    ts = "1700000300.000100"
    text = " ".join(f"word{n}" for n in range(40))  # about 4 s of writing, well within the grace
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        model.script(Answer(text, chunk_size=8, chunk_delay=0.12))
        env = _environment(slack_http_environment(slack.base_url, model.base_url, KEY, tmp_path), tmp_path, grace=15)
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for_log("slack connected")
            async with SignedSender(bot.events_url) as sender:
                assert (await sender.event(mention(QUESTION, ts))).status == 200
            placeholder = await slack.wait_for(lambda: _slack_preview_shown(slack, "C1", ts), timeout=WAIT)
            code = await bot.stop(timeout=20)

        # The bot has exited: what the fake shows now was posted before it did.
        _assert_slack_answered_once(slack, "C1", ts, text, placeholder.ts)

    log = bot.log()
    assert code == 0, log
    assert "slack: shutting down, 1 answers in flight" in log
    assert "slack: drained, 1 answers finished, 0 left for the next start" in log
    assert len(model.requests) == 1
    _assert_clean(bot, secrets=_slack_secrets())


async def test_slack_sigterm_leaves_a_slow_answer_to_the_next_start_at_once(tmp_path):
    ts = "1700000400.000100"
    grace = 1.0
    resumed = "the answer, written slowly again"
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        # Slow after the restart too: the resumed answer goes on in the message it had,
        # rather than posting a "thinking" placeholder of its own.
        model.script(SLOW, Answer(resumed, delay=1.0))
        # A lease far longer than the test waits: the answer can only be resumed in time
        # if the stopping bot released it.
        env = _environment(slack_http_environment(slack.base_url, model.base_url, KEY, tmp_path), tmp_path,
                           lease=60, grace=grace)
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for_log("slack connected")
            async with SignedSender(bot.events_url) as sender:
                assert (await sender.event(mention(QUESTION, ts))).status == 200
            placeholder = await slack.wait_for(lambda: _slack_preview_shown(slack, "C1", ts), timeout=WAIT)
            started = time.monotonic()
            code = await bot.stop(timeout=grace + 10)
            stopping = time.monotonic() - started

        assert code == 0, bot.log()
        assert stopping < grace + 4, stopping
        assert "slack: drained, 0 answers finished, 1 left for the next start" in bot.log()

        async with bot.successor() as again:
            await again.wait_for_log("resuming an unfinished answer", timeout=10)
            await _slack_answered(slack, "C1", ts, resumed)
            assert await again.stop() == 0

    _assert_slack_answered_once(slack, "C1", ts, resumed, placeholder.ts)
    assert len(model.requests) == 2
    assert _user_turns(model.requests[-1]) == [SLACK_QUESTION]
    _assert_clean(bot, again, secrets=_slack_secrets())


async def test_slack_socket_mode_answer_killed_mid_stream_is_finished_after_restart(tmp_path):
    ts = "1700000500.000100"
    async with FakeSlackSocketMode() as slack, FakeOpenAIServer(api_key=KEY) as model:
        model.script(SLOW)
        env = _environment(slack_socket_environment(slack.base_url, model.base_url, KEY, tmp_path), tmp_path)
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for_log("slack connected")
            envelope_id = await slack.event(mention(QUESTION, ts))
            assert await slack.ack_for(envelope_id, timeout=WAIT) == {"envelope_id": envelope_id}
            placeholder = await slack.wait_for(lambda: _slack_preview_shown(slack, "C1", ts), timeout=WAIT)
            assert await bot.kill() == -9

        async with bot.successor() as again:
            await again.wait_for_log("slack connected")
            await _slack_answered(slack, "C1", ts, SLACK_RESUMED)
            assert await again.stop() == 0

    _assert_slack_answered_once(slack, "C1", ts, SLACK_RESUMED, placeholder.ts)
    assert slack.sockets_opened == 2 and slack.unexpected == []
    assert len(model.requests) == 2
    assert _user_turns(model.requests[-1]) == [SLACK_QUESTION]
    _assert_clean(bot, again, secrets=_slack_secrets())


# -- Discord -----------------------------------------------------------------------------------
def _discord_preview_shown(discord: FakeDiscord) -> SentMessage | None:
    """The answer's message, once edited with more of the answer. An edit comes only
    after the message's id is stored, so a bot killed from here on knows its message."""
    return next((m for m in discord.bot_messages(DM_CHANNEL) if m.edits), None)


async def test_discord_answer_killed_mid_stream_is_finished_in_its_message_after_restart(tmp_path):
    async with FakeDiscord() as discord, FakeOpenAIServer(api_key=KEY) as model:
        model.script(SLOW)
        env = _environment(discord_environment(discord, model.base_url, KEY, tmp_path), tmp_path)
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for_log("discord connected", timeout=WAIT)
            discord.send_message(DM_CHANNEL, MEMBER, QUESTION)
            preview = await discord.wait_for(lambda: _discord_preview_shown(discord), timeout=WAIT)
            assert preview.content.startswith("word0") and preview.content != WORDS
            assert await bot.kill() == -9

        async with bot.successor() as again:
            await again.wait_for_log("discord connected", timeout=WAIT)
            await discord.wait_for(
                lambda: any(m.content == DISCORD_RESUMED for m in discord.bot_messages(DM_CHANNEL)), timeout=WAIT)
            assert await again.stop() == 0

    # The preview message itself now shows the answer: no second message, no partial left.
    assert [(m.id, m.content) for m in discord.bot_messages(DM_CHANNEL)] == [(preview.id, DISCORD_RESUMED)]
    assert len(model.requests) == 2
    assert _user_turns(model.requests[-1]) == [QUESTION]
    _assert_clean(bot, again, secrets=(KEY, discord.token))
