"""Files for the attachment tests, made here so that no binary fixture needs keeping."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

__all__ = [
    "saved",
    "png",
    "png_with_text_chunk",
    "jpeg",
    "gif",
    "webp",
    "colourful",
    "png_claiming",
    "png_of_zeros",
    "pdf",
]


def saved(img: Image.Image, fmt: str, **options) -> bytes:
    """``img`` encoded as ``fmt``, e.g. "PNG"."""
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def colourful(size: tuple[int, int]) -> Image.Image:
    """An RGB image with thousands of colours, like a photo (cheap to make)."""
    red = Image.linear_gradient("L").resize(size)
    green = Image.linear_gradient("L").rotate(90).resize(size)
    blue = Image.radial_gradient("L").resize(size)
    return Image.merge("RGB", (red, green, blue))


def png(size: tuple[int, int], mode: str = "RGB", colour: object = "steelblue", **options) -> bytes:
    return saved(Image.new(mode, size, colour), "PNG", **options)


def png_with_text_chunk(size: tuple[int, int], key: str, value: str) -> bytes:
    info = PngInfo()
    info.add_text(key, value)
    return png(size, pnginfo=info, icc_profile=b"not a real profile")


def jpeg(img: Image.Image, *, orientation: int | None = None, make: str | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if make is not None:
        exif[ExifTags.Base.Make] = make
    return saved(img, "JPEG", quality=90, exif=exif)


def gif(size: tuple[int, int]) -> bytes:
    return saved(Image.new("P", size, 3), "GIF")


def webp(img: Image.Image) -> bytes:
    return saved(img, "WEBP")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bytes(width: int, height: int, idat: bytes) -> bytes:
    # Bit depth 1, greyscale: the smallest pixels a PNG can claim.
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` but holds (almost) no pixel data."""
    return _png_bytes(width, height, zlib.compress(b""))


def png_of_zeros(width: int, height: int) -> bytes:
    """A valid, tiny PNG that decodes to ``width`` × ``height`` black pixels: a real bomb."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed bits
    squeeze = zlib.compressobj(9)
    idat = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    return _png_bytes(width, height, idat)


def _pdf_string(line: str) -> str:
    return "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _content(lines: list[str]) -> bytes:
    shown = " T* ".join(f"{_pdf_string(line)} Tj" for line in lines)
    return f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode("latin-1")


def pdf(pages: list[list[str]]) -> bytes:
    """A minimal, valid PDF with one text line per string, in Helvetica (latin-1 only)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (" ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages))).encode(), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        content = _content(lines)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
