"""Processes that split the shards (``DISCORD_SHARD_IDS``): each identifies with its own
shard only, and a sharded client that is closed while shards connect stops retrying."""

from __future__ import annotations

import asyncio
from pathlib import Path

import discord
import pytest
from discord.gateway import DiscordWebSocket

from adapters.discord.client import ShardedChatwrightClient, build_client
from adapters.discord.config import DiscordConfig
from adapters.discord.endpoints import use_endpoints
from bots.discord_wiring import discord_config
from tests.adapters.discord.conftest import running_bot
from tests.fakes.discord_server import DM_CHANNEL, MEMBER, FakeDiscord


@pytest.mark.e2e
async def test_two_processes_identify_with_their_own_shard_each(make_settings, discord_fake: FakeDiscord, tmp_path: Path) -> None:
    # Each "process" has its own database file here: only the gateway is under test.
    first = make_settings(discord_shard_count=2, discord_shard_ids="0", database_url=f"sqlite:///{tmp_path / 'a.db'}")
    second = make_settings(discord_shard_count=2, discord_shard_ids="1", database_url=f"sqlite:///{tmp_path / 'b.db'}")
    async with running_bot(first) as (_, one), running_bot(second) as (_, other):
        assert isinstance(one.client, discord.AutoShardedClient)
        assert (sorted(one.client.shards), sorted(other.client.shards)) == ([0], [1])
    assert sorted(identify["shard"] for identify in discord_fake.identifies) == [[0, 2], [1, 2]]


@pytest.mark.e2e
async def test_a_process_with_one_shard_of_two_answers(make_settings, discord_fake: FakeDiscord) -> None:
    async with running_bot(make_settings(discord_shard_count=2, discord_shard_ids="0")):
        discord_fake.send_message(DM_CHANNEL, MEMBER, "on shard 0")
        await discord_fake.wait_for(lambda: [m for m in discord_fake.bot_messages(DM_CHANNEL) if m.content == "echo: on shard 0"])
    assert [identify["shard"] for identify in discord_fake.identifies] == [[0, 2]]


def test_shard_ids_reach_the_client(make_settings) -> None:
    config = discord_config(make_settings(discord_shard_count=3, discord_shard_ids="2,0"))
    assert (config.shard_count, config.shard_ids) == (3, (2, 0))
    # Without the fake's URLs: build_client points discord.py (globally) at them.
    client = build_client(DiscordConfig(token="t", shard_count=3, shard_ids=config.shard_ids))
    assert isinstance(client, discord.AutoShardedClient)
    assert (client.shard_count, client.shard_ids) == (3, [2, 0])


def test_without_shard_ids_a_sharded_client_runs_all_shards() -> None:
    client = build_client(DiscordConfig(token="t", shard_count=2))
    assert isinstance(client, discord.AutoShardedClient) and client.shard_ids is None


@pytest.mark.e2e
async def test_a_closed_client_launches_no_more_shards(make_settings, discord_fake: FakeDiscord) -> None:
    # discord.py retries a failed shard forever, 5 s apart; once closed it must give up,
    # or stopping the adapter while shards still connect would never return.
    client = build_client(discord_config(make_settings(discord_shard_count=2)))
    try:
        assert isinstance(client, ShardedChatwrightClient)
        await client.login(discord_fake.token)
        await client.close()
        async with asyncio.timeout(1):
            await client.launch_shard(DiscordWebSocket.DEFAULT_GATEWAY, 1)
    finally:
        use_endpoints(None, None)
    assert client.shards == {} and discord_fake.identifies == []
