"""Running a core command for any platform: the result, or a friendly refusal, never an
exception (the platform's user always gets an answer; the log gets the detail).

The access policy is asked first (``access``, the adapter's pipeline's gate): a refused
user gets the polite line instead, every time. A command's answer is ephemeral, seen by
that user only, and a command left unanswered looks broken (Discord: "The application did
not respond"), so the once-an-hour limit of messages does not apply.
"""

from __future__ import annotations

import logging

from adapters.common.access import AccessGate
from core.access import REFUSED_TEXT
from core.engine import Engine
from core.errors import ChatwrightError, user_message
from core.types import CommandRequest, CommandResult

__all__ = ["run_command"]

log = logging.getLogger(__name__)


async def run_command(engine: Engine, request: CommandRequest, access: AccessGate | None = None) -> CommandResult:
    if access is not None and access.refused(request, f"command /{request.name}"):
        return CommandResult(REFUSED_TEXT)
    try:
        return await engine.run_command(request)
    except ChatwrightError as exc:
        # Refusals (no permission, a misused command) are the user's business, not an error.
        log.info("%s command /%s refused: %r", request.conversation.platform, request.name, exc)
        return CommandResult(user_message(exc))
    except Exception as exc:  # noqa: BLE001 - see the module docstring
        log.exception("%s command /%s failed", request.conversation.platform, request.name)
        return CommandResult(user_message(exc))
