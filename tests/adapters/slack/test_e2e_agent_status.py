"""End to end: Slack's status line under a thread while the model works, always cleared."""

from __future__ import annotations

import pytest

from adapters.slack.app import web_client
from adapters.slack.assistant import DEFAULT_LOADING_MESSAGES, THINKING_STATUS
from adapters.slack.config import SlackConfig
from adapters.slack.events import ReplyTarget
from adapters.slack.replies import SlackRenderers, route_of
from core.types import ChannelRef, ConversationRef, IncomingMessage, Persona
from tests.adapters.slack.harness import dm, mention, settled, slack_stack
from tests.fakes.openai_server import Fail
from tests.fakes.slack_api import FakeSlackAPI

pytestmark = pytest.mark.e2e


def _shown(slack: FakeSlackAPI) -> list[tuple[str, str, str, list[str] | None]]:
    return [(s["channel_id"], s["thread_ts"], s["status"], s.get("loading_messages")) for s in slack.statuses]


async def test_an_answer_in_a_thread_shows_the_status_and_clears_it_once_answered(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(mention("hi", "700.000001"))
        await stack.answer_in("C1", "700.000001")
        await settled(stack.adapter.pipeline)
        assert _shown(stack.slack) == [
            ("C1", "700.000001", THINKING_STATUS, list(DEFAULT_LOADING_MESSAGES)),
            ("C1", "700.000001", "", None),
        ]
        # Cleared before the answer's last word reached Slack, never after the answer was lost.
        [cleared] = [c for c in stack.slack.calls_of("assistant.threads.setStatus") if c.params["status"] == ""]
        [posted] = stack.slack.calls_of("chat.postMessage")
        assert cleared.at <= posted.at


async def test_the_status_is_cleared_when_the_model_fails(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Fail(503, body={"error": {"message": "overloaded"}}))
        await stack.send(mention("hi", "700.000002"))
        [text] = await stack.answer_in("C1", "700.000002")
        await settled(stack.adapter.pipeline)
        assert text.startswith(":warning: ")
        assert [status for _, _, status, _ in _shown(stack.slack)] == [THINKING_STATUS, ""]


async def test_the_status_is_cleared_when_the_answer_cannot_be_delivered(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.slack.fail("chat.postMessage", times=50, status=200, error="channel_not_found")
        await stack.send(mention("hi", "700.000003"))
        await settled(stack.adapter.pipeline)
        assert stack.slack.calls_of("chat.postMessage"), "the answer was tried"
        assert stack.slack.bot_texts("C1", "700.000003") == []
        assert [status for _, _, status, _ in _shown(stack.slack)] == [THINKING_STATUS, ""]


async def test_a_refused_status_is_not_asked_again_and_answers_go_on(tmp_path, caplog):
    async with slack_stack(tmp_path) as stack:
        stack.slack.fail("assistant.threads.setStatus", status=200, error="missing_scope")
        await stack.send(mention("one", "700.000004"))
        await stack.answer_in("C1", "700.000004")
        await stack.send(mention("two", "700.000005"))
        await stack.answer_in("C1", "700.000005")
        await settled(stack.adapter.pipeline)
        assert len(stack.slack.calls_of("assistant.threads.setStatus")) == 1
        assert [r.getMessage() for r in caplog.records if "refused assistant.threads.setStatus" in r.getMessage()] == [
            "Slack refused assistant.threads.setStatus (missing_scope); answers show no status line from now on"]


async def test_a_dm_shows_the_status_in_its_thread_only(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(dm("top level", "700.000006"))
        await stack.answer_in("D1", None)
        threaded = {**dm("in a thread", "700.000008"), "thread_ts": "700.000007"}
        await stack.send(threaded)
        await stack.answer_in("D1", "700.000007")
        await settled(stack.adapter.pipeline)
        assert [(channel, thread, status) for channel, thread, status, _ in _shown(stack.slack)] == [
            ("D1", "700.000007", THINKING_STATUS), ("D1", "700.000007", "")]


async def test_loading_messages_come_from_the_channels_persona_else_the_setting(tmp_path):
    personas = {"C1": Persona("p", loading_messages=("Reading the thread…", "Weighing it up…"))}

    async def persona(channel: ChannelRef) -> Persona:
        return personas.get(channel.channel, Persona("plain"))

    async with FakeSlackAPI() as slack:
        config = SlackConfig(bot_token=slack.token, api_url=slack.base_url, loading_messages=("Hmm, one moment",))
        renderers = SlackRenderers.of(web_client(config), config, persona)
        for channel in ("C1", "C2"):
            message = IncomingMessage(ConversationRef("slack", "T1", channel, "1.5"), "U1", "U1", "hi", event_id="e")
            renderer = await renderers(message, route_of(ReplyTarget(channel, "1.5")), False)

            async def posted(ts: str) -> None:
                pass

            await renderer.start(posted, lambda: False, None)
            await renderer.settle()
            await renderer.abandon()  # ending twice clears once
        assert _shown(slack) == [
            ("C1", "1.5", THINKING_STATUS, ["Reading the thread…", "Weighing it up…"]), ("C1", "1.5", "", None),
            ("C2", "1.5", THINKING_STATUS, ["Hmm, one moment"]), ("C2", "1.5", "", None),
        ]
