from __future__ import annotations

import re

import pytest

from adapters.common.splitting import split_message


def _fences_balanced(chunk: str) -> bool:
    return len(re.findall(r"^\s*(```|~~~)", chunk, flags=re.M)) % 2 == 0


def _words(text: str) -> list[str]:
    return re.sub(r"```\w*|~~~", " ", text).split()


def test_short_text_is_one_message():
    assert split_message("hello\nworld", 2000) == ["hello\nworld"]


def test_long_prose_is_cut_between_words_under_the_limit():
    text = " ".join(f"word{i}" for i in range(2000))
    parts = split_message(text, 500)
    assert len(parts) > 1 and all(len(p) <= 500 for p in parts)
    assert _words(" ".join(parts)) == text.split()


def test_a_code_block_that_fits_moves_whole_to_the_next_message():
    code = "```python\n" + "\n".join(f"print({i})" for i in range(40)) + "\n```"
    text = "x" * 1700 + "\n" + code  # 1700 + 403 > 2000
    parts = split_message(text, 2000)
    assert parts == ["x" * 1700, code]


def test_a_code_block_over_the_limit_is_closed_and_reopened_with_its_language():
    code = "```rust\n" + "\n".join(f"let v{i} = {i};" for i in range(800)) + "\n```"
    parts = split_message("Here it is:\n" + code + "\nDone.", 2000)
    assert all(len(p) <= 2000 for p in parts)
    assert all(_fences_balanced(p) for p in parts)
    code_parts = [p for p in parts if "let v" in p]
    assert len(code_parts) > 2 and all("```rust\n" in p for p in code_parts)
    assert _words("\n".join(parts)) == _words("Here it is:\n" + code + "\nDone.")


def test_fifty_thousand_characters_with_code_arrive_whole():
    prose = "Lorem ipsum dolor sit amet. " * 800
    code = "```\n" + "\n".join("x" * 70 for _ in range(300)) + "\n```"
    text = prose + "\n\n" + code + "\n\n" + prose
    parts = split_message(text, 3000)
    assert all(len(p) <= 3000 and _fences_balanced(p) for p in parts)
    assert _words(" ".join(parts)) == _words(text)


def test_a_line_longer_than_the_limit_inside_code_is_hard_cut():
    parts = split_message("```\n" + "y" * 100 + "\n```", 40)
    assert all(len(p) <= 40 and _fences_balanced(p) for p in parts)
    assert "".join(p.replace("```", "").replace("\n", "") for p in parts) == "y" * 100


def test_tilde_fences_count_as_code():
    text = "~~~\n" + "\n".join("z" * 30 for _ in range(10)) + "\n~~~"
    parts = split_message(text, 120)
    assert all(p.startswith("~~~") and p.endswith("~~~") for p in parts)


def test_blank_text_gives_no_messages_and_tiny_limits_are_refused():
    assert split_message("\n\n", 100) == []
    with pytest.raises(ValueError):
        split_message("x", 5)
