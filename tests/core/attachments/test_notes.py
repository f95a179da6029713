"""The words for model and user, and the limits' checks (core/attachments/notes.py, limits.py)."""

from __future__ import annotations

import pytest

from core.attachments.limits import AttachmentLimits
from core.attachments.notes import display_name, human_size, notices, unreadable_note
from core.attachments.types import NoticeKind
from core.errors import ConfigurationError


def test_display_names_fit_on_one_line_without_backticks():
    assert display_name("report\n```final```.md") == "report final .md"
    assert display_name("  tabs\tand   spaces ") == "tabs and spaces"
    assert display_name("") == "unnamed file"
    assert len(display_name("x" * 500)) == 100


@pytest.mark.parametrize(
    "size, text",
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (20 * 1024 * 1024, "20 MiB"),
        (5 * 1024**3, "5.0 GiB"),
    ],
)
def test_human_sizes(size, text):
    assert human_size(size) == text


def test_an_unreadable_file_is_named_with_type_and_size():
    assert (
        unreadable_note("x.zip", "application/zip", 2048)
        == "[file: x.zip, application/zip, 2.0 KiB — not readable]"
    )
    assert unreadable_note("a.pdf", "application/pdf", 10, "it is encrypted").endswith(
        "— not readable: it is encrypted]"
    )


def test_each_kind_of_notice_comes_once_naming_every_file():
    events = [
        (NoticeKind.NOT_READABLE, "a.zip"),
        (NoticeKind.REFUSED, "b.pdf (it is damaged)"),
        (NoticeKind.NOT_READABLE, "c.mp4"),
        (NoticeKind.REFUSED, "d.png (too many pixels)"),
    ]
    told = notices(events, AttachmentLimits())
    assert [notice.kind for notice in told] == [NoticeKind.NOT_READABLE, NoticeKind.REFUSED]
    assert told[0].text == "I can only see the name, type and size of: a.zip, c.mp4."
    assert told[1].text == "I couldn't read b.pdf (it is damaged); d.png (too many pixels)."


def test_a_long_list_of_names_is_shortened():
    told = notices([(NoticeKind.NO_VISION, f"{n}.png") for n in range(8)], AttachmentLimits())
    assert told[0].text.endswith("0.png, 1.png, 2.png, 3.png, 4.png, and 3 more.")


@pytest.mark.parametrize(
    "field", ["max_bytes", "max_per_message", "image_max_pixels", "text_budget", "pdf_seconds"]
)
def test_limits_must_be_positive(field):
    with pytest.raises(ConfigurationError, match=field):
        AttachmentLimits(**{field: 0})
