"""The access policy at the adapters' door, once for every platform.

``AccessGate`` is what the pipeline (``accept``) and the command runner ask before
anything reaches the engine: it decides with the policy (``core/access.py``), counts a
refusal (``ACCESS_REFUSED``) and logs it for the operator, and keeps the refusal notices
(whether the polite line is due for that user now).
"""

from __future__ import annotations

import logging

from core import metrics
from core.access import EVERYONE, AccessPolicy, Asker, RefusalNotices, qualified

__all__ = ["AccessGate"]

log = logging.getLogger(__name__)


class AccessGate:
    __slots__ = ("policy", "_platform", "_notices")

    def __init__(self, platform: str, policy: AccessPolicy = EVERYONE, notices: RefusalNotices | None = None) -> None:
        self.policy = policy
        self._platform = platform
        self._notices = notices or RefusalNotices()

    def refused(self, asker: Asker, what: str) -> bool:
        """True when ``asker`` may not talk to the bot (counted and logged, once per call).
        ``what``: the message or command, for the log line."""
        decision = self.policy.decide(asker)
        if decision.allowed:
            return False
        metrics.ACCESS_REFUSED.labels(self._platform, decision.reason).inc()
        log.info("%s: %s from user %s in %s not answered: %s (access policy)", self._platform, what,
                 asker.user_id, asker.conversation.channel, decision.reason)
        return True

    def notice_due(self, asker: Asker) -> bool:
        """Whether the refused ``asker`` gets the polite line now (once an hour at most)."""
        return self._notices.due(qualified(self._platform, asker.user_id))
