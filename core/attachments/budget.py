"""Sharing one message's text budget fairly among its files."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["share"]


def share(lengths: Sequence[int], budget: int) -> list[int]:
    """How many characters each text may keep, in the order given.

    Short texts keep all they have; what they leave is split evenly among the long ones
    (water-filling). So a huge log does not crowd out the small file asked about beside it.
    """
    allowed = [0] * len(lengths)
    left = budget
    by_length = sorted(range(len(lengths)), key=lengths.__getitem__)
    for done, index in enumerate(by_length):
        allowed[index] = min(lengths[index], left // (len(lengths) - done))
        left -= allowed[index]
    return allowed
