"""Settings → the access policy (``core/access.py``), for the adapters' wiring and ``doctor``."""

from __future__ import annotations

from bots.settings import Settings
from core.access import AccessPolicy

__all__ = ["access_policy"]


def access_policy(settings: Settings) -> AccessPolicy:
    """ALLOWED_USER_IDS, BLOCKED_USER_IDS, ALLOWED_CHANNEL_IDS, ALLOWED_ROLE_IDS, ALLOW_DMS
    and ADMIN_USER_IDS (admins are always allowed), as written: platform-qualified ids."""
    return AccessPolicy(
        allowed_users=frozenset(settings.allowed_user_ids),
        blocked_users=frozenset(settings.blocked_user_ids),
        allowed_channels=frozenset(settings.allowed_channel_ids),
        allowed_roles=frozenset(settings.allowed_role_ids),
        allow_dms=settings.allow_dms,
        admins=frozenset(settings.admin_user_ids),
    )
