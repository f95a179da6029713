"""Images made safe and small for the model: bounded decode, downscale, fresh encoding.

These functions block (Pillow decodes in C, holding the CPU): call them in a thread.
Every failure is an ``AttachmentRefused``; nothing else escapes.

- Decompression bombs: the size in the header is checked before any pixel is decoded,
  against ``max_source_pixels`` (ours, so Pillow's process-wide ``MAX_IMAGE_PIXELS`` is
  left alone; Pillow still raises its own ``DecompressionBombError`` at 2 × its limit).
- JPEG is decoded at 1/2 … 1/8 scale (``draft``) when that is still at least the size
  sent: a 12 MP phone photo costs a quarter of its pixels.
- Re-encoded as PNG when the image has transparency or at most 256 colours (diagrams,
  simple screenshots: sharp and small), else as JPEG quality 85. Nothing of the original
  file survives: EXIF (GPS, camera), ICC profile and text chunks are dropped, after the
  EXIF orientation has been applied to the pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from core.errors import AttachmentRefused

__all__ = ["EncodedImage", "encode_image", "image_size"]

_JPEG_QUALITY = 85
_PNG_MAX_COLOURS = 256
# Modes that resize well and that PNG or JPEG can hold as they are.
_KEPT_MODES = frozenset({"RGB", "RGBA", "L", "LA"})


@dataclass(frozen=True, slots=True)
class EncodedImage:
    mime_type: str  # "image/png" or "image/jpeg"
    data: bytes
    width: int
    height: int


def encode_image(data: bytes, pil_format: str, *, max_side: int, max_pixels: int) -> EncodedImage:
    """``data`` (an image in ``pil_format``, e.g. "PNG") fitted into ``max_side`` × ``max_side``."""
    try:
        img = _plain(_opened(data, pil_format, max_side, max_pixels))
        # A box reduction by a whole factor first, then Lanczos for the rest, never below
        # the final size: measured on a 4000 × 3000 screenshot, 0.13 s instead of 0.35 s.
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=1.0)
        # Rotated after the resize: the smaller image is cheaper, and the box is square.
        return _encode(_oriented(img))
    except AttachmentRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise AttachmentRefused("it would decode to too many pixels") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError… for bad data
        raise AttachmentRefused("it is damaged or not really an image") from exc


def image_size(data: bytes, pil_format: str) -> tuple[int, int]:
    """Width and height from the header alone; no pixel is decoded."""
    try:
        with Image.open(io.BytesIO(data), formats=[pil_format]) as img:
            return img.size
    except Image.DecompressionBombError as exc:
        raise AttachmentRefused("it would decode to too many pixels") from exc
    except Exception as exc:
        raise AttachmentRefused("it is damaged or not really an image") from exc


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise AttachmentRefused(
            f"at {width:,}×{height:,} pixels it is over the limit of "
            f"{max_pixels / 1e6:g} megapixels"
        )


def _fitted(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _opened(data: bytes, pil_format: str, max_side: int, max_pixels: int) -> Image.Image:
    """The image with its header read and checked; no pixel decoded yet."""
    # No ``with``: a BytesIO holds no file to close, and the image must outlive this call.
    img = Image.open(io.BytesIO(data), formats=[pil_format])
    _check_pixels(img.size, max_pixels)
    if pil_format == "JPEG":
        img.draft("RGB", _fitted(img.size, max_side))
    return img


def _plain(img: Image.Image) -> Image.Image:
    """``img`` decoded in a mode that resizes well: RGB, RGBA, L or LA."""
    # ``img`` is rebound at each conversion, so no more than two full-size copies (the
    # one converted and the new one) exist at any moment.
    # Palette and odd modes are resampled badly (nearest neighbour) or not at all.
    if img.mode not in _KEPT_MODES:
        img = img.convert(_mode_for(img))
    # A screenshot is often RGBA with every pixel opaque. Without the alpha it resizes
    # without a premultiplied copy and may become a JPEG.
    if img.mode in ("RGBA", "LA") and img.getextrema()[-1] == (255, 255):
        img = img.convert(img.mode[:-1])
    img.load()
    return img


def _mode_for(img: Image.Image) -> str:
    if img.mode == "1":
        return "L"  # a bilevel image takes a third of the memory as grey than as RGB
    return "RGBA" if img.has_transparency_data else "RGB"


def _oriented(img: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # unreadable EXIF: show the pixels as stored rather than nothing
        return img


def _encode(img: Image.Image) -> EncodedImage:
    img.info.clear()  # EXIF, ICC profile, text chunks: PNG's encoder would copy some
    buffer = io.BytesIO()
    if img.mode in ("RGBA", "LA") or img.getcolors(_PNG_MAX_COLOURS) is not None:
        img.save(buffer, "PNG")
        mime = "image/png"
    else:
        img.save(buffer, "JPEG", quality=_JPEG_QUALITY)
        mime = "image/jpeg"
    return EncodedImage(mime, buffer.getvalue(), img.width, img.height)
