"""``Redactor``: long secrets masked anywhere, short ones only as whole tokens (core/redaction.py)."""

from __future__ import annotations

from core.redaction import MASK, Redactor


def test_a_long_secret_is_masked_wherever_it_appears():
    redact = Redactor(["sk-0123456789abcdef"])
    assert redact("key sk-0123456789abcdef refused") == f"key {MASK} refused"
    assert redact("Bearersk-0123456789abcdefX") == f"Bearer{MASK}X"


def test_a_short_secret_is_masked_as_a_token_but_not_inside_words():
    redact = Redactor(["x"])
    text = "Incorrect API key provided: x. This model's maximum context length is exceeded (max_tokens)."
    masked = redact(text)
    assert "provided: x." not in masked and f"provided: {MASK}." in masked
    assert "maximum context length" in masked and "(max_tokens)" in masked
    assert redact("context_length_exceeded") == "context_length_exceeded"


def test_a_short_secret_is_masked_at_the_start_and_end_and_next_to_punctuation():
    redact = Redactor(["abc1"])
    assert redact("abc1") == MASK
    assert redact("Bearer abc1") == f"Bearer {MASK}"
    assert redact("'abc1', \"abc1\"") == f"'{MASK}', \"{MASK}\""
    assert redact("abc12 xabc1 abc1_ abc1-x") == "abc12 xabc1 abc1_ abc1-x"


def test_a_secret_containing_another_is_masked_whole():
    redact = Redactor(["sk-abcdefgh", "sk-abcdefgh-longer", "abcd"])
    assert redact("sk-abcdefgh-longer and sk-abcdefgh and abcd") == f"{MASK} and {MASK} and {MASK}"


def test_regex_characters_in_a_secret_are_taken_literally():
    redact = Redactor(["a.b", "(x+y)*z?[]"])
    assert redact("a.b axb") == f"{MASK} axb"
    assert redact("key (x+y)*z?[] here") == f"key {MASK} here"


def test_no_secrets_leave_text_alone():
    redact = Redactor(["", ""])
    assert not redact
    assert redact("anything at all") == "anything at all"
    assert Redactor(["x"])
