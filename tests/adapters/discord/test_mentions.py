"""Mentions as names for the model, on stand-ins for discord.py's objects."""

from __future__ import annotations

from types import SimpleNamespace as NS

from adapters.discord.mentions import readable_mentions

ALICE = NS(id=7, display_name="Alice")
BOB = NS(id=8, display_name="Bob (member)")


class _Guild:
    def get_member(self, user_id: int) -> NS | None:
        return BOB if user_id == BOB.id else None

    def get_role(self, role_id: int) -> NS | None:
        return NS(name="ops") if role_id == 5 else None

    def get_channel_or_thread(self, channel_id: int) -> NS | None:
        return NS(name="general") if channel_id == 6 else None


def test_users_roles_and_channels_become_names() -> None:
    message = NS(guild=_Guild(), mentions=[ALICE])
    text = "<@7> and <@!8>, ask <@&5> in <#6>"
    assert readable_mentions(text, message) == "@Alice and @Bob (member), ask @ops in #general"


def test_names_given_win_and_unknown_ones_stay_neutral() -> None:
    message = NS(guild=None, mentions=[])
    assert readable_mentions("<@7> <@9> <@&5> <#6>", message, {7: "Alice (ops)"}) == (
        "@Alice (ops) @someone @a role #a channel")


def test_text_without_mentions_is_unchanged() -> None:
    assert readable_mentions("no <@ here> @everyone", NS(guild=None, mentions=[])) == "no <@ here> @everyone"
