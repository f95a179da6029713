"""Splitting's edge cases from issue #15, and its three promises checked as properties:
every part within the limit, code fences balanced per part, the text reconstructable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.common.splitting import split_message

_FENCE_CHARS = ("```", "~~~")
_ZWSP = "\u200b"


# -- an oracle written apart from the splitter: how a reader of the parts sees fences --------


def _run(stripped: str) -> str:
    return stripped[: len(stripped) - len(stripped.lstrip(stripped[0]))]


def _prose_lines(text: str) -> tuple[list[str], str | None]:
    """The lines outside fence lines, and the fence still open at the end (or None)."""
    lines: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if fence is None and stripped.startswith(_FENCE_CHARS):
            fence = _run(stripped)
        elif fence is not None and stripped.startswith(fence):
            fence = None
        else:
            lines.append(line)
    return lines, fence


def _balanced(part: str) -> bool:
    return _prose_lines(part)[1] is None


def _content(text: str) -> str:
    """What a reader gets: every visible character outside the fence lines, in order."""
    return "".join("".join(_prose_lines(text)[0]).split()).replace(_ZWSP, "")


def _is_subsequence(small: str, big: str) -> bool:
    chars = iter(big)
    return all(char in chars for char in small)


# -- the cases the issue names -------------------------------------------------------------


def test_a_fence_opener_of_1995_characters_is_split_not_refused():
    text = "```" + "a" * 1992 + "\nprint(1)\n```"
    parts = split_message(text, 2000)
    assert all(len(p) <= 2000 and _balanced(p) for p in parts)
    assert _is_subsequence(_content(text), "".join(_content(p) for p in parts))
    assert "a" * 1992 in "".join(parts).replace("\n", "").replace("`", "")


def test_a_fence_opener_of_1993_characters_gives_a_few_messages_not_1500():
    text = "```" + "a" * 1990 + "\n" + "x" * 3000 + "\n```"
    parts = split_message(text, 2000)
    assert len(parts) <= 4
    assert all(len(p) <= 2000 and _balanced(p) for p in parts)


def test_a_fence_followed_by_2100_characters_stays_within_the_limit():
    parts = split_message("```" + "b" * 2100, 2000)
    assert all(len(p) <= 2000 and _balanced(p) for p in parts)
    assert "".join(_content(p) for p in parts) == "b" * 2100


def test_a_block_left_open_at_the_end_is_closed():
    assert split_message("Look:\n```py\nx = 1", 2000) == ["Look:\n```py\nx = 1\n```"]


def test_a_cut_in_prose_never_starts_a_line_with_a_fence():
    text = "word " * 5 + "```" + "z" * 30
    parts = split_message(text, 30)
    assert all(len(p) <= 30 and _balanced(p) for p in parts)
    assert "".join(map(_content, parts)) == _content(text)


def test_a_cut_in_code_never_closes_the_block_early():
    text = "```\n" + "a" * 22 + "```" + "b" * 10 + "\n```"
    parts = split_message(text, 30)  # room for 22 characters of code: a cut at 22 → "```b…"
    assert all(len(p) <= 30 and _balanced(p) for p in parts)
    assert "".join(map(_content, parts)) == _content(text)


def test_a_line_of_backticks_longer_than_the_limit_is_cut_with_an_invisible_mark():
    parts = split_message("x " + "`" * 100, 20)
    assert all(len(p) <= 20 and _balanced(p) for p in parts)
    assert "".join(map(_content, parts)) == "x" + "`" * 100


# -- properties ----------------------------------------------------------------------------

_word = st.one_of(
    st.text(alphabet="abcxyz019.,()", min_size=1, max_size=12),
    st.sampled_from(["`a`", "``", "```", "~~~", "````x", "`", "~"]),
    st.text(alphabet="ab", min_size=40, max_size=400),  # longer than small limits
)
_prose = st.builds(
    lambda indent, words: indent + " ".join(words),
    st.sampled_from(["", " ", "    "]),
    st.lists(_word, max_size=25),
)


def _fence_line(openers: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda indent, opener: indent + opener, st.sampled_from(["", "  "]), openers)


_short_openers = st.sampled_from(["```", "~~~", "````", "```py", "```rust", "~~~ js"])
_any_openers = st.one_of(
    _short_openers,
    st.builds(lambda f, info: f + info, st.sampled_from(["```", "~~~", "`````"]),
              st.text(alphabet="ab ~", min_size=1, max_size=600)),
)


def _texts(openers: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    # A line that starts with a fence is a fence line: only ``_fence_line`` makes those.
    prose = _prose.filter(lambda line: not line.strip().startswith(_FENCE_CHARS))
    line = st.one_of(prose, _fence_line(openers), st.just(""))
    return st.lists(line, max_size=30).map("\n".join)


def _check_limit_and_fences(parts: list[str], limit: int) -> None:
    assert all(part.strip() for part in parts)
    assert all(len(part) <= limit for part in parts), [len(p) for p in parts]
    assert all(_balanced(part) for part in parts)


@settings(max_examples=60, deadline=None, database=None)
@given(text=_texts(_short_openers), limit=st.integers(40, 300))
def test_parts_fit_balance_and_rebuild_the_text(text: str, limit: int) -> None:
    parts = split_message(text, limit)
    _check_limit_and_fences(parts, limit)
    assert "".join(map(_content, parts)) == _content(text)


@settings(max_examples=60, deadline=None, database=None)
@given(text=_texts(_any_openers), limit=st.integers(16, 300))
def test_with_any_opener_parts_fit_balance_and_lose_nothing(text: str, limit: int) -> None:
    # An opener too long to repeat turns into the first line of code, so its text may
    # show up in the parts where the original had it on a fence line: nothing is lost.
    parts = split_message(text, limit)
    _check_limit_and_fences(parts, limit)
    assert _is_subsequence(_content(text), "".join(map(_content, parts)))
