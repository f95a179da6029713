"""A channel's daily budgets in tokens and in money (core/budgets.py)."""

from __future__ import annotations

import pytest

from core.budgets import DailyBudgets
from core.errors import DailyBudgetExceeded, DailySpendExceeded
from core.types import Usage


def test_no_budget_refuses_nothing() -> None:
    assert not DailyBudgets()
    DailyBudgets().check("C1", Usage(10**9, 10**9, cost_usd=10**6))


def test_the_money_budget_refuses_once_reached_with_its_own_message() -> None:
    budgets = DailyBudgets(usd=5.0)
    budgets.check("C1", Usage(10**6, 0, cost_usd=4.99))
    with pytest.raises(DailySpendExceeded) as refused:
        budgets.check("C1", Usage(1, 0, cost_usd=5.0))
    assert "budget for today" in refused.value.user_message()
    assert "token" not in refused.value.user_message()


def test_the_token_budget_still_holds_beside_the_money_one() -> None:
    budgets = DailyBudgets(tokens=100, usd=5.0)
    with pytest.raises(DailyBudgetExceeded) as refused:
        budgets.check("C1", Usage(60, 40, cost_usd=0.01))
    assert not isinstance(refused.value, DailySpendExceeded)
