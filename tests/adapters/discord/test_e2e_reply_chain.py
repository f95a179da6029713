"""End to end: the reply chain a question continues, read from Discord with names."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord.reply_chain import ReplyChain
from core.types import ConversationRef, IncomingMessage
from tests.fakes.discord_server import ADMIN, BOT, CAROL, GENERAL, GUILD_ID, MEMBER, FakeDiscord
from tests.fakes.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.e2e


def _three_people_talk(fake: FakeDiscord) -> int:
    """Alice, Bob and Carol reply to one another; Bob's last word is not addressed to the
    bot (so Discord withholds it). Returns the id of the last message."""
    first = fake.add_history(GENERAL, ADMIN, f"<@{BOT.id}> the deploy failed, <@{MEMBER.id}> <@{CAROL.id}> any idea?",
                             mentions=(BOT, MEMBER, CAROL))
    second = fake.add_history(GENERAL, MEMBER, f"<@{BOT.id}> the disk is full", mentions=(BOT,), reply_to=first)
    third = fake.add_history(GENERAL, CAROL, f"<@{BOT.id}> I cleaned it up", mentions=(BOT,), reply_to=second)
    return fake.add_history(GENERAL, MEMBER, "thanks", reply_to=third)


def _question(event_id: int) -> IncomingMessage:
    return IncomingMessage(ConversationRef("discord", str(GUILD_ID), str(GENERAL)), str(ADMIN.id),
                           ADMIN.name, "summarise this", event_id=str(event_id))


async def test_the_chain_comes_oldest_first_with_member_names_and_unreadable_messages_left_out(
    bot, discord_fake: FakeDiscord
) -> None:
    _, adapter = bot
    last = _three_people_talk(discord_fake)
    asked = discord_fake.add_history(GENERAL, ADMIN, f"<@{BOT.id}> summarise this", mentions=(BOT,), reply_to=last)

    earlier = await ReplyChain(lambda: adapter.client).earlier(_question(asked), 50)

    assert [(m.author_name, m.text) for m in earlier] == [
        ("alice-admin", "@chatwright the deploy failed, @bob-member @Carol (ops) any idea?"),
        ("bob-member", "@chatwright the disk is full"),
        ("Carol (ops)", "@chatwright I cleaned it up"),  # her server nickname, asked for once
    ]
    assert [m.author_id for m in earlier] == [str(ADMIN.id), str(MEMBER.id), str(CAROL.id)]
    assert not any(m.from_bot for m in earlier)
    assert len(discord_fake.rest("GET", f"/guilds/{GUILD_ID}/members/{CAROL.id}")) == 1


async def test_the_chain_is_bounded_and_the_bots_own_answers_are_from_the_bot(
    bot, discord_fake: FakeDiscord
) -> None:
    _, adapter = bot
    asked = discord_fake.add_history(GENERAL, MEMBER, f"<@{BOT.id}> what is a lease?", mentions=(BOT,))
    channel = adapter.client.get_channel(GENERAL)
    answer = await channel.send("A time-bound claim.", reference=channel.get_partial_message(asked))
    follow_up = discord_fake.add_history(GENERAL, CAROL, f"<@{BOT.id}> how long?", mentions=(BOT,),
                                         reply_to=answer.id)
    question = discord_fake.add_history(GENERAL, MEMBER, f"<@{BOT.id}> and then?", mentions=(BOT,),
                                        reply_to=follow_up)
    source = ReplyChain(lambda: adapter.client)

    everything = await source.earlier(_question(question), 50)
    assert [(m.author_name, m.from_bot) for m in everything] == [
        ("bob-member", False), ("chatwright", True), ("Carol (ops)", False)]

    fetched_before = len(discord_fake.rest("GET", f"/channels/{GENERAL}/messages/"))
    newest_two = await source.earlier(_question(question), 2)
    assert [m.text for m in newest_two] == ["A time-bound claim.", "@chatwright how long?"]
    # The question itself, then no more than the two asked for.
    assert len(discord_fake.rest("GET", f"/channels/{GENERAL}/messages/")) - fetched_before <= 3


async def test_a_message_that_replies_to_nothing_has_no_chain(bot, discord_fake: FakeDiscord) -> None:
    _, adapter = bot
    asked = discord_fake.add_history(GENERAL, ADMIN, f"<@{BOT.id}> hello", mentions=(BOT,))
    assert await ReplyChain(lambda: adapter.client).earlier(_question(asked), 50) == []
    # Not a message at all (a message command's interaction): nothing to follow, no error.
    assert await ReplyChain(lambda: adapter.client).earlier(_question(123456789), 50) == []


def _said(message: dict[str, Any]) -> str:
    """What one request message says, with its speaker's name however the engine puts it."""
    content = message.get("content") or ""
    if not isinstance(content, str):
        content = " ".join(part.get("text", "") for part in content)
    return f"{message.get('name', '')} {content}"


async def test_a_reply_chain_of_three_people_reaches_the_model_with_names_in_order(
    bot, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    last = _three_people_talk(discord_fake)
    discord_fake.send_message(GENERAL, ADMIN, f"<@{BOT.id}> summarise this", mentions=(BOT,), reply_to=last)
    [request] = await discord_fake.wait_for(lambda: model_fake.requests)

    said = [_said(m) for m in request["messages"]]
    order = []
    for speaker, text in [("alice", "the deploy failed"), ("bob", "the disk is full"),
                          ("carol", "I cleaned it up"), ("alice", "summarise this")]:
        [index] = [i for i, s in enumerate(said) if text in s]
        assert speaker in said[index].lower(), said[index]
        order.append(index)
    assert order == sorted(order)
    assert "@bob-member @Carol (ops) any idea?" in said[order[0]]
    assert not any("thanks" in s for s in said)  # withheld by Discord: left out
