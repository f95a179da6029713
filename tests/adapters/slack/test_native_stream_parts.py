"""The pure parts of native streaming: what is streamed live, and cutting inside code."""

from __future__ import annotations

from adapters.slack.native_stream import _LIVE_LIMIT, _fence_break, _live_part


def test_only_complete_lines_are_streamed_live() -> None:
    assert _live_part("first line\nsecond li") == "first line\n"
    assert _live_part("no newline yet") == ""


def test_live_streaming_stops_growing_at_the_live_limit() -> None:
    text = "".join(f"{i:09d}\n" for i in range(2 * _LIVE_LIMIT // 10))

    live = _live_part(text)

    assert len(live) <= _LIVE_LIMIT and live.endswith("\n")
    assert text.startswith(live)


def test_a_cut_inside_a_code_block_closes_it_and_reopens_it_with_its_language() -> None:
    streamed = "Intro\n```python\nprint(1)\n"

    assert _fence_break(streamed) == ("```\n", "```python\n")


def test_a_cut_after_a_closed_code_block_needs_nothing() -> None:
    assert _fence_break("```\ncode\n```\nprose\n") == ("", "")
    assert _fence_break("~~~\ncode\n~~~\n") == ("", "")
