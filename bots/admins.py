"""Admins from ``ADMIN_USER_IDS``, in addition to each platform's own notion of admin."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["listed_admins"]


def listed_admins(admin_user_ids: Iterable[str], platform: str) -> frozenset[str]:
    """The user ids listed for one platform: ``slack:U1,discord:2`` → ``{"U1"}`` for slack."""
    prefix = f"{platform}:"
    return frozenset(entry[len(prefix):] for entry in admin_user_ids if entry.startswith(prefix))
