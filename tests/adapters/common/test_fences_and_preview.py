"""The one code-fence reader, and the preview every platform shows while an answer streams."""

from __future__ import annotations

from adapters.common.fences import fence_of, open_fence
from adapters.common.preview import preview


def test_fence_of_reads_backticks_and_tildes_of_any_length() -> None:
    assert fence_of("```python") == "```"
    assert fence_of("  ~~~~") == "~~~~"
    assert fence_of("not a fence ```") is None


def test_open_fence_is_the_opening_line_of_a_block_left_open() -> None:
    assert open_fence("Intro\n```python\nprint(1)\n") == "```python"
    assert open_fence("```\ncode\n```\nprose") is None
    assert open_fence("~~~\n```\nstill inside the tilde block\n") == "~~~"


def test_preview_closes_an_open_code_block_and_marks_a_cut() -> None:
    assert preview("Look:\n```py\nx = 1", 100) == "Look:\n```py\nx = 1\n```"
    cut = preview("a" * 50 + "\n```\n" + "b" * 100, 70)
    assert len(cut) <= 70 and cut.endswith("```…")
    assert preview("short", 10) == "short"
