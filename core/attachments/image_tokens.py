"""What an image costs in tokens: OpenAI's tile formula, so the budget and /usage stay honest.

OpenAI's vision guide ("Calculating costs", GPT-4o and GPT-4 Turbo), for ``detail:
"high"`` — what ``"auto"`` picks for any image larger than 512 × 512:

1. the image is scaled to fit within 2048 × 2048, keeping its aspect ratio;
2. then scaled so that its shortest side is 768 px;
3. each 512 px square needed to cover it (a tile) costs 170 tokens, plus 85 for the image.

Its examples: 1024 × 1024 → 768 × 768 → 4 tiles → 765 tokens; 2048 × 4096 → 1024 × 2048
→ 768 × 1536 → 6 tiles → 1105. Where the guide is silent we follow its examples, which
only ever shrink: a side is never enlarged (enlarging would bill a 300 × 100 icon 10
tiles), and sizes are rounded down. It is an estimate: gpt-4o-mini bills the same tiles
at other rates, and newer models (gpt-4.1-mini, o4-mini) count 32 px patches instead;
the model's own ``usage`` stays the truth.
"""

from __future__ import annotations

__all__ = ["image_tokens"]

_FIT = 2048
_SHORT_SIDE = 768
_TILE = 512
_BASE_TOKENS = 85
_TILE_TOKENS = 170


def image_tokens(width: int, height: int) -> int:
    """The estimated prompt tokens of a ``width`` × ``height`` image at detail "high"."""
    # The tiles do not depend on orientation; integers keep 768 exactly 768.
    long, short = max(width, height), min(width, height)
    if long > _FIT:
        long, short = _FIT, short * _FIT // long
    if short > _SHORT_SIDE:
        long, short = long * _SHORT_SIDE // short, _SHORT_SIDE
    tiles = -(-long // _TILE) * -(-short // _TILE)
    return _BASE_TOKENS + _TILE_TOKENS * tiles
