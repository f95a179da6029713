"""End to end: the access policy on Discord — roles and a thread's parent channel come
from the adapter; a refused user gets one polite line and no answer."""

from __future__ import annotations

import pytest

from core.access import REFUSED_TEXT
from tests.adapters.discord.conftest import running_bot
from tests.fakes.discord_server import BOT, DM_CHANNEL, GUILD_ID, MEMBER, THREAD, GENERAL, FakeDiscord
from tests.fakes.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.e2e


async def test_members_of_an_allowed_role_are_answered_in_a_thread_of_an_allowed_channel(
    make_settings, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    # Every member of the server has its @everyone role, whose id is the server's.
    settings = make_settings(allowed_role_ids=frozenset({f"discord:{GUILD_ID}"}),
                             allowed_channel_ids=frozenset({f"discord:{GENERAL}"}))
    async with running_bot(settings) as (_, adapter):
        discord_fake.send_message(DM_CHANNEL, MEMBER, "hi")  # no roles in a DM: not allowed
        discord_fake.send_message(DM_CHANNEL, MEMBER, "hello?")
        discord_fake.send_command(DM_CHANNEL, MEMBER, "usage")
        target = discord_fake.add_history(DM_CHANNEL, MEMBER, "what does this mean?")
        asked = discord_fake.send_message_command(DM_CHANNEL, MEMBER, target)  # "Ask chatwright"
        discord_fake.send_message(THREAD, MEMBER, f"<@{BOT.id}> in the thread", mentions=(BOT,))

        await discord_fake.wait_for(lambda: [m for m in discord_fake.bot_messages(THREAD)
                                             if m.content == "echo: bob-member: in the thread"])
        # The command's answer: an ephemeral follow-up.
        await discord_fake.wait_for(
            lambda: [m for m in discord_fake.bot_messages(0) if m.content == REFUSED_TEXT and m.ephemeral])
        [_, edit] = await discord_fake.wait_for(lambda: len(r := discord_fake.interaction_responses(asked)) >= 2 and r)
        assert edit.body["content"] == REFUSED_TEXT  # ephemeral: nothing posted in the channel
        await adapter.pipeline._tasks.join()  # type: ignore[attr-defined]  # the polite line is on its way
        assert [m.content for m in discord_fake.bot_messages(DM_CHANNEL)] == [f"⚠️ {REFUSED_TEXT}"]
        assert len(model_fake.requests) == 1
