"""``SlackNames``: names for ids, mentions as names, a bounded cache, failures as ids."""

from __future__ import annotations

import asyncio

from slack_sdk.errors import SlackApiError

from adapters.slack.names import SlackNames
from core.types import ConversationRef, IncomingMessage


class Client:
    """Just ``users_info``, counting calls; ids in ``broken`` fail."""

    def __init__(self, profiles: dict[str, dict], broken: frozenset[str] = frozenset()) -> None:
        self.profiles = profiles
        self.broken = broken
        self.calls: list[str] = []

    async def users_info(self, *, user: str) -> dict:
        self.calls.append(user)
        await asyncio.sleep(0)
        if user in self.broken:
            raise SlackApiError("user_not_found", {"ok": False, "error": "user_not_found"})
        return {"ok": True, "user": {"id": user, "name": user.lower(), "profile": self.profiles.get(user, {})}}


PROFILES = {"UADA": {"display_name": "Ada", "real_name": "Ada Lovelace"}, "UGRACE": {"real_name": "Grace Hopper"}}


async def test_display_name_then_real_name_then_handle_each_looked_up_once():
    client = Client(PROFILES)
    names = SlackNames(client)  # type: ignore[arg-type]
    found = await asyncio.gather(*(names.display_name(u) for u in ["UADA", "UGRACE", "ULIN", "UADA", "UADA"]))
    assert found == ["Ada", "Grace Hopper", "ulin", "Ada", "Ada"]
    assert sorted(client.calls) == ["UADA", "UGRACE", "ULIN"]


async def test_mentions_become_names_and_special_ones_plain_text():
    names = SlackNames(Client(PROFILES))  # type: ignore[arg-type]
    text = "<@UADA> and <@UGRACE|grace>: see <#C1|general>, <!here> <https://x.org|docs>"
    assert await names.readable(text) == "@Ada and @Grace Hopper: see #general, @here <https://x.org|docs>"


async def test_a_failed_lookup_keeps_the_id_and_is_asked_again():
    client = Client(PROFILES, broken=frozenset({"UGONE"}))
    names = SlackNames(client)  # type: ignore[arg-type]
    assert await names.display_name("UGONE") == "UGONE"
    assert await names.display_name("UGONE") == "UGONE"
    assert client.calls == ["UGONE", "UGONE"]
    assert await names.display_name("BBOT1") == "BBOT1" and "BBOT1" not in client.calls


async def test_the_cache_is_bounded_and_names_expire():
    now = [0.0]
    client = Client(PROFILES)
    names = SlackNames(client, size=1, ttl=10, clock=lambda: now[0])  # type: ignore[arg-type]
    await names.display_name("UADA")
    await names.display_name("UGRACE")  # pushes Ada out
    await names.display_name("UGRACE")
    await names.display_name("UADA")
    assert client.calls == ["UADA", "UGRACE", "UADA"]
    now[0] = 11
    await names.display_name("UADA")
    assert client.calls[-1] == "UADA" and len(client.calls) == 4


async def test_a_message_gets_its_authors_name_and_readable_text():
    names = SlackNames(Client(PROFILES))  # type: ignore[arg-type]
    message = IncomingMessage(ConversationRef("slack", "T1", "C1", "1.0"), "UGRACE", "UGRACE", "ask <@UADA>")
    named = await names.named(message)
    assert (named.user_name, named.text, named.user_id) == ("Grace Hopper", "ask @Ada", "UGRACE")
