"""End to end: signed slash commands into the real AsyncApp; admins from users.info."""

from __future__ import annotations

import pytest

from core.types import ChannelRef
from tests.adapters.slack.harness import dm, mention, slack_stack
from tests.fakes.slack_api import FakeSlackAPI

pytestmark = pytest.mark.e2e

_CHANNEL = ChannelRef("slack", "T1", "C1")


async def test_non_admin_cannot_set_a_channel_persona(tmp_path):
    async with slack_stack(tmp_path) as stack:
        sent = await stack.sender.command("/persona", "set You are a pirate.", user_id="UNOBODY")
        assert sent.status == 200 and sent.elapsed < 1.0
        assert sent.json() == {"response_type": "ephemeral", "text": "Only admins can change the persona here in a shared channel."}
        assert await stack.engine.store.get_persona(_CHANNEL) is None


@pytest.mark.parametrize("how", ["workspace admin", "workspace owner", "ADMIN_USER_IDS"])
async def test_admin_sets_the_persona_and_the_next_answer_uses_it(tmp_path, how):
    slack = FakeSlackAPI(admins={"UADMIN"} if how == "workspace admin" else set(),
                         owners={"UADMIN"} if how == "workspace owner" else set())
    listed = frozenset({"slack:UADMIN"}) if how == "ADMIN_USER_IDS" else frozenset()
    async with slack, slack_stack(tmp_path, slack=slack, admin_user_ids=listed) as stack:
        sent = await stack.sender.command("/persona", "set You are a pirate.", user_id="UADMIN")
        assert sent.json()["response_type"] == "in_channel"
        assert "You are a pirate." in sent.json()["text"]

        await stack.send(mention("ahoy?", "900.000001"))
        await stack.answer_in("C1", "900.000001")
        assert stack.model.requests[-1]["messages"][0] == {"role": "system", "content": "You are a pirate."}
        history = await stack.sender.command("/persona", "history", user_id="UNOBODY")
        assert history.json()["response_type"] == "ephemeral" and "uadmin" in history.json()["text"]


async def test_admin_status_is_cached_briefly(tmp_path):
    slack = FakeSlackAPI(admins={"UADMIN"})
    async with slack, slack_stack(tmp_path, slack=slack) as stack:
        for _ in range(3):
            await stack.sender.command("/persona", "show", user_id="UADMIN")
        assert len(slack.calls_of("users.info")) == 1


async def test_show_list_usage_and_forget_in_a_dm(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(dm("hello", "910.000001"))
        await stack.answer_in("D1", None)
        show = await stack.sender.command("/persona", "", channel_id="D1")
        presets = await stack.sender.command("/persona", "list", channel_id="D1")
        usage = await stack.sender.command("/usage", channel_id="D1")
        forget = await stack.sender.command("/forget", channel_id="D1")
        assert show.json()["text"].startswith("Persona, the built-in default:")
        assert "teacher" in presets.json()["text"]
        assert "tokens today" in usage.json()["text"] and usage.json()["response_type"] == "ephemeral"
        assert forget.json()["text"] == "Forgotten: 2 earlier messages cleared."


async def test_forget_inside_a_thread_by_mention(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(mention("remember me", "920.000001", user="UADMIN"))
        await stack.answer_in("C1", "920.000001")
        stack.slack.admins.add("UADMIN")
        await stack.send(mention("/forget", "920.000002", user="UADMIN", thread_ts="920.000001"))
        texts = await stack.answer_in("C1", "920.000001", count=2)
        assert texts[-1] == "Forgotten: 2 earlier messages cleared."
