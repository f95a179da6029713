"""Context fitting, keyed locks, the rate limiter, token counting, persona presets."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bots.app import BUILTIN_PERSONAS as BUILTIN
from core.context import MESSAGE_OVERHEAD, fit_newest
from core.errors import ConfigurationError
from core.limits import SlidingWindowLimiter
from core.personas import load_presets, parse_preset
from core.serial import KeyedLocks
from core.tokens import EstimatingCounter, default_counter
from core.types import Turn


def turn(i: int, tokens: int) -> Turn:
    return Turn(i, "user", f"t{i}", tokens, "", "", datetime.now(timezone.utc))


def test_fit_newest_stops_at_the_first_turn_that_does_not_fit():
    newest_first = [turn(3, 10), turn(2, 50), turn(1, 1)]
    taken, left = fit_newest(newest_first, budget=10 + MESSAGE_OVERHEAD + 20)
    assert [t.id for t in taken] == [3]  # turn 1 would fit, but skipping turn 2 would lie
    assert left == 20


async def test_keyed_locks_serialise_one_key_and_forget_idle_keys():
    locks = KeyedLocks()
    order: list[str] = []

    async def work(key: str, name: str) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            await asyncio.sleep(0.01)
            order.append(f"{name}-")

    await asyncio.gather(work("a", "1"), work("a", "2"), work("b", "3"))
    assert order.index("1-") < order.index("2+")  # same key: one at a time, in order
    assert order.index("3+") < order.index("1-")  # other key: concurrently
    assert len(locks) == 0


def test_sliding_window_limiter_counts_per_key():
    now = [0.0]
    limiter = SlidingWindowLimiter(2, window=60, clock=lambda: now[0])
    assert limiter.acquire("u") == 0 and limiter.acquire("u") == 0
    assert limiter.acquire("u") == pytest.approx(60)
    assert limiter.acquire("v") == 0
    now[0] = 60.0
    assert limiter.acquire("u") == 0
    assert SlidingWindowLimiter(0).acquire("anyone") == 0


def test_limiter_forgets_idle_users():
    now = [0.0]
    limiter = SlidingWindowLimiter(5, window=10, clock=lambda: now[0])
    limiter.acquire("idle")
    now[0] = 11
    limiter.acquire("active")
    limiter.forget_idle()
    assert list(limiter._events) == ["active"]


def test_estimate_over_counts_rather_than_under():
    counter = EstimatingCounter()
    english = "The quick brown fox jumps over the lazy dog. " * 20
    # o200k_base: 201 tokens (ten a sentence: nine words and the full stop; one for the
    # last space). The estimate stays within 20% of it (tests/core/test_tokens.py).
    assert 0.8 * 201 <= counter.count(english) <= 1.2 * 201
    assert counter.count("日本語") >= 3


def test_no_cached_encoding_means_estimate_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert isinstance(default_counter(), EstimatingCounter)


def test_builtin_presets_load():
    presets = load_presets([BUILTIN])
    assert {"assistant", "concise", "code-reviewer", "translator"} <= set(presets)
    assert all(p.system_prompt.strip() for p in presets.values())


def test_own_preset_directory_overrides_builtin(tmp_path):
    (tmp_path / "concise.toml").write_text('name = "concise"\nsystem_prompt = "Mine."\n')
    presets = load_presets([BUILTIN, tmp_path])
    assert presets["concise"].system_prompt == "Mine."


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("system_prompt = ", "not valid TOML"),
        ('system_prompt = "x"\ncolour = "red"', "unknown keys"),
        ('name = "x"', "non-empty system_prompt"),
        ('system_prompt = "x"\nvision = "yes"', "vision must be true or false"),
        ('system_prompt = "x"\ntools = "time"', "tools must be a list"),
    ],
)
def test_bad_presets_are_clear_errors(text, error):
    with pytest.raises(ConfigurationError, match=error):
        parse_preset(text, "bad.toml")


def test_a_preset_may_say_whether_its_model_sees_images_and_name_its_tools():
    persona = parse_preset('system_prompt = "x"\nvision = false\ntools = ["time", "gh.search"]', "p.toml")
    assert persona.vision is False and persona.tools == ("time", "gh.search")


def test_missing_persona_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_presets([tmp_path / "nope"])
