"""Running a core command for any platform: the result, or a friendly refusal, never an
exception (the platform's user always gets an answer; the log gets the detail)."""

from __future__ import annotations

import logging

from core.engine import Engine
from core.errors import ChatwrightError, user_message
from core.types import CommandRequest, CommandResult

__all__ = ["run_command"]

log = logging.getLogger(__name__)


async def run_command(engine: Engine, request: CommandRequest) -> CommandResult:
    try:
        return await engine.run_command(request)
    except ChatwrightError as exc:
        # Refusals (no permission, a misused command) are the user's business, not an error.
        log.info("%s command /%s refused: %r", request.conversation.platform, request.name, exc)
        return CommandResult(user_message(exc))
    except Exception as exc:  # noqa: BLE001 - see the module docstring
        log.exception("%s command /%s failed", request.conversation.platform, request.name)
        return CommandResult(user_message(exc))
