"""Images bounded, downscaled and re-encoded without metadata (core/attachments/images.py)."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from core.attachments.images import encode_image, image_size
from core.attachments.limits import AttachmentLimits
from core.errors import AttachmentRefused
from tests.core.attachments import samples

DEFAULTS = AttachmentLimits()
LIMITS = {"max_side": DEFAULTS.image_max_pixels, "max_pixels": DEFAULTS.max_source_pixels}


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_a_big_png_is_downscaled_to_the_long_side_limit_keeping_its_aspect():
    image = encode_image(samples.png((3000, 1000)), "PNG", **LIMITS)
    assert (image.width, image.height) == (1568, 523)  # 1000 × 1568 / 3000 = 522.7
    assert opened(image.data).size == (1568, 523)


def test_a_small_image_keeps_its_size():
    image = encode_image(samples.png((300, 200)), "PNG", **LIMITS)
    assert (image.width, image.height) == (300, 200)


def test_transparency_keeps_png_and_its_alpha():
    image = encode_image(samples.png((64, 64), "RGBA", (255, 0, 0, 128)), "PNG", **LIMITS)
    assert image.mime_type == "image/png"
    assert opened(image.data).mode == "RGBA"


def test_a_fully_opaque_alpha_channel_is_dropped():
    image = encode_image(
        samples.webp(samples.colourful((64, 64)).convert("RGBA")), "WEBP", **LIMITS
    )
    assert image.mime_type == "image/jpeg"  # many colours and no real alpha: a photo


def test_a_few_colours_stay_png_and_a_photo_becomes_jpeg():
    assert encode_image(samples.gif((50, 50)), "GIF", **LIMITS).mime_type == "image/png"
    photo = samples.saved(samples.colourful((400, 300)), "PNG")
    image = encode_image(photo, "PNG", **LIMITS)
    assert image.mime_type == "image/jpeg"
    assert opened(image.data).format == "JPEG"


def test_a_large_jpeg_is_re_encoded_at_the_limit():
    data = samples.jpeg(samples.colourful((3200, 2400)))
    image = encode_image(data, "JPEG", **LIMITS)
    assert (image.mime_type, image.width, image.height) == ("image/jpeg", 1568, 1176)
    assert image.data != data


def test_exif_is_stripped_after_its_orientation_is_applied():
    # Orientation 6: stored landscape, shown rotated a quarter turn (portrait).
    data = samples.jpeg(samples.colourful((400, 200)), orientation=6, make="Secret Camera Co")
    assert b"Secret Camera Co" in data
    image = encode_image(data, "JPEG", **LIMITS)
    assert (image.width, image.height) == (200, 400)
    assert b"Secret Camera Co" not in image.data
    assert len(opened(image.data).getexif()) == 0


def test_png_text_chunks_and_icc_profiles_are_stripped():
    data = samples.png_with_text_chunk((40, 40), "Author", "Jane Private")
    assert b"Jane Private" in data
    image = encode_image(data, "PNG", **LIMITS)
    assert b"Jane Private" not in image.data
    assert "icc_profile" not in opened(image.data).info


def test_a_header_claiming_ten_billion_pixels_is_refused_before_decoding():
    data = samples.png_claiming(100_000, 100_000)
    started = time.perf_counter()
    with pytest.raises(AttachmentRefused, match="too many pixels"):
        encode_image(data, "PNG", **LIMITS)
    assert time.perf_counter() - started < 0.5


def test_a_tiny_file_decoding_to_81_megapixels_is_refused_quickly():
    bomb = samples.png_of_zeros(9000, 9000)
    assert len(bomb) < 20_000  # ten kilobytes that would decode to 81 M pixels
    started = time.perf_counter()
    with pytest.raises(AttachmentRefused, match="9,000×9,000 pixels.*40 megapixels"):
        encode_image(bomb, "PNG", **LIMITS)
    assert time.perf_counter() - started < 0.5


def test_the_pixel_bound_is_ours_not_pillows_global():
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(AttachmentRefused, match="megapixels"):
        encode_image(samples.png((100, 100)), "PNG", max_side=1568, max_pixels=9_999)
    assert Image.MAX_IMAGE_PIXELS == before


@pytest.mark.parametrize(
    "data, fmt",
    [
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "PNG"),
        (samples.png((50, 50))[:60], "PNG"),  # cut short inside the pixel data
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "JPEG"),
        (samples.png((5, 5)), "JPEG"),  # not the format the sniffer said
    ],
)
def test_a_damaged_image_is_refused_not_raised(data, fmt):
    with pytest.raises(AttachmentRefused, match="damaged"):
        encode_image(data, fmt, **LIMITS)


def test_image_size_reads_the_header_only():
    assert image_size(samples.png_claiming(9000, 9000), "PNG") == (9000, 9000)
    with pytest.raises(AttachmentRefused, match="too many pixels"):
        image_size(samples.png_claiming(100_000, 100_000), "PNG")
