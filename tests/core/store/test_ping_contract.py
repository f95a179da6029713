"""``Store.ping`` (``/readyz``), run against every store: it answers while the store is
open and raises ``StoreError`` once it is closed.

Same fixtures as ``test_contract.py`` (imported, not copied).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.errors import StoreError
from core.store import Store
from tests.core.store.test_contract import (  # noqa: F401 - clock, make_store, store are fixtures
    clock,
    make_store,
    store,
)


async def test_an_open_store_answers_a_ping(store: Store):
    assert await store.ping() is None


async def test_a_closed_store_fails_its_ping(make_store: Callable[[], Store]):
    opened = make_store()
    await opened.open()
    await opened.aclose()
    with pytest.raises(StoreError):
        await opened.ping()
