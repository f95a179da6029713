"""A channel's daily budgets: in tokens (CHANNEL_DAILY_TOKEN_BUDGET) and in money
(CHANNEL_DAILY_BUDGET_USD, at the configured prices). 0 is no limit.

Checked before an answer, against what the channel used today: the answer that crosses
a budget is finished, and the next question is refused until midnight UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import DailyBudgetExceeded, DailySpendExceeded
from core.types import Usage

__all__ = ["DailyBudgets"]


@dataclass(frozen=True, slots=True)
class DailyBudgets:
    tokens: int = 0
    usd: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.tokens or self.usd)

    def check(self, channel: str, today: Usage) -> None:
        """Raise if ``today``'s use has reached a budget."""
        if self.tokens and today.total_tokens >= self.tokens:
            raise DailyBudgetExceeded(f"channel {channel} used {today.total_tokens} tokens today")
        if self.usd and today.cost_usd >= self.usd:
            raise DailySpendExceeded(f"channel {channel} spent ${today.cost_usd:.4f} today")
