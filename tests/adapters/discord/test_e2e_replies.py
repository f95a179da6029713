"""End to end: how answers reach Discord – splitting, edits under 429, no pings, intents,
and how ``start()`` fails."""

from __future__ import annotations

import socket
import time

import discord
import pytest

from adapters.discord.errors import DiscordUnavailable
from core.errors import ConfigurationError
from tests.adapters.discord.conftest import running_bot
from tests.fakes.discord_server import BOT, DM_CHANNEL, GENERAL, MEMBER, FakeDiscord
from tests.fakes.openai_server import Answer

pytestmark = pytest.mark.e2e

# Seconds between a streamed answer's chunks, so that they arrive in separate reads:
# the chat client passes on what one read brings as one delta.
_WRITING = 0.05

_PRIVILEGED = discord.Intents(members=True, presences=True, message_content=True).value


def _long_answer() -> str:
    prose = " ".join(f"word{i}" for i in range(250))  # ~2,100 characters on one line
    code = "```python\n" + "\n".join(f"print('line {i}')" for i in range(60)) + "\n```"
    return f"{prose}\n\n{code}\n\nThe end."


async def _ask_in_dm(fake: FakeDiscord, text: str = "question") -> None:
    fake.send_message(DM_CHANNEL, MEMBER, text)


async def test_long_answer_is_split_under_2000_with_code_blocks_intact(
    bot, discord_fake: FakeDiscord, model_fake
) -> None:
    answer = _long_answer()
    model_fake.script(Answer(answer, chunk_size=200))
    await _ask_in_dm(discord_fake)
    sent = await discord_fake.wait_for(
        lambda: (ms := discord_fake.bot_messages(DM_CHANNEL)) and ms[-1].content.endswith("The end.") and ms
    )
    assert len(sent) >= 2
    assert all(len(m.content) <= 2000 for m in sent)
    assert all(m.content.count("```") % 2 == 0 for m in sent)
    code = answer[answer.index("```") : answer.rindex("```") + 3]
    assert any(code in m.content for m in sent)
    assert " ".join(m.content for m in sent).split() == answer.split()


@pytest.mark.parametrize("via_header", [True, False], ids=["discord.py-retries", "adapter-backs-off"])
async def test_429_on_an_edit_waits_retry_after_then_shows_the_answer(
    bot, discord_fake: FakeDiscord, model_fake, via_header: bool
) -> None:
    model_fake.script(Answer("a streamed answer in several chunks", chunk_size=4, chunk_delay=_WRITING))
    discord_fake.rate_limit_edits(1, retry_after=0.5, via_header=via_header)
    await _ask_in_dm(discord_fake)
    await discord_fake.wait_for(
        lambda: [m for m in discord_fake.bot_messages(DM_CHANNEL) if m.content == "a streamed answer in several chunks"]
    )
    edits = discord_fake.rest("PATCH", f"/channels/{DM_CHANNEL}/messages/")
    # The refused edit, then nothing until Retry-After is over.
    assert len(edits) >= 2
    assert edits[1].at - edits[0].at >= 0.5


async def test_edits_are_paced_by_the_interval(make_settings, discord_fake: FakeDiscord, model_fake) -> None:
    model_fake.script(Answer("0123456789" * 10, chunk_size=10, chunk_delay=_WRITING))
    async with running_bot(make_settings(), edit_interval=1.0):
        await _ask_in_dm(discord_fake)
        await discord_fake.wait_for(lambda: [m for m in discord_fake.bot_messages(DM_CHANNEL) if m.content == "0123456789" * 10])
    create = discord_fake.rest("POST", f"/channels/{DM_CHANNEL}/messages")[0]
    edits = discord_fake.rest("PATCH", f"/channels/{DM_CHANNEL}/messages/")
    assert len(edits) == 1 and edits[0].at - create.at >= 1.0


async def test_model_output_never_pings_anyone(bot, discord_fake: FakeDiscord, model_fake) -> None:
    model_fake.script(Answer(f"@everyone @here <@{MEMBER.id}> <@&510> look!", chunk_size=6, chunk_delay=_WRITING))
    discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> ping them", mentions=(BOT,))
    [message] = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.bot_messages(GENERAL) if m.content.endswith("look!")]
    )
    # Edits omit replied_user: it only matters when the reply is created.
    allowed = [p["allowed_mentions"] for p in message.payloads]
    assert len(allowed) >= 2 and allowed[0] == {"parse": [], "replied_user": False}
    assert all(a["parse"] == [] and not {"users", "roles"} & set(a) for a in allowed)


async def test_no_privileged_intent_is_requested(bot, discord_fake: FakeDiscord) -> None:
    assert discord_fake.intents == discord.Intents.default().value
    assert discord_fake.intents & _PRIVILEGED == 0


async def test_sharded_client_when_shard_count_is_set(make_settings, discord_fake: FakeDiscord) -> None:
    async with running_bot(make_settings(discord_shard_count=1)) as (_, adapter):
        assert isinstance(adapter.client, discord.AutoShardedClient)
        await _ask_in_dm(discord_fake, "sharded")
        await discord_fake.wait_for(lambda: [m for m in discord_fake.bot_messages(DM_CHANNEL) if m.content == "echo: sharded"])
    assert discord_fake.identifies[-1]["shard"] == [0, 1]


async def test_bad_token_fails_start_clearly(make_settings) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match="DISCORD_TOKEN"):
        async with running_bot(make_settings(discord_token="wrong-token")):
            pass
    assert time.monotonic() - started < 5


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("which", ["discord_api_url", "discord_gateway_url"])
async def test_unreachable_discord_fails_start_clearly(make_settings, which: str) -> None:
    scheme = "http" if which == "discord_api_url" else "ws"
    settings = make_settings(**{which: f"{scheme}://127.0.0.1:{_closed_port()}/"})
    started = time.monotonic()
    with pytest.raises(DiscordUnavailable, match="127.0.0.1"):
        async with running_bot(settings):
            pass
    assert time.monotonic() - started < 5


async def test_no_ready_in_time_fails_start_after_the_connect_timeout(make_settings, discord_fake: FakeDiscord) -> None:
    discord_fake.withhold_ready = True
    with pytest.raises(DiscordUnavailable, match="did not get ready within"):
        async with running_bot(make_settings(), connect_timeout=0.5):
            pass
    assert discord_fake.identifies  # it got as far as IDENTIFY


async def test_a_part_failing_to_send_is_retried_and_no_part_is_sent_twice(
    bot, discord_fake: FakeDiscord, model_fake
) -> None:
    answer = "\n\n".join(f"paragraph {n}: " + "x" * 1500 for n in range(4))  # four messages
    model_fake.script(Answer(answer, chunk_size=400, chunk_delay=_WRITING))
    # The preview and the second part get through; the third fails twice, then works.
    discord_fake.fail_sends(2, after=2)
    await _ask_in_dm(discord_fake)
    sent = await discord_fake.wait_for(
        lambda: (ms := discord_fake.bot_messages(DM_CHANNEL)) and ms[-1].content.startswith("paragraph 3") and ms
    )
    contents = [m.content for m in sent]
    assert contents == [f"paragraph {n}: " + "x" * 1500 for n in range(4)]
