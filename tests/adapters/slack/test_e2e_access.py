"""End to end: the access policy on Slack — a blocked user gets one polite line and no
answer, whatever the entry point; everyone else is answered."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from core.access import REFUSED_TEXT
from tests.adapters.slack.harness import mention, settled, slack_stack

pytestmark = pytest.mark.e2e


def _refused(reason: str) -> float:
    return REGISTRY.get_sample_value("chatwright_access_refused_total", {"platform": "slack", "reason": reason}) or 0


async def test_a_blocked_user_gets_one_polite_line_and_no_answer(tmp_path):
    async with slack_stack(tmp_path, blocked_user_ids=frozenset({"slack:U9"})) as stack:
        before = _refused("blocked")
        await stack.send(mention("hi", "100.000001", user="U9"))
        await stack.send(mention("hello?", "100.000002", user="U9"))
        await stack.send(mention("/forget", "100.000003", user="U9"))  # an inline command: refused the same way
        command = await stack.sender.command("/usage", user_id="U9")
        await stack.send(mention("hi", "100.000004", user="U1"))

        assert await stack.answer_in("C1", "100.000004") == ["echo: u1: hi"]
        await settled(stack.adapter.pipeline)
        assert stack.slack.bot_texts("C1", "100.000001") == [f":warning: {REFUSED_TEXT}"]
        assert stack.slack.bot_texts("C1", "100.000002") == []
        assert stack.slack.bot_texts("C1", "100.000003") == []
        assert command.json() == {"response_type": "ephemeral", "text": REFUSED_TEXT}
        assert len(stack.model.requests) == 1
        assert _refused("blocked") - before == 4
