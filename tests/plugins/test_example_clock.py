"""The example plugin's ``time`` tool and ``/time`` command."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.plugins import CommandError, ToolError
from plugins.chatwright_example import time, time_command


async def test_the_time_in_a_zone() -> None:
    text = await time.call({"zone": "Asia/Tokyo"})
    match = re.fullmatch(r"\w+day (\S+) \(JST, Asia/Tokyo\)", text)
    assert match is not None, text
    said = datetime.fromisoformat(match.group(1))
    assert said.utcoffset() == timedelta(hours=9)
    assert abs(datetime.now(ZoneInfo("UTC")) - said) < timedelta(minutes=1)


async def test_utc_when_no_zone_is_given() -> None:
    assert (await time.call({})).endswith("(UTC, UTC)")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", ""])
async def test_an_unknown_zone_tells_the_model_what_to_write(zone: str) -> None:
    with pytest.raises(ToolError, match=f"unknown time zone {re.escape(repr(zone))}; use an IANA name"):
        await time.call({"zone": zone})


def test_the_schema_the_model_sees() -> None:
    assert time.info.parameters["properties"]["zone"] == {
        "type": "string", "default": "UTC",
        "description": 'An IANA time zone name, such as "Europe/Paris" or "America/New_York".'}


async def test_the_command_answers_and_refuses_like_the_tool() -> None:
    assert (await time_command(None, zone="Europe/Paris")).endswith("Europe/Paris)")
    assert [option.name for option in time_command.spec.options] == ["zone"]
    with pytest.raises(CommandError, match="Sorry: unknown time zone 'Nowhere'"):
        await time_command(None, zone="Nowhere")
