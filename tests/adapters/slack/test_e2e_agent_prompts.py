"""End to end: suggested prompts in a DM thread, the agent view's events, and the manifest
and presets that declare them."""

from __future__ import annotations

import pytest

from adapters.slack.manifest import build_manifest
from adapters.slack.shortcuts import SHORTCUTS
from core.errors import ConfigurationError
from core.personas import parse_preset
from core.types import ChannelRef, Persona
from tests.adapters.slack.harness import settled, slack_stack

pytestmark = pytest.mark.e2e


def _thread_started(channel: str = "D1", thread_ts: str = "900.000001") -> dict:
    return {
        "type": "assistant_thread_started", "event_ts": "900.000002",
        "assistant_thread": {"user_id": "U1", "channel_id": channel, "thread_ts": thread_ts,
                             "context": {"channel_id": "C7", "team_id": "T1", "enterprise_id": None}},
    }


async def test_a_new_dm_thread_gets_the_personas_suggested_prompts(tmp_path):
    async with slack_stack(tmp_path) as stack:
        prompts = ("Summarise my unread threads", "Draft a reply to the last message\nkindly")
        persona = Persona("You help.", name="helper", suggested_prompts=prompts)
        await stack.engine.store.set_persona(ChannelRef("slack", "T1", "D1"), persona, "U1", "u1")
        assert (await stack.send(_thread_started())).status == 200
        await stack.slack.wait_for(lambda: stack.slack.suggested_prompts, timeout=5)
        [sent] = stack.slack.suggested_prompts
        assert (sent["channel_id"], sent["thread_ts"]) == ("D1", "900.000001")
        assert sent["prompts"] == [
            {"title": "Summarise my unread threads", "message": "Summarise my unread threads"},
            {"title": "Draft a reply to the last message", "message": "Draft a reply to the last message\nkindly"},
        ]


async def test_a_persona_without_prompts_sends_none(tmp_path):
    async with slack_stack(tmp_path) as stack:
        assert (await stack.send(_thread_started())).status == 200
        assert stack.slack.calls_of("assistant.threads.setSuggestedPrompts") == []


async def test_the_messages_tab_opening_is_acknowledged_and_needs_nothing(tmp_path):
    async with slack_stack(tmp_path) as stack:
        calls = len(stack.slack.calls)
        event = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "messages", "event_ts": "1.1"}
        assert (await stack.send(event)).status == 200
        await settled(stack.adapter.pipeline)
        assert len(stack.slack.calls) == calls  # no answer, no post


def test_presets_take_suggested_prompts_and_loading_messages():
    persona = parse_preset(
        'system_prompt = "Help."\n'
        'suggested_prompts = ["What can you do?"]\n'
        'loading_messages = ["Reading…", "Writing…"]',
        "helper.toml")
    assert persona.suggested_prompts == ("What can you do?",)
    assert persona.loading_messages == ("Reading…", "Writing…")
    with pytest.raises(ConfigurationError, match="suggested_prompts must be a list of prompts"):
        parse_preset('system_prompt = "Help."\nsuggested_prompts = "one"', "bad.toml")


def test_the_manifest_declares_the_agent_view_its_events_scopes_and_shortcuts():
    manifest = build_manifest(request_url="https://bot.example/slack/events")
    features = manifest["features"]
    assert features["assistant_view"]["assistant_description"]
    assert {"assistant:write", "chat:write"} <= set(manifest["oauth_config"]["scopes"]["bot"])
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {"assistant_thread_started", "app_home_opened"} <= set(events)
    assert features["shortcuts"] == [
        {"name": s.name, "type": "message", "callback_id": s.callback_id, "description": s.description}
        for s in SHORTCUTS
    ]
    assert [s["name"] for s in features["shortcuts"]] == ["Summarise thread", "Ask about this message"]
    assert all(len(s["name"]) <= 25 for s in features["shortcuts"])  # Slack's limit
    # Feedback clicks and shortcuts arrive as interactivity, at the events URL.
    assert manifest["settings"]["interactivity"] == {
        "is_enabled": True, "request_url": "https://bot.example/slack/events"}
