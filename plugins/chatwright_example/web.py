"""The ``fetch_url`` tool: read a public web page (see ``fetcher.py`` for the safety rules).

``FETCH_ALLOW_PRIVATE=true`` (in the environment or ``.env``) lets it reach private,
loopback and link-local addresses too: for a bot that should read an intranet, and
knowingly so.
"""

from __future__ import annotations

import functools

from pydantic_settings import BaseSettings, SettingsConfigDict

from core.plugins import tool

from .fetcher import Fetcher

__all__ = ["fetch_url"]


class FetchSettings(BaseSettings):
    """A plugin reads its own settings; these are ``FETCH_*``."""

    model_config = SettingsConfigDict(env_prefix="FETCH_", env_file=".env", env_ignore_empty=True, extra="ignore")

    allow_private: bool = False


@tool
async def fetch_url(url: str) -> str:
    """Fetch a web page (http or https) and return its text; HTML is reduced to plain text.
    Long pages are cut at 1 MB.

    Args:
        url: The full URL, e.g. "https://example.com/page".
    """
    return await _fetcher().fetch(url)


@functools.cache
def _fetcher() -> Fetcher:
    # Read once, on the first call: settings do not change while the bot runs.
    settings = FetchSettings()
    return Fetcher(allow_private=settings.allow_private)
