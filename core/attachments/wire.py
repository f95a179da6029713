"""The OpenAI Chat Completions content parts that prepared files become (wire shapes)."""

from __future__ import annotations

import base64
from typing import Literal, TypedDict

__all__ = ["ImageUrl", "ImageContentPart", "TextContentPart", "ContentPart", "data_url"]


class ImageUrl(TypedDict):
    url: str  # "data:image/png;base64,…"


class ImageContentPart(TypedDict):
    type: Literal["image_url"]
    image_url: ImageUrl


class TextContentPart(TypedDict):
    type: Literal["text"]
    text: str


ContentPart = ImageContentPart | TextContentPart


def data_url(mime_type: str, data: bytes) -> str:
    """An encoded image as the ``url`` of an image part: "data:image/png;base64,…"."""
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"
