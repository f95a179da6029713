"""The token estimate: what o200k_base does with each kind of text, as properties.

The counts below are o200k_base's rules, not measurements: it cuts numbers into groups
of at most three digits, gives a space before a digit a token of its own, and a common
English word (with its leading space) one token. bench/token_estimate_bench.py measures
the estimate against the real encoding on a mixed corpus.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.tokens import EstimatingCounter, RememberingCounter

count = EstimatingCounter().count


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=100))
def test_a_list_of_numbers_costs_their_digit_groups_and_separators(numbers):
    # "123, 4567": "123" "," " " "456" "7" -- a group a three digits, the comma, the space.
    groups = sum(-(-len(str(n)) // 3) for n in numbers)
    text = ", ".join(map(str, numbers))
    assert count(text) >= 0.8 * (groups + 2 * (len(numbers) - 1))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=300))
def test_digits_apart_cost_a_token_each_and_so_do_the_spaces(digits):
    # "6 4 1": o200k_base gives each digit and each space between them a token.
    text = " ".join(map(str, digits))
    assert count(text) >= 0.8 * (2 * len(digits) - 1)


def test_numbers_in_a_table_are_not_counted_as_prose():
    row = "930.4843,-976.6906,471.9832,-683.9746\n"  # 5 tokens a number ("930" "." "484" "3" ",-")
    assert count(row * 50) >= 0.8 * 5 * 4 * 50


def test_prose_is_about_a_token_a_word_not_half_again_more():
    sentence = "The meeting has been moved to Thursday afternoon because the team is travelling. "
    words = len(sentence.split()) + 1  # and the full stop
    assert 0.8 * words * 20 <= count(sentence * 20) <= 1.25 * words * 20


def test_cjk_costs_most_of_a_token_a_character():
    text = "今天天气很好，我们一起去公园散步吧。" * 10
    assert count(text) >= 0.7 * len(text)


def test_capitals_inside_random_text_split_it():
    # base64 and hashes: o200k_base starts a piece at each capital after a small letter.
    key = "tLqZTBgJz7blEbIVz5RsLoaFDQBx5l/e6CvUt7N7tcFxJ37XF1YBL+4aZNQr" * 5
    assert count(key) >= len(key) / 2


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_more_text_never_costs_less(first, second):
    # A guard: the estimate takes something off for non-ASCII letters; never too much.
    assert count(first + second) >= max(count(first), count(second))


def test_a_remembering_counter_counts_a_text_once_and_keeps_few():
    asked: list[str] = []

    class Counting:
        def count(self, text: str) -> int:
            asked.append(text)
            return len(text)

    remembering = RememberingCounter(Counting(), size=2)
    assert [remembering.count("persona") for _ in range(3)] == [7, 7, 7]
    assert asked == ["persona"]
    remembering.count("a")
    remembering.count("b")  # the third text: what was kept is forgotten
    assert remembering.count("persona") == 7 and asked == ["persona", "a", "b", "persona"]
