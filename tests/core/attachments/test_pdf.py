"""A PDF's text, bounded in pages, characters and time (core/attachments/pdf.py)."""

from __future__ import annotations

import io
import time

import pytest
from pypdf import PdfReader, PdfWriter

from core.attachments import pdf as pdf_module
from core.attachments.pdf import read_pdf
from core.errors import AttachmentRefused
from tests.core.attachments.samples import pdf

BOUNDS = {"max_chars": 40_000, "max_pages": 200, "seconds": 10.0}


def encrypted(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def many_pages(count: int) -> bytes:
    return pdf(
        [
            [f"Page {n} line {line}: some words to read." for line in range(10)]
            for n in range(1, count + 1)
        ]
    )


async def test_the_text_of_each_page_is_extracted_under_a_page_marker():
    text = await read_pdf(pdf([["Hello (world)", "second line"], ["page two"]]), **BOUNDS)
    assert text.text == "--- page 1 ---\nHello (world)\nsecond line\n--- page 2 ---\npage two\n"
    assert (text.page_count, text.pages_read, text.timed_out) == (2, 2, False)


async def test_reading_stops_once_the_character_limit_is_reached():
    text = await read_pdf(many_pages(20), max_chars=1000, max_pages=200, seconds=10)
    assert text.page_count == 20
    assert 1 < text.pages_read < 20
    assert "Page 2 line 0" in text.text and "Page 20" not in text.text


async def test_at_most_max_pages_are_read():
    text = await read_pdf(many_pages(5), max_chars=40_000, max_pages=3, seconds=10)
    assert (text.page_count, text.pages_read) == (5, 3)


async def test_a_pdf_that_only_restricts_copying_is_read():
    text = await read_pdf(encrypted(pdf([["open to all"]]), user_password=""), **BOUNDS)
    assert "open to all" in text.text


async def test_a_password_protected_pdf_is_refused():
    with pytest.raises(AttachmentRefused, match="password"):
        await read_pdf(encrypted(pdf([["secret"]]), user_password="hunter2"), **BOUNDS)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n" + bytes(range(256)) * 8,  # garbage after the header
        pdf([["cut short"]])[:200],  # truncated
        b"%PDF-",
    ],
)
async def test_a_malformed_pdf_is_refused_with_a_clear_reason(data):
    with pytest.raises(AttachmentRefused, match="damaged or not really a PDF"):
        await read_pdf(data, **BOUNDS)


async def test_a_pdf_without_text_is_refused_as_probably_scanned():
    with pytest.raises(AttachmentRefused, match="no text"):
        await read_pdf(pdf([[], []]), **BOUNDS)


async def test_the_deadline_is_checked_between_pages():
    with pytest.raises(AttachmentRefused, match="too long"):
        await read_pdf(many_pages(3), max_chars=40_000, max_pages=200, seconds=1e-9)


async def test_a_page_that_never_ends_does_not_stall_the_answer(monkeypatch):
    # Page 2 blocks its thread far past the deadline; the answer comes with page 1.
    real_page_text = pdf_module._page_text

    def slow_second_page(reader, number):
        if number == 1:
            time.sleep(0.5)
        return real_page_text(reader, number)

    monkeypatch.setattr(pdf_module, "_page_text", slow_second_page)
    monkeypatch.setattr(pdf_module, "_GRACE_SECONDS", 0.05)
    started = time.perf_counter()
    text = await read_pdf(many_pages(3), max_chars=40_000, max_pages=200, seconds=0.1)
    assert time.perf_counter() - started < 0.4
    assert text.timed_out and text.pages_read == 1 and text.page_count == 3
    assert "Page 1 line 9" in text.text
