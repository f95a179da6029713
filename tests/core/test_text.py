"""``scrub``: lone surrogates replaced, everything else left as it is (core/text.py)."""

from __future__ import annotations

import json

import pytest

from core.text import scrub


@pytest.mark.parametrize("text", ["", "plain ascii", "déjà vu – 日本語 😀", "\ufffd already replaced"])
def test_text_without_lone_surrogates_is_returned_as_it_is(text):
    assert scrub(text) is text


def test_a_lone_surrogate_from_json_becomes_the_replacement_character():
    text = json.loads('"what is \\ud800 this?"')
    assert scrub(text) == "what is \ufffd this?"
    scrub(text).encode("utf-8")


def test_each_lone_half_is_replaced_once_and_a_split_pair_is_joined():
    assert scrub("a\udc00b\ud83d") == "a\ufffdb\ufffd"
    assert scrub("\ud83d\ude00 ok \ud800") == "\U0001f600 ok \ufffd"


def test_a_nul_character_becomes_the_replacement_character():
    # PostgreSQL's text type refuses NUL; "\u0000" in an event's JSON would lose the question.
    assert scrub("a\x00b") == "a\ufffdb"
    assert scrub("é\x00\ud800") == "é\ufffd\ufffd"
