"""End to end: the real discord.py client against the fake Discord, the real engine with
SQLite, and the real OpenAI client against the fake model."""

from __future__ import annotations

import pytest

from tests.adapters.discord.conftest import running_bot
from tests.fakes.discord_server import (
    BOT,
    DM_CHANNEL,
    GENERAL,
    MEMBER,
    OTHER_BOT,
    THREAD,
    FakeDiscord,
)
from tests.fakes.openai_server import Fail, FakeOpenAIServer

pytestmark = pytest.mark.e2e


def _answers(fake: FakeDiscord, channel: int, text: str):
    return lambda: [m for m in fake.bot_messages(channel) if m.content == text]


def _user_turns(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "user"]


async def test_dm_conversation_remembers_turns_and_survives_a_restart(
    make_settings, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    settings = make_settings()
    async with running_bot(settings):
        discord_fake.send_message(DM_CHANNEL, MEMBER, "my name is Ann")
        await discord_fake.wait_for(_answers(discord_fake, DM_CHANNEL, "echo: my name is Ann"))
        discord_fake.send_message(DM_CHANNEL, MEMBER, "what is my name?")
        await discord_fake.wait_for(_answers(discord_fake, DM_CHANNEL, "echo: what is my name?"))
    assert _user_turns(model_fake.requests[1]) == ["my name is Ann", "what is my name?"]

    async with running_bot(settings):  # a new process: same database, new client
        discord_fake.send_message(DM_CHANNEL, MEMBER, "still there?")
        await discord_fake.wait_for(_answers(discord_fake, DM_CHANNEL, "echo: still there?"))
    assert _user_turns(model_fake.requests[2]) == ["my name is Ann", "what is my name?", "still there?"]
    assert model_fake.requests[2]["messages"][0] == {"role": "system", "content": "You are a test bot."}


async def test_mention_in_a_channel_is_answered_as_a_reply_with_typing(bot, discord_fake: FakeDiscord) -> None:
    asked = discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> hello bot", mentions=(BOT,))
    [answer] = await discord_fake.wait_for(_answers(discord_fake, GENERAL, "echo: bob-member: hello bot"))
    assert answer.reference == asked
    assert GENERAL in discord_fake.typing


async def test_answer_goes_out_even_when_typing_is_forbidden(bot, discord_fake: FakeDiscord) -> None:
    discord_fake.typing_forbidden = True
    discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> anyway", mentions=(BOT,))
    await discord_fake.wait_for(_answers(discord_fake, GENERAL, "echo: bob-member: anyway"))
    assert discord_fake.typing == [GENERAL]


async def test_channel_messages_without_mention_are_ignored(
    bot, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    discord_fake.send_message(GENERAL, MEMBER, "just chatting")
    discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> now you", mentions=(BOT,))
    await discord_fake.wait_for(_answers(discord_fake, GENERAL, "echo: bob-member: now you"))
    assert [_user_turns(r)[-1] for r in model_fake.requests] == ["bob-member: now you"]


async def test_a_thread_is_a_conversation_of_its_own(bot, discord_fake: FakeDiscord, model_fake) -> None:
    discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> in the channel", mentions=(BOT,))
    await discord_fake.wait_for(_answers(discord_fake, GENERAL, "echo: bob-member: in the channel"))
    discord_fake.send_message(THREAD, MEMBER, f"<@{BOT.id}> in the thread", mentions=(BOT,))
    await discord_fake.wait_for(_answers(discord_fake, THREAD, "echo: bob-member: in the thread"))
    assert _user_turns(model_fake.requests[1]) == ["bob-member: in the thread"]


async def test_reply_to_the_bot_continues_the_conversation(bot, discord_fake: FakeDiscord, model_fake) -> None:
    discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> first", mentions=(BOT,))
    [answer] = await discord_fake.wait_for(_answers(discord_fake, GENERAL, "echo: bob-member: first"))
    # A reply pings the replied-to author by default, so the bot is in ``mentions``.
    discord_fake.send_message(GENERAL, MEMBER, "and then?", mentions=(BOT,), reply_to=answer.id)
    await discord_fake.wait_for(_answers(discord_fake, GENERAL, "echo: bob-member: and then?"))
    assert _user_turns(model_fake.requests[1]) == ["bob-member: first", "bob-member: and then?"]


async def test_reply_with_ping_off_has_no_content_and_is_not_answered(
    bot, discord_fake: FakeDiscord, model_fake
) -> None:
    discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> first", mentions=(BOT,))
    [answer] = await discord_fake.wait_for(_answers(discord_fake, GENERAL, "echo: bob-member: first"))
    discord_fake.send_message(GENERAL, MEMBER, "silent reply", reply_to=answer.id)
    discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> last", mentions=(BOT,))
    await discord_fake.wait_for(_answers(discord_fake, GENERAL, "echo: bob-member: last"))
    assert [_user_turns(r)[-1] for r in model_fake.requests] == ["bob-member: first", "bob-member: last"]


async def test_other_bots_and_system_messages_are_ignored(bot, discord_fake: FakeDiscord, model_fake) -> None:
    discord_fake.send_message(GENERAL, OTHER_BOT, f"<@{BOT.id}> bot talk", mentions=(BOT,))
    discord_fake.send_message(DM_CHANNEL, OTHER_BOT, "bot dm")
    discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> pinned", mentions=(BOT,), type_=6)
    discord_fake.send_message(DM_CHANNEL, MEMBER, "a person")
    await discord_fake.wait_for(_answers(discord_fake, DM_CHANNEL, "echo: a person"))
    assert len(model_fake.requests) == 1


async def test_a_replayed_event_is_answered_once(bot, discord_fake: FakeDiscord, model_fake) -> None:
    first = discord_fake.send_message(DM_CHANNEL, MEMBER, "once")
    discord_fake.replay_message(first)
    discord_fake.send_message(DM_CHANNEL, MEMBER, "twice")
    await discord_fake.wait_for(_answers(discord_fake, DM_CHANNEL, "echo: twice"))
    await discord_fake.wait_for(_answers(discord_fake, DM_CHANNEL, "echo: once"))
    assert sorted(_user_turns(r)[-1] for r in model_fake.requests) == ["once", "twice"]


async def test_model_failure_gets_a_short_friendly_reply(bot, discord_fake: FakeDiscord, model_fake) -> None:
    model_fake.script(Fail(500, {"error": {"message": "boom"}}))
    discord_fake.send_message(DM_CHANNEL, MEMBER, "hello?")
    [reply] = await discord_fake.wait_for(lambda: discord_fake.bot_messages(DM_CHANNEL))
    assert reply.content.startswith("⚠️ ")
    assert "unavailable" in reply.content and "Traceback" not in reply.content


async def test_admin_ids_from_settings_count_as_admins(make_settings, discord_fake: FakeDiscord) -> None:
    async with running_bot(make_settings(admin_user_ids=f"discord:{MEMBER.id}")) as (engine, _):
        discord_fake.send_command(GENERAL, MEMBER, "forget")
        [result] = await discord_fake.wait_for(lambda: discord_fake.bot_messages(0))
    assert result.content.startswith("Forgotten") and result.ephemeral
