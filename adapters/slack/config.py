"""What the Slack adapter needs to know, as one frozen value (adapters never read settings)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.access import EVERYONE, AccessPolicy

__all__ = ["SlackConfig", "DEFAULT_API_URL"]

DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """Tokens are kept out of ``repr`` so that logging a config never shows them."""

    bot_token: str = field(repr=False)
    signing_secret: str = field(default="", repr=False)
    # Set: Socket Mode. Unset: HTTP mode at ``POST /slack/events``.
    app_token: str = field(default="", repr=False)
    api_url: str = DEFAULT_API_URL
    reply_in_thread: bool = True
    ignore_other_bots: bool = True
    # Stream answers in threads with chat.startStream/appendStream/stopStream.
    native_streaming: bool = False
    # Slack user ids that count as admins besides workspace admins and owners.
    admin_user_ids: frozenset[str] = frozenset()
    # Who may talk to the bot (core/access.py); everyone by default.
    access: AccessPolicy = EVERYONE
    # About one chat.update per second per message is what Slack tolerates.
    edit_interval: float = 1.0
    # Admin status changes rarely; a minute keeps users.info calls low and revocations prompt.
    admin_cache_seconds: float = 60.0
    # On stop, answers in flight get this long to finish; the rest resume at next start.
    shutdown_grace: float = 20.0
    # 👍/👎 under each finished answer (Slack's feedback buttons).
    feedback: bool = True
    # The status line's loading messages where the persona has none; empty: chatwright's own.
    loading_messages: tuple[str, ...] = ()

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)
