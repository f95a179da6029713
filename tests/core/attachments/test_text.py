"""Cleaning, cutting and fencing text; sharing the budget (core/attachments/text.py, budget.py)."""

from __future__ import annotations

import pytest

from core.attachments.budget import share
from core.attachments.text import clean, cut, decode, fence, truncation_note


def test_decode_normalises_newlines_and_never_fails_on_bad_bytes():
    assert decode(b"a\r\nb\rc\n", "utf-8") == "a\nb\nc\n"
    assert decode(b"ok \xff there", "utf-8") == "ok \ufffd there"


def test_clean_drops_terminal_colours_and_replaces_control_characters():
    assert clean("\x1b[1;32mOK\x1b[0m done") == "OK done"
    assert clean("nul\x00 bell\x07 tab\t") == "nul\ufffd bell\ufffd tab\t"


def test_the_fence_is_longer_than_any_backtick_run_inside():
    body = "Use ```python fences``` or even ````four````.\n"
    fenced = fence(body)
    assert fenced.startswith("`````\n")
    assert fenced.endswith("\n`````")
    assert fenced == "`````\n" + body + "`````"


def test_plain_text_gets_a_three_backtick_fence():
    assert fence("x = 1") == "```\nx = 1\n```"


def test_cut_keeps_short_text_and_ends_a_long_one_at_a_line_end():
    assert cut("short", 10) == "short"
    text = "".join(f"line {n:03}\n" for n in range(100))  # 9 characters a line
    head = cut(text, 95)
    assert head.endswith("\n") and len(head) == 90
    assert text.startswith(head)


def test_cut_without_a_near_line_end_cuts_at_the_limit():
    assert cut("x" * 1000, 300) == "x" * 300


def test_truncation_note():
    assert (
        truncation_note(40_000, 1_048_576) == "[… truncated: 40,000 of 1,048,576 characters shown]"
    )
    assert (
        truncation_note(10, 10, also="pages 1–3 of 9 read") == "[… truncated: pages 1–3 of 9 read]"
    )


@pytest.mark.parametrize(
    "lengths, budget, allowed",
    [
        ([100, 100], 1000, [100, 100]),  # everything fits
        ([10, 1000, 1000], 90, [10, 40, 40]),  # the short one whole, the rest split evenly
        ([1000, 10], 90, [80, 10]),  # order kept
        ([5, 5, 5], 0, [0, 0, 0]),
        ([], 100, []),
    ],
)
def test_the_budget_is_shared_fairly(lengths, budget, allowed):
    assert share(lengths, budget) == allowed
    assert sum(share(lengths, budget)) <= budget
