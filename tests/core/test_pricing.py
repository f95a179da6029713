"""What a call costs at configured prices (core/pricing.py)."""

from __future__ import annotations

import pytest

from core.model.catalog import Prices
from core.pricing import priced
from core.types import Usage

GPT = Prices(input=2.50, output=10.0, cached_input=1.25)


def test_unpriced_models_cost_nothing() -> None:
    assert priced(Usage(1000, 100), None).cost_usd == 0


def test_cached_prompt_tokens_are_billed_at_the_cached_price() -> None:
    # 1,000 uncached at $2.50/M, 1,000 cached at $1.25/M, 100 out at $10/M.
    cost = priced(Usage(2000, 100, cached_tokens=1000), GPT).cost_usd
    assert cost == pytest.approx(0.0025 + 0.00125 + 0.001)


def test_without_a_cached_price_cached_tokens_cost_as_input() -> None:
    prices = Prices(input=1.0, output=2.0)
    assert priced(Usage(1000, 0, cached_tokens=600), prices).cost_usd == pytest.approx(0.001)


def test_more_cached_than_prompt_tokens_never_costs_less_than_all_cached() -> None:
    # An odd report from a provider must not make a negative uncached count.
    assert priced(Usage(100, 0, cached_tokens=500), GPT).cost_usd == pytest.approx(100 * 1.25 / 1e6)


def test_tokens_are_kept_as_they_were() -> None:
    usage = Usage(10, 20, 5, 3)
    assert (priced(usage, GPT).prompt_tokens, priced(usage, GPT).cached_tokens) == (10, 5)
