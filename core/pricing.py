"""What a model call costs, at the prices the operator configured (MODELS_FILE, or
OPENAI_PRICE_* for the default provider's model).

Prices are per million tokens. Cached prompt tokens are part of ``prompt_tokens``: they
are billed at the cached price (the input price where none is set), the rest of the
prompt at the input price. Reasoning tokens are part of ``completion_tokens`` and are
billed as output, as the providers do.
"""

from __future__ import annotations

from dataclasses import replace

from core.model.catalog import Prices
from core.types import Usage

__all__ = ["priced"]

_PER = 1_000_000


def priced(usage: Usage, prices: Prices | None) -> Usage:
    """``usage`` with its cost; unchanged when the model has no prices."""
    if prices is None:
        return usage
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    cached_price = prices.input if prices.cached_input is None else prices.cached_input
    cost = ((usage.prompt_tokens - cached) * prices.input + cached * cached_price
            + usage.completion_tokens * prices.output) / _PER
    return replace(usage, cost_usd=cost)
