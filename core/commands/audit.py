"""An audit log as people read it: ``/persona history`` and ``/tools history``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core.types import PersonaChange, ToolsChange

__all__ = ["format_history"]


def format_history(
    changes: Sequence[PersonaChange] | Sequence[ToolsChange],
    summary: Callable[[Any], str],
    *,
    title: str,
    empty: str,
) -> str:
    """One line a change, newest first: when, by whom, from what (``summary`` of the
    value before) to what."""
    if not changes:
        return empty
    lines = [f"{title}, newest first:"]
    for change in changes:
        when = change.changed_at.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"  {when} by {change.actor_name or change.actor_id}: "
                     f"{summary(change.before)} → {summary(change.after)}")
    return "\n".join(lines)
