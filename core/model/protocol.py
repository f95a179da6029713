"""The boundary between the engine and a chat model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from core.types import ChatMessage, ChatParams, ToolCall, Usage

__all__ = ["ChatModel", "StreamItem"]

# A stream yields text deltas as they are written, then each ``ToolCall`` the model asked
# for (whole, in the model's order; only when ``ChatParams.tools`` offered any), then at
# most one ``Usage`` last.
StreamItem = str | ToolCall | Usage


class ChatModel(Protocol):
    """Anything that answers a list of chat messages."""

    def stream(
        self, messages: Sequence[ChatMessage], params: ChatParams
    ) -> AsyncIterator[StreamItem]:
        """Stream the answer. Raises ``ChatModelError`` subclasses, also mid-stream.

        Tool calls come only after all the text, and only once the stream has ended
        well: a call whose arguments were cut off is never passed on.

        A stream that ends without the model's own end marker raises
        ``MalformedResponseError``: a cut-off answer is never passed off as complete.
        """
        ...

    async def list_models(self) -> list[str]:
        """The model ids the API offers (``GET /models``); used by ``chatwright doctor``."""
        ...

    async def aclose(self) -> None:
        """Release connections. Closing twice is harmless."""
        ...
