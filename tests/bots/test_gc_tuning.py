"""The cycle collector's settings for a running bot (bots/gc_tuning.py)."""

from __future__ import annotations

import gc
import weakref

import pytest

from bots.gc_tuning import YOUNG_THRESHOLD, tune_collector


@pytest.fixture
def restored_collector():
    """The test process's collector as it was, whatever the test did to it."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_startup_objects_are_frozen_and_the_young_generation_is_raised(restored_collector):
    _, middle, old = gc.get_threshold()
    frozen = tune_collector()
    assert frozen == gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)


def test_garbage_from_before_is_collected_not_frozen(restored_collector):
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    del a, b
    tune_collector()
    assert alive() is None


def test_cycles_made_after_tuning_are_still_collected(restored_collector):
    tune_collector()
    assert gc.isenabled()
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    del a, b
    gc.collect()
    assert alive() is None
