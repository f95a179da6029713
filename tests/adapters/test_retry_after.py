"""How each adapter reads a 429's wait from its platform's error."""

from __future__ import annotations

from types import SimpleNamespace

import discord
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from adapters.discord.replies import _retry_after as discord_retry_after
from adapters.slack.errors import retry_after as slack_retry_after


def slack_failure(status: int, headers: dict[str, object]) -> SlackApiError:
    response = SlackResponse(
        client=None, http_verb="POST", api_url="https://slack.test/api/chat.update", req_args={},
        data={"ok": False, "error": "ratelimited"}, headers=headers, status_code=status,
    )
    return SlackApiError("failed", response)


@pytest.mark.parametrize(
    ("headers", "wait"),
    [({"Retry-After": "3"}, 3.0), ({"retry-after": ["7"]}, 7.0), ({}, 1.0), ({"Retry-After": "soon"}, 1.0)],
)
def test_slack_429_wait(headers, wait):
    assert slack_retry_after(slack_failure(429, headers)) == wait


def test_slack_other_failures_are_not_a_wait():
    assert slack_retry_after(slack_failure(500, {"Retry-After": "3"})) is None


def discord_failure(headers: dict[str, str]) -> discord.HTTPException:
    response = SimpleNamespace(status=429, reason="Too Many Requests", headers=headers)
    return discord.HTTPException(response, {"message": "You are being rate limited."})


@pytest.mark.parametrize(("headers", "wait"), [({"Retry-After": "2.5"}, 2.5), ({"Retry-After": "-1"}, 0.0)])
def test_discord_429_wait_from_the_header(headers, wait):
    assert discord_retry_after(discord_failure(headers)) == wait


def test_discord_429_without_a_readable_header_waits_the_default():
    assert discord_retry_after(discord_failure({})) == discord_retry_after(discord_failure({"Retry-After": "x"})) > 0
