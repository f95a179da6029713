"""Who counts as an admin on Discord: server managers, plus ``ADMIN_USER_IDS``."""

from __future__ import annotations

from collections.abc import Set
from typing import Protocol

__all__ = ["PermissionFlags", "is_admin"]


class PermissionFlags(Protocol):
    """The two flags of ``discord.Permissions`` that make someone a chatwright admin."""

    @property
    def manage_guild(self) -> bool: ...

    @property
    def administrator(self) -> bool: ...


def is_admin(user_id: int, permissions: PermissionFlags | None, admin_ids: Set[str]) -> bool:
    """Whether the user may change a server channel's persona or memory.

    ``permissions`` are the member's resolved permissions in the channel (None outside a
    server). "Manage Server" is the same permission Discord asks for to manage integrations,
    so whoever may configure the bot in Discord may configure its persona too.
    """
    if str(user_id) in admin_ids:
        return True
    return permissions is not None and (permissions.manage_guild or permissions.administrator)
