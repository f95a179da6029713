"""``RateLimitedLog``: a burst, then a steady trickle, and a count of what was held back."""

from __future__ import annotations

import logging

import pytest

from adapters.common.log_limit import RateLimitedLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(autouse=True)
def captured(caplog):
    caplog.set_level(logging.INFO, logger="tests.limited")


def limited(clock: Clock, lines: int = 3, period: float = 60.0) -> RateLimitedLog:
    return RateLimitedLog(logging.getLogger("tests.limited"), lines=lines, period=period, clock=clock)


def test_a_burst_is_logged_then_the_rest_is_held_back(clock, caplog):
    log = limited(clock)
    shown = [log.log(logging.WARNING, "refused %d", i) for i in range(100)]
    assert shown == [True] * 3 + [False] * 97
    assert caplog.messages == ["refused 0", "refused 1", "refused 2"]
    assert log.suppressed == 97


def test_the_next_line_let_through_carries_the_count_held_back(clock, caplog):
    log = limited(clock)
    for i in range(10):
        log.log(logging.WARNING, "refused %d", i)
    clock.now += 20  # one line's worth: 3 lines a minute
    assert log.log(logging.WARNING, "refused %d", 10)
    assert caplog.messages[-1] == "refused 10 (and 7 more not logged)"
    assert log.suppressed == 0
    assert not log.log(logging.WARNING, "refused %d", 11)


def test_a_flood_over_a_long_time_stays_at_the_rate(clock, caplog):
    log = limited(clock, lines=10, period=60.0)
    for _ in range(6_000):  # 100 a second for a minute
        clock.now += 0.01
        log.log(logging.WARNING, "refused")
    assert len(caplog.messages) <= 10 + 10 + 1


def test_a_quiet_spell_refills_the_burst_but_no_further(clock, caplog):
    log = limited(clock)
    for _ in range(3):
        log.log(logging.WARNING, "a")
    clock.now += 3600
    assert [log.log(logging.WARNING, "b") for _ in range(5)] == [True] * 3 + [False] * 2


def test_lines_below_the_level_in_force_are_not_counted(clock, caplog):
    log = limited(clock)
    assert not log.log(logging.DEBUG, "quiet")
    assert log.suppressed == 0 and caplog.messages == []
