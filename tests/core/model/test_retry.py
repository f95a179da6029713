"""The retry policy: pure arithmetic with an injected clock and randomness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.model.retry import RetryBudget, RetryPolicy, parse_retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def policy(**overrides: object) -> RetryPolicy:
    settings: dict[str, object] = {"base_delay": 1.0, "max_delay": 10.0, "random": lambda: 0.5}
    return RetryPolicy(**(settings | overrides))  # type: ignore[arg-type]


def test_backoff_doubles_and_is_capped() -> None:
    rules = policy(jitter="none")
    assert [rules.backoff(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_backoff_of_a_huge_attempt_number_stays_finite() -> None:
    assert policy().backoff(10_000) == 10.0


@pytest.mark.parametrize(
    ("jitter", "random", "expected"),
    [
        ("none", 0.5, 4.0),
        ("full", 0.0, 0.0),
        ("full", 0.25, 1.0),
        ("equal", 0.0, 2.0),
        ("equal", 0.5, 3.0),
    ],
)
def test_jitter(jitter: str, random: float, expected: float) -> None:
    assert policy(jitter=jitter, random=lambda: random).delay_for(3) == expected


def test_retry_after_wins_over_backoff_even_above_max_delay() -> None:
    assert policy().delay_for(1, retry_after=30.0) == 30.0
    assert policy().delay_for(5, retry_after=0.0) == 0.0


def test_negative_retry_after_means_now() -> None:
    assert policy().delay_for(1, retry_after=-5.0) == 0.0


@pytest.mark.parametrize(
    "overrides",
    [{"max_attempts": 0}, {"base_delay": -1.0}, {"deadline": 0.0}, {"jitter": "some"}],
)
def test_invalid_policies_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        policy(**overrides)


def test_budget_gives_up_after_max_attempts() -> None:
    budget = RetryBudget(policy(max_attempts=3, jitter="none"))
    delays = []
    for _ in range(3):
        budget.begin_attempt()
        delays.append(budget.next_delay())
    assert delays == [1.0, 2.0, None]
    assert budget.attempts == 3


def test_budget_never_waits_past_the_deadline() -> None:
    clock = FakeClock()
    budget = RetryBudget(policy(deadline=10.0, jitter="none", clock=clock))
    budget.begin_attempt()
    clock.now += 7.0
    assert budget.remaining() == 3.0
    assert budget.next_delay(retry_after=2.5) == 2.5
    assert budget.next_delay(retry_after=3.0) is None  # would start no earlier than the deadline
    assert budget.next_delay(retry_after=60.0) is None


def test_budget_remaining_goes_negative_after_the_deadline() -> None:
    clock = FakeClock()
    budget = RetryBudget(policy(deadline=1.0, clock=clock))
    budget.begin_attempt()
    clock.now += 2.0
    assert budget.remaining() == -1.0
    assert budget.next_delay(retry_after=0.0) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), (" 1.5 ", 1.5), ("0", 0.0), ("-4", 0.0), ("", None), (None, None),
     ("soon", None), ("inf", None), ("nan", None)],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    later = "Wed, 01 May 2024 12:00:42 GMT"
    assert parse_retry_after(later, now=now) == 42.0
    assert parse_retry_after(later, now=now + timedelta(minutes=5)) == 0.0
