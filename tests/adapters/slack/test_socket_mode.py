"""End to end in Socket Mode: envelopes over a loopback WebSocket into the real AsyncApp,
acks back over it, answers on the fake Slack Web API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSCloseCode

from adapters.slack import SlackAdapter
from adapters.slack.replies import THINKING
from bots.app import running_engine
from bots.slack_wiring import build_slack
from core.errors import ConfigurationError
from core.types import ChannelRef
from tests.adapters.slack.harness import SlackStack, dm, mention, settled, slack_stack
from tests.adapters.slack.harness import test_settings as slack_settings
from tests.fakes.openai_server import Answer, FakeOpenAIServer
from tests.fakes.slack_api import BOT_TOKEN
from tests.fakes.slack_socket import APP_TOKEN, FakeSlackSocketMode

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def socket_stack(tmp_path: Path, **overrides: Any) -> AsyncIterator[tuple[SlackStack, FakeSlackSocketMode]]:
    """The whole stack with SLACK_APP_TOKEN set and no signing secret, as a Socket Mode
    deployment runs; the fake Slack is both the Web API and the WebSocket."""
    slack = FakeSlackSocketMode()
    async with slack, slack_stack(tmp_path, slack=slack, slack_app_token=APP_TOKEN, slack_signing_secret=None, **overrides) as stack:
        await slack.wait_for(lambda: slack.connected)
        yield stack, slack


async def test_starts_over_the_socket_and_serves_no_slack_route(tmp_path):
    async with socket_stack(tmp_path) as (stack, slack):
        assert stack.adapter.routes() == []
        # The shared HTTP server is up (health, metrics) but has no /slack/events.
        assert (await stack.send(mention("hi", "100.000001"))).status == 404
        # SLACK_API_URL is honoured for the socket URL too, with the app-level token.
        opened = slack.calls_of("apps.connections.open")
        assert len(opened) == 1 and slack.sockets_opened == 1
        # The bot token is checked first: a refused one fails before any socket is opened.
        assert slack.calls_of("auth.test")[0].at < opened[0].at


async def test_mention_is_acked_at_once_and_answered_in_its_thread(tmp_path):
    async with socket_stack(tmp_path) as (stack, slack):
        stack.model.script(Answer("hello there", delay=0.5))
        envelope_id = await slack.event(mention("hi", "100.000001"))

        # An event's ack carries no payload, and it does not wait for the model.
        assert await slack.ack_for(envelope_id) == {"envelope_id": envelope_id}
        assert set(slack.bot_texts("C1", "100.000001")) <= {THINKING}

        assert await stack.answer_in("C1", "100.000001") == ["hello there"]
        assert slack.thread("C1", "100.000001")[0].history[0] == THINKING
        assert stack.model.requests[0]["messages"][-1] == {"role": "user", "content": "u1: hi"}
        assert slack.unexpected == []


async def test_retried_envelope_is_acked_and_answered_once(tmp_path):
    async with socket_stack(tmp_path) as (stack, slack):
        event = mention("hi", "200.000001")
        first = await slack.event(event, event_id="EvSAME")
        # Slack redelivers an event whose ack it did not get in time: same event id, new envelope.
        retry = await slack.event(event, event_id="EvSAME", retry_attempt=1, retry_reason="timeout")
        assert await slack.ack_for(first) == {"envelope_id": first}
        assert await slack.ack_for(retry) == {"envelope_id": retry}

        await stack.answer_in("C1", "200.000001")
        await _sentinel(stack, slack)
        assert slack.bot_texts("C1", "200.000001") == ["echo: u1: hi"]
        assert len(stack.model.requests) == 2  # the mention and the sentinel


async def test_slash_command_answer_is_the_ack_payload(tmp_path):
    async with socket_stack(tmp_path) as (_, slack):
        show = await slack.ack_for(await slack.command("/persona", "show"))
        usage = await slack.ack_for(await slack.command("/usage", channel_id="D1"))

        assert show["payload"]["response_type"] == "ephemeral"
        assert show["payload"]["text"].startswith("Persona, the built-in default:")
        assert usage["payload"]["response_type"] == "ephemeral" and "tokens today" in usage["payload"]["text"]
        # Nothing went through the Web API or the response_url: the ack is the answer.
        assert slack.calls_of("chat.postMessage") == []


async def test_persona_change_over_the_socket_is_admin_only_and_announced(tmp_path):
    async with socket_stack(tmp_path) as (stack, slack):
        slack.admins.add("UADMIN")
        refused = await slack.ack_for(await slack.command("/persona", "set You are a pirate.", user_id="UNOBODY"))
        assert refused["payload"] == {
            "response_type": "ephemeral", "text": "Only admins can change the persona here in a shared channel."
        }
        channel = ChannelRef("slack", "T1", "C1")
        assert await stack.engine.store.get_persona(channel) is None

        changed = await slack.ack_for(await slack.command("/persona", "set You are a pirate.", user_id="UADMIN"))
        assert changed["payload"]["response_type"] == "in_channel"
        persona = await stack.engine.store.get_persona(channel)
        assert persona is not None and persona.system_prompt == "You are a pirate."


async def test_refresh_moves_to_a_new_socket_and_answers_go_on(tmp_path):
    async with socket_stack(tmp_path) as (stack, slack):
        await slack.refresh()
        await slack.wait_for(lambda: slack.sockets_opened == 2 and slack.connected and slack.closed_sockets)
        # The new URL comes from SLACK_API_URL too, and the old socket was let go.
        assert len(slack.calls_of("apps.connections.open")) == 2
        assert slack.closed_sockets == [WSCloseCode.OK]

        envelope_id = await slack.event(mention("still there?", "300.000001"))
        await slack.ack_for(envelope_id)
        assert await stack.answer_in("C1", "300.000001") == ["echo: u1: still there?"]


async def test_stop_closes_the_socket_cleanly_and_for_good(tmp_path):
    async with socket_stack(tmp_path) as (stack, slack):
        await stack.adapter.stop()

        assert await slack.wait_for(lambda: slack.closed_sockets) == [WSCloseCode.OK]
        assert not slack.connected
        # Closed, not dropped: the client did not ask for a new URL to reconnect.
        assert len(slack.calls_of("apps.connections.open")) == 1 and slack.sockets_opened == 1


@pytest.mark.parametrize(("app_token", "error"), [("xapp-revoked", "invalid_auth"), (BOT_TOKEN, "not_allowed_token_type")])
async def test_refused_app_token_fails_start_plainly(tmp_path, app_token, error):
    # slack_sdk retries a refused app token forever, so start() would never return and
    # the runner would wait on it (and on every other platform) for good.
    async with _adapter(tmp_path, slack_app_token=app_token) as (adapter, slack):
        with pytest.raises(ConfigurationError, match=f"SLACK_APP_TOKEN was refused by Slack \\({error}\\)"):
            async with asyncio.timeout(3):
                await adapter.start()
        assert slack.sockets_opened == 0
        assert adapter._client.session is None  # its HTTP session closed, not leaked


async def test_rate_limited_socket_url_is_waited_out(tmp_path):
    # A 429 is no configuration error: the SDK waits Retry-After and asks again.
    async with _adapter(tmp_path, slack_app_token=APP_TOKEN) as (adapter, slack):
        slack.fail("apps.connections.open", status=429, retry_after=0)
        async with asyncio.timeout(3):
            await adapter.start()
        await slack.wait_for(lambda: slack.connected)
        assert len(slack.calls_of("apps.connections.open")) == 2


# -- helpers --------------------------------------------------------------------------------
@asynccontextmanager
async def _adapter(tmp_path: Path, **overrides: Any) -> AsyncIterator[tuple[SlackAdapter, FakeSlackSocketMode]]:
    """A Socket Mode adapter built as ``chatwright run`` builds it, not yet started."""
    async with FakeSlackSocketMode() as slack, FakeOpenAIServer() as model:
        settings = slack_settings(slack, model, tmp_path, slack_signing_secret=None, **overrides)
        async with running_engine(settings) as engine:
            adapter, routes = build_slack(settings, engine)
            assert isinstance(adapter, SlackAdapter) and routes == []
            try:
                yield adapter, slack
            finally:
                await adapter.stop()


async def _sentinel(stack: SlackStack, slack: FakeSlackSocketMode) -> None:
    """One more DM over the socket, answered, then every task: whatever was delivered
    before it has been fully handled (handlers start in the order envelopes arrive)."""
    ts = slack.new_ts()
    channel = f"DSENTINEL{ts}"
    await slack.ack_for(await slack.event(dm("sentinel", ts, channel=channel)))
    await stack.answer_in(channel, None)
    await settled(stack.adapter.pipeline)
