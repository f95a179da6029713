"""The SSE decoder: event framing, line endings, and chunks split anywhere."""

from __future__ import annotations

import pytest

from core.model.sse import DONE, SSEDecoder, aiter_sse_batches


def decode(*chunks: bytes) -> list[str]:
    decoder = SSEDecoder()
    found = [data for chunk in chunks for data in decoder.feed(chunk)]
    return found + decoder.close()


def test_one_event_per_blank_line() -> None:
    assert decode(b'data: {"a": 1}\n\ndata: {"b": 2}\n\n') == ['{"a": 1}', '{"b": 2}']


def test_done_is_passed_out_as_data() -> None:
    assert decode(b"data: hi\n\ndata: [DONE]\n\n") == ["hi", DONE]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(ending: bytes) -> None:
    stream = b"data: one" + ending + ending + b"data: two" + ending + ending
    assert decode(stream) == ["one", "two"]


def test_multi_line_data_joins_with_newline() -> None:
    assert decode(b"data: first\ndata: second\r\ndata:third\n\n") == ["first\nsecond\nthird"]


def test_comments_and_other_fields_are_ignored() -> None:
    stream = b": keep-alive\nevent: message\nid: 7\nretry: 100\ndata: x\n\n:\n\n"
    assert decode(stream) == ["x"]


def test_only_one_leading_space_is_stripped() -> None:
    assert decode(b"data:  two spaces\n\ndata:none\n\n") == [" two spaces", "none"]


def test_data_line_without_colon_adds_an_empty_line() -> None:
    assert decode(b"data\ndata: x\n\n") == ["\nx"]


def test_blank_lines_without_data_make_no_event() -> None:
    assert decode(b"\n\n\r\n: comment\n\n") == []


def test_split_at_every_byte_gives_the_same_events() -> None:
    text = 'data: {"t": "héllo ✓"}\r\n\r\ndata: a\r\ndata: b\r\n\r\ndata: [DONE]\r\n\r\n'
    stream = text.encode()
    expected = ['{"t": "héllo ✓"}', "a\nb", DONE]
    for cut in range(len(stream) + 1):
        assert decode(stream[:cut], stream[cut:]) == expected, f"split at {cut}"
    assert decode(*(stream[i : i + 1] for i in range(len(stream)))) == expected


def test_crlf_split_between_chunks_is_one_line_ending() -> None:
    # Were the "\n" taken as a second line ending, "a" would be dispatched alone.
    assert decode(b"data: a\r", b"\ndata: b\r\n\r\n") == ["a\nb"]


def test_unicode_line_separators_inside_json_do_not_split() -> None:
    assert decode('data: {"t": "a\u2028b\u0085c"}\n\n'.encode()) == ['{"t": "a\u2028b\u0085c"}']


def test_leading_byte_order_mark_is_dropped() -> None:
    assert decode(b"\xef\xbb\xbfdata: x\n\n") == ["x"]


def test_close_keeps_a_final_event_without_blank_line() -> None:
    assert decode(b"data: a\n\ndata: [DONE]") == ["a", DONE]
    assert decode(b"data: a\n\ndata: [DONE]\n") == ["a", DONE]


def test_close_with_nothing_pending_returns_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n") == ["a"]
    assert decoder.close() == []


def test_feed_line_reports_the_event_it_ends() -> None:
    decoder = SSEDecoder()
    assert decoder.feed_line("data: a") is None
    assert decoder.feed_line("") == "a"


async def test_aiter_sse_batches_reads_an_async_byte_stream() -> None:
    async def chunks():
        for piece in (b"data: o", b"ne\n\nda", b"ta: two\n\ndata: [DONE]"):
            yield piece

    batches = [batch async for batch in aiter_sse_batches(chunks())]
    assert [data for batch in batches for data in batch] == ["one", "two", DONE]
    # One list per chunk that completes an event; [DONE] without its blank line at close.
    assert batches == [["one"], ["two"], [DONE]]
