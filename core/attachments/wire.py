"""The OpenAI Chat Completions content parts that prepared files become (wire shapes)."""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = ["ImageUrl", "ImageContentPart", "TextContentPart", "ContentPart"]


class ImageUrl(TypedDict):
    url: str  # "data:image/png;base64,…"


class ImageContentPart(TypedDict):
    type: Literal["image_url"]
    image_url: ImageUrl


class TextContentPart(TypedDict):
    type: Literal["text"]
    text: str


ContentPart = ImageContentPart | TextContentPart
