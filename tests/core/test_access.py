"""The access policy's rules, its description for doctor, and the refusal notices."""

from __future__ import annotations

from typing import Any

import pytest

from bots.access_policy import access_policy
from bots.settings import Settings
from core.access import (
    BLOCKED, CHANNEL_NOT_ALLOWED, DMS_OFF, EVERYONE, USER_NOT_ALLOWED, AccessPolicy, RefusalNotices,
)
from core.types import CommandRequest, ConversationRef, IncomingMessage


def message(user: str = "U1", *, platform: str = "slack", channel: str = "C1", **extra: Any) -> IncomingMessage:
    return IncomingMessage(ConversationRef(platform, "T1", channel), user, user, "hi", **extra)


def policy(**lists: Any) -> AccessPolicy:
    values = {name: frozenset(ids) if not isinstance(ids, bool) else ids for name, ids in lists.items()}
    return AccessPolicy(**values)


def test_everyone_by_default() -> None:
    assert EVERYONE.decide(message()).allowed
    assert EVERYONE.decide(message(is_dm=True)).allowed


def test_blocked_user_is_refused_and_others_are_not() -> None:
    rules = policy(blocked_users={"slack:U9"})
    assert rules.decide(message("U9")).reason == BLOCKED
    assert rules.decide(message("U1")).allowed
    # Ids are platform-qualified: the same id on Discord is someone else.
    assert rules.decide(message("U9", platform="discord")).allowed


def test_allowed_users_only() -> None:
    rules = policy(allowed_users={"slack:U1", "discord:42"})
    assert rules.decide(message("U1")).allowed
    assert rules.decide(message("42", platform="discord")).allowed
    assert rules.decide(message("U2")).reason == USER_NOT_ALLOWED


def test_a_listed_role_lets_its_members_in() -> None:
    rules = policy(allowed_roles={"discord:7"})
    assert rules.decide(message("1", platform="discord", role_ids=("3", "7"))).allowed
    assert rules.decide(message("1", platform="discord", role_ids=("3",))).reason == USER_NOT_ALLOWED
    # A list restricts every platform: a Slack user has no Discord role.
    assert rules.decide(message("U1")).reason == USER_NOT_ALLOWED


def test_allowed_channels_include_their_threads() -> None:
    rules = policy(allowed_channels={"discord:100"})
    assert rules.decide(message("1", platform="discord", channel="100")).allowed
    assert rules.decide(message("1", platform="discord", channel="601", parent_channel="100")).allowed
    elsewhere = message("1", platform="discord", channel="601", parent_channel="200")
    assert rules.decide(elsewhere).reason == CHANNEL_NOT_ALLOWED
    assert rules.decide(message("1", platform="discord", channel="200")).reason == CHANNEL_NOT_ALLOWED


def test_dms_follow_allow_dms_not_the_channel_list() -> None:
    assert policy(allowed_channels={"slack:C1"}).decide(message(channel="D1", is_dm=True)).allowed
    assert policy(allow_dms=False).decide(message(channel="D1", is_dm=True)).reason == DMS_OFF
    assert policy(allow_dms=False).decide(message()).allowed


def test_admins_are_always_allowed() -> None:
    rules = policy(allowed_users={"slack:U1"}, blocked_users={"slack:UA"}, allowed_channels={"slack:C1"},
                   allow_dms=False, admins={"slack:UA"})
    assert rules.decide(message("UA", channel="C9")).allowed  # listed in ADMIN_USER_IDS
    assert rules.decide(message("U5", channel="D1", is_dm=True, is_admin=True)).allowed  # the platform's admin
    assert rules.decide(message("U5", channel="C9")).reason == CHANNEL_NOT_ALLOWED


def test_commands_are_decided_like_messages() -> None:
    rules = policy(blocked_users={"discord:9"})
    request = CommandRequest(ConversationRef("discord", "G", "100"), "9", "nine", "forget")
    assert rules.decide(request).reason == BLOCKED


def test_describe_everyone() -> None:
    assert EVERYONE.describe() == ["everyone may talk to it, in every channel and in DMs"]


def test_describe_a_policy_line_by_line() -> None:
    rules = policy(allowed_users={"slack:U1", "discord:2"}, blocked_users={"slack:U9"},
                   allowed_channels={"slack:C1"}, allowed_roles={"discord:7"}, allow_dms=False, admins={"slack:UA"})
    assert rules.describe() == [
        "users: only 2 in ALLOWED_USER_IDS (discord 1, slack 1) and members of 1 in ALLOWED_ROLE_IDS (discord 1)",
        "blocked: 1 in BLOCKED_USER_IDS (slack 1)",
        "channels: only 1 in ALLOWED_CHANNEL_IDS (slack 1), and threads in them",
        "DMs: off (ALLOW_DMS=false)",
        "admins, always allowed: 1 in ADMIN_USER_IDS (slack 1), and each platform's own admins",
    ]


def test_policy_from_settings() -> None:
    settings = Settings(_env_file=None,  # type: ignore[call-arg]
                        allowed_user_ids="slack:U1,discord:2", blocked_user_ids="slack:U9", allowed_channel_ids="discord:100", allowed_role_ids="discord:7", allow_dms=False,
                        admin_user_ids="slack:UA")
    assert access_policy(settings) == AccessPolicy(
        allowed_users=frozenset({"slack:U1", "discord:2"}), blocked_users=frozenset({"slack:U9"}),
        allowed_channels=frozenset({"discord:100"}), allowed_roles=frozenset({"discord:7"}), allow_dms=False,
        admins=frozenset({"slack:UA"}))


# -- refusal notices ---------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_user_is_told_once_an_hour() -> None:
    clock = Clock()
    notices = RefusalNotices(clock=clock)
    assert notices.due("slack:U1")
    clock.now = 3599
    assert not notices.due("slack:U1")
    assert notices.due("slack:U2")  # each user for themselves
    clock.now = 3600
    assert notices.due("slack:U1")


def test_notices_forget_expired_users() -> None:
    clock = Clock()
    notices = RefusalNotices(every=10, clock=clock)
    for n in range(100):
        notices.due(f"discord:{n}")
    clock.now = 10
    notices.due("discord:new")
    assert len(notices) == 1


def test_notices_memory_is_capped_oldest_first() -> None:
    clock = Clock()
    notices = RefusalNotices(cap=3, clock=clock)
    for user in ("a", "b", "c", "d"):
        clock.now += 1
        assert notices.due(user)
    assert len(notices) == 3
    assert notices.due("a")  # forgotten first: told again
    assert not notices.due("d")


def test_notices_need_room_for_one() -> None:
    with pytest.raises(ValueError):
        RefusalNotices(cap=0)
