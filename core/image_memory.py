"""Images in a conversation's memory: how long they are shown, when their bytes go,
and what the user is told when the model refuses them."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from core.attachments import AttachmentLimits
from core.types import Turn

__all__ = ["IMAGES_REFUSED", "FilePolicy", "ImageWindow", "images_of"]

# A turn's or a chat message's images. The history is scanned for them on every message,
# and ``any(map(images_of, turns))`` does it in C: most turns have none.
images_of = attrgetter("images")
# Told to the user before an answer the model wrote without seeing the images.
IMAGES_REFUSED = (
    "Note: The model here refused the images, so I answered without seeing them. An admin "
    "can choose a model that can see, or turn images off for this channel (vision = false).\n\n"
)


@dataclass(frozen=True, slots=True)
class FilePolicy:
    """What the engine does with files and images (settings in brackets)."""

    limits: AttachmentLimits = AttachmentLimits()
    # Whether models take images, unless a persona says [OPENAI_VISION].
    vision: bool = True
    # Keep every image's bytes in the store until /forget [STORE_IMAGES]; else only
    # while they are shown, then just the reference.
    store_images: bool = False
    # Questions after an image's own that still see it [IMAGE_MEMORY_TURNS].
    image_memory_turns: int = 3


class ImageWindow:
    """Watches the pages of history, newest first as read, for user turns with images
    past the questions that may still see them (``FilePolicy.image_memory_turns``)."""

    __slots__ = ("_policy", "_users", "expired")

    def __init__(self, policy: FilePolicy) -> None:
        self._policy = policy
        self._users = 0
        self.expired = False

    def see(self, page: list[Turn]) -> None:
        if self._policy.store_images:
            return
        for turn in reversed(page):
            if turn.role != "user":
                continue
            if turn.images and self._users >= self._policy.image_memory_turns:
                self.expired = True
            self._users += 1
