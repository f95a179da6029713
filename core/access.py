"""Who may talk to the bot: the access policy, and when a refused user is told so.

``AccessPolicy`` is built from five lists of platform-qualified ids (``slack:U1``,
``discord:123``) and ``allow_dms``; ``decide`` says whether one message or command is
answered. The rules, in order:

1. Admins are always allowed: the platform's own admins (``is_admin``) and the ids in
   ``admins`` (ADMIN_USER_IDS), even when listed as blocked.
2. A blocked user is refused (``blocked``).
3. A DM is allowed when DMs are (``dms_off``); the channel list does not apply to DMs.
4. Elsewhere, when channels are listed, the channel or the channel a thread belongs to
   (``parent_channel``) must be one of them (``channel_not_allowed``).
5. When users or roles are listed, the user must be listed or have a listed role
   (``user_not_allowed``).

An empty list restricts nothing; a list that is set restricts every platform (list the
ids of each platform you run: a Slack user has no Discord role).

``RefusalNotices`` decides whether a refused user gets the polite line now: at most once
per user per hour, with a bounded memory (oldest forgotten first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.types import CommandRequest, IncomingMessage

__all__ = [
    "BLOCKED", "CHANNEL_NOT_ALLOWED", "DMS_OFF", "USER_NOT_ALLOWED", "REFUSED_TEXT", "EVERYONE",
    "AccessPolicy", "Asker", "Decision", "RefusalNotices", "qualified",
]

# The reasons of a refusal (the ACCESS_REFUSED metric's ``reason`` label).
BLOCKED = "blocked"
USER_NOT_ALLOWED = "user_not_allowed"
CHANNEL_NOT_ALLOWED = "channel_not_allowed"
DMS_OFF = "dms_off"

# The one line a refused user sees (never why: a blocked user is not told so).
REFUSED_TEXT = "Sorry, I can't answer you here. If you think I should, please ask an admin of this bot."

Asker = IncomingMessage | CommandRequest


def qualified(platform: str, entity_id: str) -> str:
    """``slack``, ``U1`` → ``slack:U1``: how ids are written in the settings."""
    return f"{platform}:{entity_id}"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""  # one of the reasons above when refused


_ALLOWED = Decision(True)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """The five access settings (and ADMIN_USER_IDS), as platform-qualified ids."""

    allowed_users: frozenset[str] = frozenset()
    blocked_users: frozenset[str] = frozenset()
    allowed_channels: frozenset[str] = frozenset()
    allowed_roles: frozenset[str] = frozenset()
    allow_dms: bool = True
    admins: frozenset[str] = frozenset()

    @property
    def open(self) -> bool:
        """Whether it lets everyone in everywhere (nothing to check)."""
        return self.allow_dms and not (
            self.allowed_users or self.blocked_users or self.allowed_channels or self.allowed_roles)

    def decide(self, asker: Asker) -> Decision:
        platform = asker.conversation.platform
        user = qualified(platform, asker.user_id)
        if self.open or asker.is_admin or user in self.admins:
            return _ALLOWED
        if user in self.blocked_users:
            return Decision(False, BLOCKED)
        where = self._where_refused(asker, platform)
        if where:
            return Decision(False, where)
        if (self.allowed_users or self.allowed_roles) and not self._listed(asker, user, platform):
            return Decision(False, USER_NOT_ALLOWED)
        return _ALLOWED

    def _where_refused(self, asker: Asker, platform: str) -> str:
        if asker.is_dm:
            return "" if self.allow_dms else DMS_OFF
        if not self.allowed_channels:
            return ""
        channels = (asker.conversation.channel, asker.parent_channel)
        if any(c and qualified(platform, c) in self.allowed_channels for c in channels):
            return ""
        return CHANNEL_NOT_ALLOWED

    def _listed(self, asker: Asker, user: str, platform: str) -> bool:
        return user in self.allowed_users or any(
            qualified(platform, role) in self.allowed_roles for role in asker.role_ids)

    def describe(self) -> list[str]:
        """The policy in a few lines for an operator (``chatwright doctor``)."""
        if self.open:
            lines = ["everyone may talk to it, in every channel and in DMs"]
        else:
            lines = [self._users_line()]
            if self.blocked_users:
                lines.append(f"blocked: {_listed(self.blocked_users, 'BLOCKED_USER_IDS')}")
            lines.append("channels: every channel" if not self.allowed_channels else
                         f"channels: only {_listed(self.allowed_channels, 'ALLOWED_CHANNEL_IDS')}, and threads in them")
            lines.append("DMs: allowed" if self.allow_dms else "DMs: off (ALLOW_DMS=false)")
        if self.admins:
            lines.append(f"admins, always allowed: {_listed(self.admins, 'ADMIN_USER_IDS')}, "
                         "and each platform's own admins")
        return lines

    def _users_line(self) -> str:
        if not (self.allowed_users or self.allowed_roles):
            return "users: everyone"
        listed = [_listed(self.allowed_users, "ALLOWED_USER_IDS")] if self.allowed_users else []
        if self.allowed_roles:
            listed.append(f"members of {_listed(self.allowed_roles, 'ALLOWED_ROLE_IDS')}")
        return "users: only " + " and ".join(listed)


def _listed(ids: Iterable[str], setting: str) -> str:
    """``2 in ALLOWED_USER_IDS (discord 1, slack 1)``: how many, and of which platform."""
    per: dict[str, int] = {}
    for entry in ids:
        platform = entry.partition(":")[0] if ":" in entry else "no platform"
        per[platform] = per.get(platform, 0) + 1
    counts = ", ".join(f"{name} {n}" for name, n in sorted(per.items()))
    return f"{sum(per.values())} in {setting} ({counts})"


EVERYONE = AccessPolicy()

# How often one user may be told they are refused, and how many users are remembered.
_NOTICE_EVERY_SECONDS = 3600.0
_NOTICES_REMEMBERED = 10_000


class RefusalNotices:
    """Whether a refused user gets the polite line now: once per ``every`` seconds each.

    Memory is bounded: entries older than ``every`` are dropped, and beyond ``cap`` users
    the oldest is forgotten (that user may then be told once more within the hour, which
    is better than memory that a flood of ids could grow). One process's memory: a
    restart, or another replica, may tell a user once more.
    """

    __slots__ = ("_every", "_cap", "_clock", "_told")

    def __init__(self, *, every: float = _NOTICE_EVERY_SECONDS, cap: int = _NOTICES_REMEMBERED,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self._every = every
        self._cap = cap
        self._clock = clock
        self._told: OrderedDict[str, float] = OrderedDict()  # oldest first

    def due(self, user: str) -> bool:
        """True (and remembered) when ``user`` was not told within the period."""
        now = self._clock()
        self._expire(now)
        if user in self._told:
            return False
        self._told[user] = now
        if len(self._told) > self._cap:
            self._told.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._told)

    def _expire(self, now: float) -> None:
        while self._told:
            user, told_at = next(iter(self._told.items()))
            if now - told_at < self._every:
                return
            del self._told[user]
