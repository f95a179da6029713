"""Token shapes: a token pasted in the wrong place is named, never repeated."""

from __future__ import annotations

import pytest

from bots.token_shapes import discord_token_doubt, discord_token_problem, slack_token_problems

BOT = "xoxb-1111-2222-abcdefSECRET"
APP = "xapp-1-A1-3333-ghijklSECRET"
DISCORD = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB"


def test_well_formed_slack_tokens_have_no_problem():
    assert slack_token_problems(BOT, APP) == [] and slack_token_problems(BOT, None) == []


def test_swapped_slack_tokens_are_named_as_swapped():
    [problem] = slack_token_problems(APP, BOT)
    assert problem.startswith("SLACK_BOT_TOKEN and SLACK_APP_TOKEN are swapped")


@pytest.mark.parametrize(
    ("bot", "app", "expected"),
    [
        (APP, None, ["SLACK_BOT_TOKEN is an app-level token, not xoxb-…"]),
        ("xoxp-user-token", None, ["SLACK_BOT_TOKEN is a user token, not xoxb-…"]),
        ("hunter2", None, ["SLACK_BOT_TOKEN does not start with xoxb-"]),
        (BOT, BOT, ["SLACK_APP_TOKEN is a bot token, not xapp-…"]),
        (BOT, "whatever", ["SLACK_APP_TOKEN does not start with xapp-"]),
    ],
)
def test_each_misplaced_slack_token_says_what_it_is_and_where_to_find_the_right_one(bot, app, expected):
    problems = slack_token_problems(bot, app)
    assert [p.split(":")[0] for p in problems] == expected
    assert all("under" in p for p in problems)  # where the right token is in Slack's app settings
    assert not any(secret in p for p in problems for secret in ("SECRET", "hunter2", "user-token", "whatever"))


def test_a_real_looking_discord_token_passes():
    assert discord_token_problem(DISCORD) is None and discord_token_doubt(DISCORD) is None


@pytest.mark.parametrize(
    ("token", "says"),
    [(f"Bot {DISCORD}", "without the prefix"), (BOT, "is a Slack token"), (f'"{DISCORD}"', "spaces or quotes")],
)
def test_a_certainly_wrong_discord_token_is_a_problem(token, says):
    problem = discord_token_problem(token)
    assert problem is not None and says in problem and DISCORD not in problem


def test_an_odd_discord_token_is_only_doubted_since_a_proxy_may_take_it():
    assert discord_token_problem("fake-bot-token") is None
    assert "three parts separated by dots" in (discord_token_doubt("fake-bot-token") or "")
