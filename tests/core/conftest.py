from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.store.memory import InMemoryStore
from core.types import ConversationRef, IncomingMessage


@pytest.fixture
async def memory_store() -> AsyncIterator[InMemoryStore]:
    store = InMemoryStore()
    await store.open()
    yield store
    await store.aclose()


CHANNEL = ConversationRef("test", "W1", "C1")


def message(text: str, *, conversation: ConversationRef = CHANNEL, user: str = "U1", **kw) -> IncomingMessage:
    return IncomingMessage(conversation, user, f"name-{user}", text, **kw)
