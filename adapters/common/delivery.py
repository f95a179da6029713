"""Delivering an answer's final parts: retried on transient errors, never posted twice.

Part ``i`` goes into the message already posted for it (a placeholder, a preview, a
message from before a restart) when there is one, else into a new message. A call
that fails transiently (429, 5xx, network) is tried again after the platform's
``Retry-After`` or a growing back-off. An edit that keeps failing, or cannot succeed,
gives way to a new message (the old one is deleted if it can be). Progress is saved
after every part but the last (which the caller saves with the answer's final state),
so a restart in the middle goes on from the next part.

What the platform accepted but the bot died before saving can be posted again after a
restart: that window (one API call) is the at-least-once side of every chat platform.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from adapters.common.renderer import Renderer
from core.answers import Delivery

__all__ = ["DeliveryFailed", "RetryPolicy", "deliver"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class DeliveryFailed(Exception):
    """A part could not be posted. ``transient``: trying later (after a restart, or
    when the platform is back) may work."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    edit_attempts: int = 3
    post_attempts: int = 5
    # Back-off when the platform gives no Retry-After: base, 2 × base, 4 × base, …
    backoff_base: float = 0.25
    max_wait: float = 30.0

    def wait(self, attempt: int, retry_after: float) -> float:
        return min(self.max_wait, retry_after if retry_after > 0 else self.backoff_base * 2**attempt)


async def deliver(
    renderer: Renderer,
    parts: list[str],
    delivery: Delivery,
    save: Callable[[Delivery], Awaitable[object]],
    policy: RetryPolicy = RetryPolicy(),
) -> Delivery:
    """Show every part not yet shown; the delivery reached (every part final)."""
    for index, part in enumerate(parts):
        if index < delivery.final:
            continue
        existing = delivery.messages[index] if index < len(delivery.messages) else None
        if existing is not None and await _edited(renderer, existing, part, policy):
            delivery = delivery.with_final(index + 1)
        else:
            posted = await _posted(renderer, part, index, policy)
            delivery = delivery.with_message(index, posted).with_final(index + 1)
            if existing is not None:
                await _delete_quietly(renderer, existing)
        if index < len(parts) - 1:
            await save(delivery)
    return delivery


async def _edited(renderer: Renderer, message_id: str, part: str, policy: RetryPolicy) -> bool:
    try:
        await _retrying(renderer, lambda: renderer.edit(message_id, part), policy.edit_attempts, policy)
    except Exception as exc:  # noqa: BLE001 - any failure: post the part anew instead
        log.warning("could not edit message %s (%s); posting the answer as a new message",
                    message_id, _describe(exc))
        return False
    return True


async def _posted(renderer: Renderer, part: str, index: int, policy: RetryPolicy) -> str:
    try:
        return await _retrying(renderer, lambda: renderer.post(part, index), policy.post_attempts, policy)
    except Exception as exc:  # noqa: BLE001 - classified for the caller
        transient = renderer.retry_after(exc) is not None
        raise DeliveryFailed(f"could not post part {index + 1}: {_describe(exc)}", transient=transient) from exc


async def _retrying(
    renderer: Renderer, call: Callable[[], Awaitable[_T]], attempts: int, policy: RetryPolicy
) -> _T:
    for attempt in range(attempts):
        try:
            return await call()
        except Exception as exc:
            retry_after = renderer.retry_after(exc)
            if retry_after is None or attempt == attempts - 1:
                raise
            await asyncio.sleep(policy.wait(attempt, retry_after))
    raise ValueError("attempts must be at least 1")


async def _delete_quietly(renderer: Renderer, message_id: str) -> None:
    try:
        await renderer.delete(message_id)
    except Exception as exc:  # noqa: BLE001 - a stale placeholder is untidy, not harmful
        log.info("could not delete message %s: %s", message_id, _describe(exc))


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
