"""The errors chatwright raises, and the short text a user is shown for each.

    ChatwrightError
    ├── ChatModelError              the chat API failed
    │   ├── AuthenticationError     wrong or missing key (401/403)
    │   ├── RateLimitedError        429 after retries; ``retry_after`` seconds
    │   ├── QuotaExhaustedError     429 insufficient_quota: billing, not load; never retried
    │   ├── ContextTooLongError     the context does not fit the model
    │   ├── ModelUnavailableError   5xx, connection errors, timeouts after retries
    │   │   └── AnswerTooSlowError  the answer went on past the overall deadline
    │   ├── MalformedResponseError  unparseable or cut-off response
    │   └── RequestRejectedError    another 4xx: the API refused what was sent
    ├── LimitExceeded               a limit from settings
    │   ├── UserRateLimited         too many messages from one user; ``retry_after``
    │   ├── DailyBudgetExceeded     the channel used its tokens for today
    │   │   └── DailySpendExceeded  … or its money (CHANNEL_DAILY_BUDGET_USD)
    │   └── MessageTooLong          the incoming text is over the input limit
    ├── CommandError                a command was misused; its text says how
    │   └── PermissionDenied        only admins may do that here
    ├── AttachmentRefused           a file was not read: a bomb, damaged, encrypted, too slow
    ├── StoreError                  the database failed
    └── ConfigurationError          settings are missing or invalid

Library errors are translated at the boundary (``raise X(...) from exc``), so adapters
only ever handle this tree: ``user_message(exc)`` for the user, the exception for the log.
"""

from __future__ import annotations

__all__ = [
    "ChatwrightError",
    "ChatModelError",
    "AuthenticationError",
    "RateLimitedError",
    "QuotaExhaustedError",
    "ContextTooLongError",
    "ModelUnavailableError",
    "AnswerTooSlowError",
    "MalformedResponseError",
    "RequestRejectedError",
    "LimitExceeded",
    "UserRateLimited",
    "DailyBudgetExceeded",
    "DailySpendExceeded",
    "MessageTooLong",
    "CommandError",
    "PermissionDenied",
    "AttachmentRefused",
    "StoreError",
    "ConfigurationError",
    "user_message",
]


class ChatwrightError(Exception):
    """Base of every error chatwright raises on purpose."""

    user_text = "Sorry, something went wrong on my side. Please try again."

    def user_message(self) -> str:
        return self.user_text


class ChatModelError(ChatwrightError):
    user_text = "Sorry, the language model failed to answer. Please try again."


class AuthenticationError(ChatModelError):
    user_text = "I can't reach the language model: its API key was refused. Please tell an admin."


class RateLimitedError(ChatModelError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def user_message(self) -> str:
        return "The language model is busy right now." + _try_again_in(self.retry_after)


class QuotaExhaustedError(ChatModelError):
    user_text = "The language model's quota or credit is used up. Please tell an admin."


class ContextTooLongError(ChatModelError):
    user_text = "This conversation is too long for the model. Use /forget to start afresh."


class ModelUnavailableError(ChatModelError):
    user_text = "The language model is unavailable right now. Please try again in a minute."


class AnswerTooSlowError(ModelUnavailableError):
    """The answer went on past OPENAI_DEADLINE_SECONDS and was cut off."""

    user_text = "The language model took too long to answer, so I stopped it. Please try again, or ask for less."


class MalformedResponseError(ChatModelError):
    user_text = "The language model sent an answer I couldn't read. Please try again."


class RequestRejectedError(ChatModelError):
    user_text = "The language model refused the request. Please tell an admin."


class LimitExceeded(ChatwrightError):
    pass


class UserRateLimited(LimitExceeded):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def user_message(self) -> str:
        return "You're sending messages faster than I can take them." + _try_again_in(
            self.retry_after
        )


class DailyBudgetExceeded(LimitExceeded):
    user_text = "This channel has used its token budget for today. It resets at midnight UTC."


class DailySpendExceeded(DailyBudgetExceeded):
    """The budget in money (CHANNEL_DAILY_BUDGET_USD) rather than in tokens."""

    user_text = "This channel has used its budget for today. It resets at midnight UTC."


class MessageTooLong(LimitExceeded):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"message of {length} characters is over the limit of {limit}")
        self.length = length
        self.limit = limit

    def user_message(self) -> str:
        return f"That message is too long ({self.length:,} characters; the limit is {self.limit:,})."


class CommandError(ChatwrightError):
    """A misused command. Its message is written for the user and shown as it is."""

    def user_message(self) -> str:
        return str(self)


class PermissionDenied(CommandError):
    pass


class AttachmentRefused(ChatwrightError):
    """A file that was not read. ``reason`` says why, to follow "I couldn't read it: ".

    ``core.attachments`` turns it into a note for the model and a notice for the user; it
    never reaches an adapter on its own.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def user_message(self) -> str:
        return f"I couldn't read that file: {self.reason}."


class StoreError(ChatwrightError):
    user_text = "Sorry, I couldn't reach my memory. Please try again."


class ConfigurationError(ChatwrightError):
    """Settings are missing or invalid. Its message says what to set."""

    def user_message(self) -> str:
        return str(self)


def user_message(exc: BaseException) -> str:
    """The short, friendly text to show a user for ``exc``; never a traceback."""
    if isinstance(exc, ChatwrightError):
        return exc.user_message()
    return ChatwrightError.user_text


def _try_again_in(seconds: float | None) -> str:
    if seconds is None or seconds <= 0:
        return " Please try again shortly."
    return f" Please try again in {max(1, round(seconds))} s."
