"""Which event loop the ``chatwright`` command runs on."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bots import event_loop
from bots.cli import main
from bots.cli_commands import run as run_command


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows")
def test_uvloop_where_it_is_installed():
    loop = event_loop.new_event_loop()
    try:
        assert event_loop.loop_name(loop) == "uvloop"
    finally:
        loop.close()


def test_asyncio_loop_without_uvloop(monkeypatch):
    monkeypatch.setattr(event_loop, "find_spec", lambda name: None)
    loop = event_loop.new_event_loop()
    try:
        assert type(loop).__module__.startswith("asyncio")
        assert event_loop.loop_name(loop) == "asyncio"
    finally:
        loop.close()


@pytest.mark.parametrize("uvloop_installed", [True, False])
def test_async_commands_run_on_the_chosen_loop(monkeypatch, uvloop_installed):
    if uvloop_installed and sys.platform == "win32":
        pytest.skip("uvloop is not installed on Windows")
    seen: list[str] = []

    async def fake_run(args: object) -> int:
        seen.append(event_loop.loop_name(asyncio.get_running_loop()))
        return 0

    monkeypatch.setattr(run_command, "run", fake_run)
    if not uvloop_installed:
        monkeypatch.setattr(event_loop, "find_spec", lambda name: None)
    assert main(["run"]) == 0
    assert seen == ["uvloop" if uvloop_installed else "asyncio"]
