"""``SlackAdapter.connected`` (what ``/readyz`` asks): in HTTP mode, started and not
stopping; in Socket Mode, its WebSocket open as well."""

from __future__ import annotations

import pytest

from tests.adapters.slack.harness import slack_stack
from tests.adapters.slack.test_socket_mode import socket_stack

pytestmark = pytest.mark.e2e


async def test_in_http_mode_connected_while_started(tmp_path):
    async with slack_stack(tmp_path) as stack:
        running = stack.adapter.connected
        await stack.adapter.stop()
        stopped = stack.adapter.connected
    assert (running, stopped) == (True, False)


async def test_in_socket_mode_connected_while_the_socket_is_open(tmp_path):
    async with socket_stack(tmp_path) as (stack, _):
        running = stack.adapter.connected
        socket = stack.adapter._socket
        assert socket is not None and socket.client.current_session is not None
        await socket.client.current_session.close()  # dropped: the SDK reconnects later
        dropped = stack.adapter.connected
    assert (running, dropped) == (True, False)
