"""Unit tests of the Discord adapter's small pure parts."""

from __future__ import annotations


import discord
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.client import build_client, chatwright_intents
from adapters.discord.commands import command_request
from adapters.discord.config import DiscordConfig
from adapters.discord.endpoints import use_endpoints
from adapters.discord.errors import DiscordUnavailable, startup_error
from adapters.discord.permissions import is_admin
from adapters.discord.replies import NO_MENTIONS, preview
from core.commands import Arguments
from core.errors import ConfigurationError


def test_preview_cuts_at_the_limit_with_an_ellipsis() -> None:
    assert preview("short") == "short"
    cut = preview("x" * 2500)
    assert len(cut) <= 2000 and cut.endswith("…")


def test_no_mentions_is_discords_none() -> None:
    # discord.py adds replied_user=False when it sends a reply with this.
    assert NO_MENTIONS.to_dict() == {"parse": []}


def test_is_admin() -> None:
    assert is_admin(1, discord.Permissions(manage_guild=True), frozenset())
    assert is_admin(1, discord.Permissions(administrator=True), frozenset())
    assert not is_admin(1, discord.Permissions(send_messages=True), frozenset())
    assert not is_admin(1, None, frozenset())
    assert is_admin(1, None, frozenset({"1"}))


def test_command_request_in_a_server_and_in_a_dm() -> None:
    common = {"name": "persona", "arguments": Arguments("show"), "user_id": 7, "user_name": "A", "admin_ids": frozenset()}
    in_guild = command_request(guild_id=5, channel_id=6, permissions=discord.Permissions(manage_guild=True), **common)
    assert (in_guild.conversation.workspace, in_guild.is_dm, in_guild.is_admin) == ("5", False, True)
    in_dm = command_request(guild_id=None, channel_id=8, permissions=discord.Permissions.all(), **common)
    # In a DM the permissions Discord reports mean nothing; core lets users change their own DM.
    assert (in_dm.conversation.workspace, in_dm.is_dm, in_dm.is_admin) == ("", True, False)


def test_intents_have_nothing_privileged() -> None:
    intents = chatwright_intents()
    assert not (intents.message_content or intents.members or intents.presences)


def test_endpoints_override_and_restore() -> None:
    try:
        use_endpoints("http://proxy.local/api/v10/", "ws://proxy.local/gw")
        assert Route("GET", "/users/@me").url == "http://proxy.local/api/v10/users/@me"
        assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "ws://proxy.local/gw"
    finally:
        use_endpoints(None, None)
    assert Route.BASE == "https://discord.com/api/v10"
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


async def test_build_client_plain_or_sharded() -> None:
    # Neither logs in, so neither holds a connection to close.
    plain = build_client(DiscordConfig(token="t"))
    sharded = build_client(DiscordConfig(token="t", shard_count=2))
    assert not isinstance(plain, discord.AutoShardedClient)
    assert isinstance(sharded, discord.AutoShardedClient) and sharded.shard_count == 2
    assert plain.allowed_mentions is not None and plain.allowed_mentions.to_dict()["parse"] == []


def test_startup_errors_are_clear() -> None:
    assert isinstance(startup_error(discord.LoginFailure("bad"), "api", "gw"), ConfigurationError)
    assert isinstance(startup_error(discord.PrivilegedIntentsRequired(None), "api", "gw"), ConfigurationError)
    unreachable = startup_error(ConnectionRefusedError("refused"), "http://x", "ws://y")
    assert isinstance(unreachable, DiscordUnavailable) and "http://x" in unreachable.user_message()
