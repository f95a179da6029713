"""End to end: the "Ask chatwright" message command, and every app command offered in
servers, DMs and private channels, for server and user installs."""

from __future__ import annotations

import pytest

from adapters.discord.context_menu import ASK_CHATWRIGHT
from tests.fakes.discord_server import ADMIN, DM_CHANNEL, GENERAL, MEMBER, FakeDiscord
from tests.fakes.openai_server import Answer, FakeOpenAIServer

pytestmark = pytest.mark.e2e

_GUILD, _BOT_DM, _PRIVATE_CHANNEL = 0, 1, 2
_GUILD_INSTALL, _USER_INSTALL = 0, 1
_MESSAGE_COMMAND = 3


async def test_ask_chatwright_is_synced_as_a_message_command_and_every_command_is_offered_everywhere(
    bot, discord_fake: FakeDiscord
) -> None:
    synced = {c["name"]: c for c in discord_fake.synced_commands}
    assert synced[ASK_CHATWRIGHT]["type"] == _MESSAGE_COMMAND
    assert len(synced) > 1  # the command table's commands are there too
    for command in synced.values():
        assert sorted(command["contexts"]) == [_GUILD, _BOT_DM, _PRIVATE_CHANNEL], command["name"]
        assert sorted(command["integration_types"]) == [_GUILD_INSTALL, _USER_INSTALL], command["name"]


async def test_ask_chatwright_answers_about_the_message_in_a_reply_once(
    bot, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    # Not addressed to the bot: without the message_content intent it could not read it,
    # but the message command's target comes whole.
    target = discord_fake.add_history(GENERAL, ADMIN, f"the deploy failed, <@{MEMBER.id}> saw it", mentions=(MEMBER,))
    model_fake.script(Answer(f"It failed, @everyone <@{ADMIN.id}>"))
    interaction = discord_fake.send_message_command(GENERAL, MEMBER, target)

    [reply] = await discord_fake.wait_for(lambda: [
        m for m in discord_fake.bot_messages(GENERAL) if m.content.startswith("It failed")])
    assert reply.reference == target
    # No pings: not the author replied to, not what the model wrote.
    assert all(p["allowed_mentions"]["parse"] == [] for p in reply.payloads)
    assert reply.payloads[0]["allowed_mentions"].get("replied_user") is False

    [request] = model_fake.requests
    question = request["messages"][-1]["content"]
    question = question if isinstance(question, str) else " ".join(p.get("text", "") for p in question)
    assert "the deploy failed, @bob-member saw it" in question
    assert "alice-admin" in question  # whose message it is

    # Deferred at once, ephemerally; then pointed at the answer.
    responses = await discord_fake.wait_for(lambda: len(r := discord_fake.interaction_responses(interaction)) >= 2 and r)
    callback, edit = responses[:2]
    assert callback.body["type"] == 5 and callback.body["data"]["flags"] & 64
    assert edit.method == "PATCH" and f"/{GENERAL}/{target}" in edit.body["content"]

    # A replayed interaction (gateway resume) is not answered twice.
    discord_fake.replay_interaction(interaction)
    await discord_fake.wait_for(lambda: len(discord_fake.interaction_responses(interaction)) >= 4)
    assert len(model_fake.requests) == 1
    assert [m.id for m in discord_fake.bot_messages(GENERAL)] == [reply.id]

    # Someone else asking about the same message is a new question, answered too.
    model_fake.script(Answer("Again: it failed."))
    discord_fake.send_message_command(GENERAL, ADMIN, target)
    [again] = await discord_fake.wait_for(lambda: [
        m for m in discord_fake.bot_messages(GENERAL) if m.content == "Again: it failed."])
    assert again.reference == target and len(model_fake.requests) == 2


async def test_ask_chatwright_in_the_dm_replies_to_that_message(
    bot, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    target = discord_fake.add_history(DM_CHANNEL, MEMBER, "what is a lease?")
    model_fake.script(Answer("A lease is a time-bound claim."))
    discord_fake.send_message_command(DM_CHANNEL, MEMBER, target)
    [reply] = await discord_fake.wait_for(lambda: discord_fake.bot_messages(DM_CHANNEL))
    await discord_fake.wait_for(lambda: reply.content == "A lease is a time-bound claim.")
    assert reply.reference == target
    assert "what is a lease?" in model_fake.requests[0]["messages"][-1]["content"]


async def test_a_message_without_text_or_files_is_not_asked_about(
    bot, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    target = discord_fake.add_history(GENERAL, ADMIN, "")
    interaction = discord_fake.send_message_command(GENERAL, MEMBER, target)
    [_, edit] = await discord_fake.wait_for(lambda: len(r := discord_fake.interaction_responses(interaction)) >= 2 and r)
    assert "no text or files" in edit.body["content"]
    assert not model_fake.requests and not discord_fake.bot_messages(GENERAL)
