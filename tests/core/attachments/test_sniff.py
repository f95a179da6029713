"""What a file is, by its bytes alone (core/attachments/sniff.py)."""

from __future__ import annotations

import codecs

import pytest

from core.attachments.sniff import sniff
from tests.core.attachments.samples import colourful, gif, jpeg, pdf, png, webp

PYTHON = b'import os\n\n\ndef main() -> None:\n    print(os.getcwd())  # "where"\n'
CSV = b"name,amount,date\nAlice,12.50,2024-01-02\nBob,7,2024-01-03\n"


@pytest.mark.parametrize(
    "data, mime",
    [
        (png((4, 4)), "image/png"),
        (jpeg(colourful((8, 8))), "image/jpeg"),
        (gif((4, 4)), "image/gif"),
        (webp(colourful((8, 8))), "image/webp"),
    ],
)
def test_images_are_told_by_their_magic_bytes(data, mime):
    assert sniff(data).kind == "image"
    assert sniff(data).mime_type == mime


def test_a_pdf_is_told_by_its_header_even_after_some_binary_junk():
    assert sniff(pdf([["hi"]])).kind == "pdf"
    assert sniff(b"\x00\x01\x02\x03" * 50 + pdf([["hi"]])).kind == "pdf"


def test_text_that_only_mentions_the_pdf_header_stays_text():
    assert sniff(b"Our files start with %PDF-1.7, as the spec says.\n").kind == "text"


@pytest.mark.parametrize(
    "data, mime",
    [
        (b"PK\x03\x04\x14\x00\x00\x00rest of a zip", "application/zip"),
        (b"\x1f\x8b\x08\x00gzip", "application/gzip"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"\x7fELF\x02\x01\x01\x00", "application/x-executable"),
    ],
)
def test_other_binary_formats_are_named_but_not_readable(data, mime):
    assert sniff(data).kind == "other"
    assert sniff(data).mime_type == mime


@pytest.mark.parametrize(
    "data", [PYTHON, CSV, b'{"a": [1, 2, {"b": null}]}', b"", b"# Title\n\n- item\n"]
)
def test_source_code_csv_json_and_markdown_are_text_by_content(data):
    assert sniff(data).kind == "text"
    assert sniff(data).encoding == "utf-8"


def test_a_log_with_terminal_colours_is_text():
    log = b"\x1b[32mINFO\x1b[0m started\n" * 50
    assert sniff(log).kind == "text"


def test_utf16_with_a_byte_order_mark_is_text():
    data = codecs.BOM_UTF16_LE + "naïve, 日本語\n".encode("utf-16-le") * 20
    assert sniff(data).kind == "text"
    assert data.decode(sniff(data).encoding) == "naïve, 日本語\n" * 20


def test_windows_1252_is_the_fallback_for_legacy_text():
    data = "Café;Crème brûlée;5€\n".encode("cp1252") * 10
    sniffed = sniff(data)
    assert (sniffed.kind, sniffed.encoding) == ("text", "cp1252")


def test_binary_named_like_text_is_not_text():
    blob = bytes(range(256)) * 16  # every byte value, as in compiled or compressed data
    assert sniff(blob).kind == "other"
    assert sniff(blob).mime_type == "application/octet-stream"


def test_utf8_that_is_mostly_control_characters_is_binary():
    assert sniff(b"ab\x00\x00\x01\x02" * 100).kind == "other"
    # …but a stray one in a long text is tolerated
    assert sniff(b"plain words " * 100 + b"\x00").kind == "text"


def test_a_character_cut_by_the_sniffed_length_does_not_make_text_binary():
    data = "é".encode() * 40_000  # 80 KB: the 64 KiB head ends inside a character
    assert len(data) > 64 * 1024
    assert sniff(data[: 64 * 1024 + 1]).kind == "text"
    assert sniff(data).kind == "text"
