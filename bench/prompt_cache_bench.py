"""What a provider's prompt cache saves, with and without cache-friendly trimming
(prints figures; not a test).

The real engine (in-memory store) replays one long conversation against a fake model
that caches prompts the way OpenAI reports it: the cached tokens of a request are the
longest prefix it shares with the previous request, counted only from 1,024 tokens on
and then in steps of 128. Tokens are words here (the engine counts them the same way),
so the budget and the bill agree exactly.

For each CONTEXT_TRIM_SHARE (0 drops one turn at a time: the old behaviour) it prints
the input tokens billed per request and how many were cached, in steady state (after
the budget is first full); the cost per 100 requests at the stated prices; and the
answer-quality proxy: how many of the newest turns (a question and its answer) the model
saw, on average.

    .venv/bin/python bench/prompt_cache_bench.py [--turns 200] [--budget 6000] [--answer-words 130]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.engine import Engine, EngineConfig  # noqa: E402
from core.model.catalog import Prices  # noqa: E402
from core.pricing import priced  # noqa: E402
from core.store.memory import InMemoryStore  # noqa: E402
from core.types import ChatMessage, ChatParams, ConversationRef, IncomingMessage, Persona, Usage  # noqa: E402

__all__ = ["main"]

# gpt-4.1-mini's list prices (US dollars per million tokens) as of 2026: cached input
# is a quarter of input. Only the ratio matters for the saving.
PRICES = Prices(input=0.40, cached_input=0.10, output=1.60)
_CACHE_MIN = 1024
_CACHE_STEP = 128
_QUESTION_WORDS = 60
_PERSONA_WORDS = 300


class _Words:
    """Tokens are words (and each message costs the engine's MESSAGE_OVERHEAD on top)."""

    def count(self, text: str) -> int:
        return len(text.split())


@dataclass
class _PrefixCachingModel:
    """Answers ``answer_words`` words; reports usage with OpenAI-style cached tokens."""

    answer_words: int
    previous: list[str] = field(default_factory=list)
    requests: list[tuple[Usage, int]] = field(default_factory=list)  # usage, history turns seen

    async def stream(self, messages: Sequence[ChatMessage], params: ChatParams) -> AsyncIterator[object]:
        tokens = [word for m in messages for word in (f"<{m.role}>", *m.content.split(), "<end>", "<pad>")]
        shared = 0
        for mine, theirs in zip(tokens, self.previous):
            if mine != theirs:
                break
            shared += 1
        cached = 0 if shared < _CACHE_MIN else _CACHE_MIN + (shared - _CACHE_MIN) // _CACHE_STEP * _CACHE_STEP
        self.previous = tokens
        answer = " ".join(f"a{len(self.requests)}w{i}" for i in range(self.answer_words))
        usage = Usage(len(tokens), self.answer_words, cached_tokens=cached)
        history = (len(messages) - 2) / 2  # questions and answers between the persona and the question
        self.requests.append((usage, history))
        yield answer
        yield usage

    async def aclose(self) -> None:
        pass


@dataclass(frozen=True)
class Figures:
    share: float
    billed_input: float  # per request, steady state
    cached_share: float
    cost_per_100: float
    turns_seen: float
    full_after: int


async def replay(share: float, turns: int, budget: int, answer_words: int) -> Figures:
    model = _PrefixCachingModel(answer_words)
    persona = Persona(" ".join(f"rule{i}" for i in range(_PERSONA_WORDS)))
    store = InMemoryStore()
    await store.open()
    engine = Engine(store=store, model=model,  # type: ignore[arg-type]
                    config=EngineConfig(default_persona=persona, model="m", context_token_budget=budget,
                                        context_trim_share=share),
                    counter=_Words(), today=lambda: date(2026, 11, 30))
    conversation = ConversationRef("bench", "", "D1")
    for number in range(turns):
        text = " ".join(f"q{number}w{i}" for i in range(_QUESTION_WORDS))
        message = IncomingMessage(conversation, "U1", "ada", text, is_dm=True, event_id=f"e{number}")
        async with engine.reply(message) as reply:
            async for _ in reply:
                pass
    seen = [history for _, history in model.requests]
    # Steady state: from the first request whose history no longer grew (the budget full).
    full_after = next((i for i in range(1, len(seen)) if seen[i] <= seen[i - 1]), len(seen))
    steady = model.requests[full_after:] or model.requests
    prompt = sum(u.prompt_tokens for u, _ in steady)
    cached = sum(u.cached_tokens for u, _ in steady)
    cost = sum(priced(u, PRICES).cost_usd for u, _ in steady)
    return Figures(share, prompt / len(steady), cached / prompt, cost / len(steady) * 100,
                   statistics.fmean(h for _, h in steady), full_after)


async def _main(turns: int, budget: int, shares: list[float], answer_words: int) -> None:
    print(f"{turns} requests; budget {budget} tokens; questions {_QUESTION_WORDS} and answers "
          f"{answer_words} words; persona {_PERSONA_WORDS} words; prices per million: input "
          f"${PRICES.input}, cached ${PRICES.cached_input}, output ${PRICES.output}")
    print(f"{'trim share':>10} {'full after':>10} {'input/req':>10} {'cached':>7} {'$/100 req':>10} "
          f"{'turns seen':>10}")
    results = [await replay(share, turns, budget, answer_words) for share in shares]
    for r in results:
        print(f"{r.share:>10.2f} {r.full_after:>10} {r.billed_input:>10.0f} {r.cached_share:>7.1%} "
              f"{r.cost_per_100:>10.4f} {r.turns_seen:>10.1f}")
    base = results[0]
    for r in results[1:]:
        print(f"share {r.share:.2f} vs one at a time: cost {1 - r.cost_per_100 / base.cost_per_100:.1%} lower, "
              f"{base.turns_seen - r.turns_seen:.1f} fewer turns seen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--budget", type=int, default=6000)
    parser.add_argument("--shares", default="0,0.05,0.08,0.1,0.25")
    parser.add_argument("--answer-words", type=int, default=130)
    args = parser.parse_args()
    asyncio.run(_main(args.turns, args.budget, [float(s) for s in args.shares.split(",")], args.answer_words))


if __name__ == "__main__":
    main()
