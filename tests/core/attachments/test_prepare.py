"""``prepare``: a message's files → parts for the model, notices (core/attachments/prepare.py)."""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import random
import time
import zipfile

import pytest
from PIL import Image

from core.attachments import (
    AttachmentLimits,
    FileNote,
    ImagePart,
    IncomingFile,
    NoticeKind,
    TextPart,
    image_tokens,
    prepare,
)
from tests.core.attachments import samples

# The module, not the function of the same name that the package exports.
images_module = importlib.import_module("core.attachments.images")

PYTHON = b"def greet(name):\n    return f'hello {name}'\n"
CSV = b"id,name,score\n1,Ann,9.5\n2,Bo,7\n"


def file(name: str, data: bytes, mime: str = "") -> IncomingFile:
    return IncomingFile(name, mime, data)


def kinds(prepared) -> list[NoticeKind]:
    return [notice.kind for notice in prepared.notices]


def a_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("inside.txt", "hello")
    return out.getvalue()


async def test_an_image_becomes_an_openai_image_part():
    prepared = await prepare([file("shot.png", samples.png((3000, 1500)))], vision=True)
    (part,) = prepared.parts
    assert isinstance(part, ImagePart)
    assert (part.name, part.mime_type, part.width, part.height) == (
        "shot.png",
        "image/png",
        1568,
        784,
    )
    header, _, encoded = part.data_url.partition(",")
    assert header == "data:image/png;base64"
    data = base64.b64decode(encoded)
    assert Image.open(io.BytesIO(data)).size == (1568, 784)
    assert (part.size, part.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert part.tokens == image_tokens(1568, 784) == prepared.image_tokens
    assert prepared.content_parts() == [{"type": "image_url", "image_url": {"url": part.data_url}}]
    assert prepared.notices == ()


async def test_code_and_csv_are_inlined_as_fenced_text_by_content_not_name():
    prepared = await prepare([file("script", PYTHON), file("scores.dat", CSV)], vision=True)
    code, table = prepared.parts
    assert isinstance(code, TextPart) and isinstance(table, TextPart)
    assert code.text == "[file: script, text, 44 B]\n```\n" + PYTHON.decode() + "```"
    assert "1,Ann,9.5" in table.text and not table.truncated
    assert prepared.content_parts()[0] == {"type": "text", "text": code.text}
    assert prepared.notices == ()


async def test_a_binary_named_notes_txt_is_not_text():
    blob = bytes(range(256)) * 4
    prepared = await prepare([file("notes.txt", blob, "text/plain")], vision=True)
    assert prepared.parts == (
        FileNote(
            "notes.txt", "[file: notes.txt, application/octet-stream, 1.0 KiB — not readable]"
        ),
    )
    assert kinds(prepared) == [NoticeKind.NOT_READABLE]


async def test_a_zip_named_bin_is_named_as_not_readable():
    data = a_zip()
    prepared = await prepare([file("x.bin", data)], vision=True)
    (note,) = prepared.parts
    assert note.text.startswith("[file: x.bin, application/zip, ") and note.text.endswith(
        "— not readable]"
    )
    assert prepared.notices[0].text == "I can only see the name, type and size of: x.bin."


async def test_a_pdf_becomes_its_text():
    data = samples.pdf([["Quarterly report", "Revenue grew."], ["Appendix"]])
    (part,) = (await prepare([file("report.pdf", data)], vision=True)).parts
    assert isinstance(part, TextPart)
    assert part.text.startswith(
        "[file: report.pdf, PDF, 2 pages]\n```\n--- page 1 ---\nQuarterly report"
    )
    assert "--- page 2 ---\nAppendix" in part.text


async def test_files_past_the_count_limit_are_named_and_the_user_told_once():
    files = [file(f"{n}.txt", b"note %d" % n) for n in range(12)]
    prepared = await prepare(files, AttachmentLimits(max_per_message=10), vision=True)
    assert len(prepared.parts) == 12
    assert all(isinstance(part, TextPart) for part in prepared.parts[:10])
    assert prepared.parts[10] == FileNote(
        "10.txt", "[file: 10.txt — not read: over the limit of 10 files a message]"
    )
    assert kinds(prepared) == [NoticeKind.TOO_MANY]
    assert (
        prepared.notices[0].text
        == "I read only the first 10 files of a message, not: 10.txt, 11.txt."
    )


async def test_a_file_over_the_byte_limit_is_not_read():
    limits = AttachmentLimits(max_bytes=1024)
    big = file("big.log", b"x" * 2000)
    not_downloaded = IncomingFile("movie.mov", "video/quicktime", b"", declared_size=3 * 1024**3)
    prepared = await prepare([big, not_downloaded], limits, vision=True)
    assert prepared.parts == (
        FileNote(
            "big.log",
            "[file: big.log, text/plain, 2.0 KiB — not readable: over the limit of 1.0 KiB]",
        ),
        FileNote(
            "movie.mov",
            "[file: movie.mov, video/quicktime, 3.0 GiB — not readable: over the limit of 1.0 KiB]",
        ),
    )
    assert prepared.notices[0].text == "I don't read files over 1.0 KiB: big.log, movie.mov."


async def test_a_long_file_is_cut_with_a_visible_note_and_the_user_told():
    log = "".join(
        f"2024-05-01 12:00:{n % 60:02} INFO request {n} served\n" for n in range(2000)
    ).encode()
    prepared = await prepare(
        [file("app.log", log)], AttachmentLimits(text_budget=1000), vision=True
    )
    (part,) = prepared.parts
    assert part.truncated and part.shown_chars <= 1000 and part.total_chars == len(log)
    assert part.text.endswith(
        f"```\n[… truncated: {part.shown_chars:,} of {len(log):,} characters shown]"
    )
    assert kinds(prepared) == [NoticeKind.TRUNCATED]


async def test_files_share_the_text_budget_so_a_small_one_is_kept_whole():
    small, huge = file("question.md", b"Why does it fail?\n"), file("dump.txt", b"y" * 50_000)
    prepared = await prepare([huge, small], AttachmentLimits(text_budget=1000), vision=True)
    dump, question = prepared.parts
    assert not question.truncated and question.shown_chars == 18
    assert dump.shown_chars == 1000 - 18


async def test_a_long_pdf_says_which_pages_were_read():
    data = samples.pdf([[f"Page {n} " + "word " * 40] for n in range(1, 21)])
    prepared = await prepare(
        [file("book.pdf", data)], AttachmentLimits(text_budget=2000), vision=True
    )
    (part,) = prepared.parts
    assert part.truncated
    assert "of 20 read]" in part.text and "[… truncated: " in part.text
    assert kinds(prepared) == [NoticeKind.TRUNCATED]


async def test_without_vision_images_are_described_and_the_user_told_once():
    files = [
        file("a.png", samples.png((300, 200))),
        file("b.jpg", samples.jpeg(samples.colourful((40, 30)))),
    ]
    prepared = await prepare(files, vision=False)
    assert prepared.parts == (
        FileNote("a.png", "[image: a.png, 300×200]"),
        FileNote("b.jpg", "[image: b.jpg, 40×30]"),
    )
    assert prepared.image_tokens == 0
    assert kinds(prepared) == [NoticeKind.NO_VISION]
    assert (
        prepared.notices[0].text
        == "The model here can't see images, only their names and sizes: a.png, b.jpg."
    )


async def test_a_bomb_and_a_malformed_pdf_are_refused_and_the_rest_still_served():
    files = [
        file("bomb.png", samples.png_of_zeros(9000, 9000)),
        file("broken.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 4),
        file("fine.py", PYTHON),
    ]
    started = time.perf_counter()
    prepared = await prepare(files, vision=True)
    assert time.perf_counter() - started < 1.0
    bomb, broken, fine = prepared.parts
    assert bomb.text.startswith("[file: bomb.png, image/png, ") and "megapixels]" in bomb.text
    assert broken.text.endswith("— not readable: it is damaged or not really a PDF]")
    assert isinstance(fine, TextPart)
    assert kinds(prepared) == [NoticeKind.REFUSED]
    assert prepared.notices[0].text.startswith("I couldn't read bomb.png (at 9,000×9,000 pixels")
    # …and the next message is served as usual.
    assert isinstance(
        (await prepare([file("a.png", samples.png((8, 8)))], vision=True)).parts[0], ImagePart
    )


async def test_the_pdfs_of_a_message_share_one_time_bound():
    pdfs = [file(f"{n}.pdf", samples.pdf([["text"]] * 3)) for n in range(5)]
    started = time.perf_counter()
    prepared = await prepare(pdfs, AttachmentLimits(pdf_seconds=1e-6), vision=True)
    assert time.perf_counter() - started < 0.5
    assert all(isinstance(part, FileNote) for part in prepared.parts)
    assert prepared.parts[-1].text.endswith("the time for reading this message's PDFs ran out]")
    assert kinds(prepared) == [NoticeKind.REFUSED]


async def test_an_unexpected_error_is_logged_and_the_file_named(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(images_module, "encode_image", broken)
    prepared = await prepare([file("a.png", samples.png((8, 8)))], vision=True)
    assert prepared.parts[0].text.endswith("— not readable: something went wrong reading it]")
    assert "reading the file 'a.png' failed" in caplog.text


async def test_each_kind_of_notice_comes_at_most_once():
    files = [
        file("a.zip", a_zip()),
        file("b.zip", a_zip()),
        file("c.png", samples.png((4, 4))),
        file("d.png", samples.png((4, 4))),
    ]
    prepared = await prepare(files, vision=False)
    assert kinds(prepared) == [NoticeKind.NOT_READABLE, NoticeKind.NO_VISION]


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow's word on a damaged JPEG
async def test_prepare_never_raises_whatever_the_bytes():
    rng = random.Random(20240501)
    valid = [
        samples.png((20, 10)),
        samples.jpeg(samples.colourful((16, 16))),
        samples.gif((8, 8)),
        samples.webp(samples.colourful((8, 8))),
        samples.pdf([["text"]]),
        a_zip(),
    ]
    heads = [
        b"",
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff",
        b"GIF89a",
        b"RIFF\x00\x00\x00\x00WEBP",
        b"%PDF-1.4\n",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
    ]
    files = []
    for n in range(400):
        if n % 2:
            data = bytearray(rng.choice(valid))  # a real file, damaged in a few places
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data[: rng.randint(1, len(data))])
        else:
            data = rng.choice(heads) + rng.randbytes(rng.choice([0, 1, 7, 100, 2000]))
        files.append(file(f"fuzz{n}", data))
    started = time.perf_counter()
    for start in range(0, len(files), 10):
        prepared = await prepare(files[start : start + 10], vision=bool(start % 20))
        assert len(prepared.parts) == 10
    assert time.perf_counter() - started < 5.0
