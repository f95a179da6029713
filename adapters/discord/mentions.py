"""Mentions as the model should read them: ``<@123>`` becomes ``@Name``.

The model cannot know who ``<@123>`` is; people in the channel see a name, and so should
it. Users are named by ``names`` (ids the caller already resolved, e.g. authors of a
reply chain), else the server's member cache, else the mention as Discord sent it with
the message; roles and channels by the server's cache. What cannot be resolved keeps a
neutral name rather than an id. ``@everyone``/``@here`` stay text: nothing here is sent
back to Discord, and answers never ping anyway (``AllowedMentions.none()``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["readable_mentions"]

_MENTION = re.compile(r"<(@!?|@&|#)(\d+)>")


def readable_mentions(text: str, message: Any, names: Mapping[int, str] | None = None) -> str:
    """``text`` (from ``message``) with user, role and channel mentions as names."""
    known = names or {}

    def name(match: re.Match[str]) -> str:
        kind, id_ = match.group(1), int(match.group(2))
        if kind == "@&":
            return f"@{_role_name(message, id_)}"
        if kind == "#":
            return f"#{_channel_name(message, id_)}"
        return f"@{known.get(id_) or _user_name(message, id_)}"

    return _MENTION.sub(name, text)


def _user_name(message: Any, user_id: int) -> str:
    member = _from_guild(message, "get_member", user_id)
    if member is None:
        member = next((u for u in getattr(message, "mentions", None) or () if getattr(u, "id", None) == user_id), None)
    name = getattr(member, "display_name", None)
    return name if isinstance(name, str) and name else "someone"


def _role_name(message: Any, role_id: int) -> str:
    role = _from_guild(message, "get_role", role_id)
    return getattr(role, "name", None) or "a role"


def _channel_name(message: Any, channel_id: int) -> str:
    channel = _from_guild(message, "get_channel_or_thread", channel_id)
    return getattr(channel, "name", None) or "a channel"


def _from_guild(message: Any, getter: str, id_: int) -> Any:
    """The server's cached member, role or channel; None outside a server or when unknown."""
    get = getattr(getattr(message, "guild", None), getter, None)
    return get(id_) if callable(get) else None
