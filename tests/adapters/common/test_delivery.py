"""``deliver``: parts into existing messages or new ones, retried, never posted twice."""

from __future__ import annotations

import pytest

from adapters.common.delivery import DeliveryFailed, RetryPolicy, deliver
from core.answers import Delivery
from tests.fakes.renderer import Permanent, RecordingRenderer, Transient

FAST = RetryPolicy(backoff_base=0.001)


class Saves(list[Delivery]):
    async def __call__(self, delivery: Delivery) -> None:
        self.append(delivery)


async def test_first_part_replaces_the_placeholder_and_the_rest_are_posted() -> None:
    renderer = RecordingRenderer()
    renderer.shown["m0"] = "thinking"
    saves = Saves()
    done = await deliver(renderer, ["one", "two", "three"], Delivery(("m0",)), saves, FAST)
    assert renderer.shown == {"m0": "one", "m1": "two", "m2": "three"}
    assert done == Delivery(("m0", "m1", "m2"), 3)
    # Saved after every part but the last: a restart goes on from the next part.
    assert saves == [Delivery(("m0",), 1), Delivery(("m0", "m1"), 2)]


async def test_parts_already_final_are_neither_edited_nor_posted_again() -> None:
    renderer = RecordingRenderer()
    renderer.shown.update(m0="one", m1="two")
    done = await deliver(renderer, ["one", "two", "three"], Delivery(("m0", "m1"), 2), Saves(), FAST)
    assert [call for call in renderer.calls if call[0] in ("post", "edit")] == [("post", "three")]
    assert done.final == 3 and len(done.messages) == 3


async def test_transient_failures_are_retried() -> None:
    renderer = RecordingRenderer()
    renderer.shown["m0"] = "thinking"
    renderer.fail("edit", Transient(), times=2)
    renderer.fail("post", Transient(), times=2)
    done = await deliver(renderer, ["one", "two"], Delivery(("m0",)), Saves(), FAST)
    assert renderer.shown == {"m0": "one", "m1": "two"}
    assert done.final == 2


async def test_an_edit_that_keeps_failing_becomes_a_new_message_and_the_old_is_deleted() -> None:
    renderer = RecordingRenderer()
    renderer.shown["m0"] = "thinking"
    renderer.fail("edit", Transient(), times=FAST.edit_attempts)
    done = await deliver(renderer, ["answer"], Delivery(("m0",)), Saves(), FAST)
    assert renderer.shown == {"m1": "answer"}
    assert done == Delivery(("m1",), 1)


async def test_an_edit_that_cannot_work_is_not_retried() -> None:
    renderer = RecordingRenderer()
    renderer.shown["m0"] = "thinking"
    renderer.fail("edit", Permanent())
    await deliver(renderer, ["answer"], Delivery(("m0",)), Saves(), FAST)
    assert renderer.calls.count(("edit", "m0")) == 1
    assert "answer" in renderer.texts()


async def test_a_post_that_fails_for_good_raises_delivery_failed_with_its_kind() -> None:
    renderer = RecordingRenderer()
    renderer.fail("post", Permanent())
    with pytest.raises(DeliveryFailed) as permanent:
        await deliver(renderer, ["answer"], Delivery(), Saves(), FAST)
    assert not permanent.value.transient

    renderer = RecordingRenderer()
    renderer.fail("post", Transient(), times=FAST.post_attempts)
    with pytest.raises(DeliveryFailed) as transient:
        await deliver(renderer, ["answer"], Delivery(), Saves(), FAST)
    assert transient.value.transient


def test_back_off_honours_retry_after_and_grows_without_it() -> None:
    policy = RetryPolicy(backoff_base=0.5, max_wait=3.0)
    assert policy.wait(0, 2.0) == 2.0
    assert [policy.wait(attempt, 0.0) for attempt in range(4)] == [0.5, 1.0, 2.0, 3.0]
