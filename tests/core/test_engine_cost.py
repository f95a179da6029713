"""What answers cost (#16) through the engine: a context that keeps its prefix, usage
priced and recorded with its cached tokens, and the daily budget in money."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date

import pytest

from core import metrics
from core.context import MESSAGE_OVERHEAD
from core.engine import Engine, EngineConfig
from core.errors import DailySpendExceeded
from core.model.catalog import ModelCatalog, ModelInfo, Prices, Provider
from core.tokens import EstimatingCounter
from core.types import ChatMessage, ChatParams, Persona, Usage
from tests.core.conftest import CHANNEL, message

DAY = date(2026, 11, 30)
PRICES = Prices(input=2.0, output=8.0, cached_input=0.5)
CATALOG = ModelCatalog({"default": Provider("default", "https://api.example/v1")},
                       {"priced": ModelInfo("priced", prices=PRICES)}, default_model="priced")


class Words:
    def count(self, text: str) -> int:
        return len(text.split())


class Reporting:
    """Answers a fixed text and reports the usage it is given (cached tokens included)."""

    def __init__(self, usage: Usage = Usage(1000, 100, cached_tokens=800)) -> None:
        self.usage = usage
        self.calls: list[list[ChatMessage]] = []

    async def stream(self, messages: Sequence[ChatMessage], params: ChatParams) -> AsyncIterator[object]:
        self.calls.append(list(messages))
        yield "w " * 20
        yield self.usage

    async def aclose(self) -> None:
        pass


def engine(store, model, counter=None, **config) -> Engine:
    return Engine(store=store, model=model, counter=counter or EstimatingCounter(), today=lambda: DAY,
                  config=EngineConfig(default_persona=Persona("Be brief."), model="priced", models=CATALOG,
                                      **config))


async def ask(bot: Engine, text: str, **kw) -> str:
    async with bot.reply(message(text, **kw)) as reply:
        return "".join([d async for d in reply])


def cost(messages: list[ChatMessage]) -> int:
    return sum(len(m.content.split()) + MESSAGE_OVERHEAD for m in messages)


async def test_consecutive_requests_share_their_prefix_and_stay_within_the_budget(memory_store):
    model = Reporting(Usage(1000, 20))  # an answer's turn costs what the model says
    # Each question and answer is 20 words (24 with the overhead): the budget holds 48
    # of them, full after 24 requests; then a quarter of it is freed every 6 requests.
    bot = engine(memory_store, model, Words(), context_token_budget=1200, context_trim_share=0.25)
    for n in range(80):
        await ask(bot, " ".join(f"q{n}" for _ in range(19)))
    trims = 0
    for before, after in zip(model.calls, model.calls[1:]):
        assert cost(after) <= 1200
        shared = before[:-1] == after[: len(before) - 1]  # all but the question, then more
        trims += not shared
    assert 6 <= trims <= 12, trims  # one at a time, it would be every request after the 24th


async def test_with_share_zero_every_request_once_full_starts_afresh(memory_store):
    model = Reporting(Usage(1000, 20))
    bot = engine(memory_store, model, Words(), context_token_budget=1200, context_trim_share=0)
    for n in range(40):
        await ask(bot, " ".join(f"q{n}" for _ in range(19)))
    later = model.calls[26:]
    assert all(before[1] != after[1] for before, after in zip(later, later[1:]))


async def test_usage_is_priced_with_its_cached_tokens_and_recorded(memory_store):
    cached_before = metrics.TOKENS.labels("cached")._value.get()
    cost_before = metrics.COST_USD.labels("priced")._value.get()
    bot = engine(memory_store, Reporting(Usage(1000, 100, cached_tokens=800)))

    await ask(bot, "hi")

    expected = (200 * 2.0 + 800 * 0.5 + 100 * 8.0) / 1e6
    totals = await memory_store.usage(CHANNEL.channel_ref, DAY)
    assert totals.today.cached_tokens == 800
    assert totals.today.cost_usd == pytest.approx(expected)
    assert metrics.TOKENS.labels("cached")._value.get() - cached_before == 800
    assert metrics.COST_USD.labels("priced")._value.get() - cost_before == pytest.approx(expected)


async def test_the_daily_budget_in_money_holds(memory_store):
    # Each answer costs 1000 * $2/M + 100 * $8/M = $0.0028: the third crosses $0.005.
    bot = engine(memory_store, Reporting(Usage(1000, 100)), channel_daily_budget_usd=0.005)
    await ask(bot, "one")
    await ask(bot, "two")
    with pytest.raises(DailySpendExceeded):
        await ask(bot, "three")
    assert len(await memory_store.recent_turns(CHANNEL, 10)) == 4  # the refused one is not stored
