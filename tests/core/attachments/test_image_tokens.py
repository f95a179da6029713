"""OpenAI's tile formula, against sizes worked out by hand (core/attachments/image_tokens.py)."""

from __future__ import annotations

import pytest

from core.attachments.image_tokens import image_tokens


@pytest.mark.parametrize(
    "width, height, tokens",
    [
        # The guide's own examples.
        (1024, 1024, 765),  # → 768 × 768: 2 × 2 tiles → 85 + 4 × 170
        (2048, 4096, 1105),  # → 1024 × 2048 → 768 × 1536: 2 × 3 tiles → 85 + 6 × 170
        (4096, 2048, 1105),  # the same on its side
        # Small images are never enlarged.
        (100, 100, 255),  # 1 tile
        (512, 512, 255),
        (513, 500, 425),  # 2 × 1 tiles
        (513, 513, 765),  # 2 × 2 tiles
        # What prepare sends at the default limit of 1568 px.
        (1568, 1176, 765),  # 4:3 → 1024 × 768: 2 × 2 tiles
        (1568, 882, 1105),  # 16:9 → 1365 × 768: 3 × 2 tiles
        (1568, 523, 1445),  # 3:1, short side under 768 kept: 4 × 2 tiles
    ],
)
def test_tokens_by_hand(width, height, tokens):
    assert image_tokens(width, height) == tokens


def test_a_huge_image_is_first_fitted_into_2048():
    # 4000 × 3000 → 2048 × 1536 → 1024 × 768: 2 × 2 tiles, the same as its 1568 px copy.
    assert image_tokens(4000, 3000) == 765 == image_tokens(1568, 1176)
