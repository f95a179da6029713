"""``SlackFiles``' parts: which host gets the token, and what a refusal tells the user."""

from __future__ import annotations

import pytest

from adapters.slack.files import MISSING_SCOPE, SlackFiles, file_hosts, refusal


@pytest.mark.parametrize(
    ("api_url", "hosts"),
    [
        ("https://slack.com/api/", {"files.slack.com"}),
        ("https://slack.com/api", {"files.slack.com"}),
        ("https://SLACK.com/api/", {"files.slack.com"}),
        ("https://slack-gov.com/api/", {"files.slack-gov.com"}),
        ("http://127.0.0.1:8123/api/", {"127.0.0.1"}),
        ("https://slack-proxy.internal/api/", {"slack-proxy.internal"}),
        ("not a url", set()),
    ],
)
def test_file_hosts_follow_the_api_url(api_url, hosts):
    assert file_hosts(api_url) == hosts


@pytest.mark.parametrize(
    ("status", "content_type", "told"),
    [
        (200, "text/html", MISSING_SCOPE),
        (302, "text/html", MISSING_SCOPE),
        (301, "", MISSING_SCOPE),
        (401, "application/json", MISSING_SCOPE),
        (403, "text/plain", MISSING_SCOPE),
        (200, "image/png", ""),
        (200, "application/octet-stream", ""),
        (200, "", ""),
        (404, "text/plain", ""),  # the downloader's generic "the file host answered 404"
        (500, "text/html", ""),
    ],
)
def test_refusals_name_the_fix(status, content_type, told):
    assert refusal(status, content_type) == told


def test_the_missing_scope_line_says_what_to_do():
    assert "files:read" in MISSING_SCOPE and "OAuth & Permissions" in MISSING_SCOPE
    assert "\n" not in MISSING_SCOPE


async def test_closing_twice_is_harmless():
    files = SlackFiles("xoxb-very-secret", "https://slack.com/api/")
    await files.aclose()
    await files.aclose()
