"""``DiscordFiles``: the bytes of the files people attach, from Discord's CDN.

An attachment's URL is signed (its ``ex``/``is``/``hm`` query parameters), so no token
goes with the request, and it expires after about a day: an answer resumed later than
that finds the file gone and tells the user so. Only Discord's file hosts are fetched
from, plus the host of ``DISCORD_API_URL`` when one is set (a proxy, or a test's fake).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from adapters.common.downloads import Downloader
from core.attachments import IncomingFile
from core.types import FileRef

__all__ = ["CDN_HOSTS", "DiscordFiles", "file_hosts"]

# ``url`` of an attachment is on the first, ``proxy_url`` on the second.
CDN_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})


def file_hosts(api_url: str | None) -> frozenset[str]:
    """Discord's file hosts, and the configured API's host if there is one."""
    host = urlsplit(api_url).hostname if api_url else None
    return CDN_HOSTS | {host} if host else CDN_HOSTS


class DiscordFiles:
    """A ``core.attachments.source.FileSource`` for Discord attachments."""

    def __init__(self, api_url: str | None = None, *, client: httpx.AsyncClient | None = None) -> None:
        self._downloader = Downloader(file_hosts(api_url), refusal=_refusal, client=client)

    async def fetch(self, ref: FileRef, max_bytes: int) -> IncomingFile:
        return await self._downloader.fetch(ref, max_bytes)

    async def aclose(self) -> None:
        """Close the connections; harmless to repeat."""
        await self._downloader.aclose()


def _refusal(status: int, content_type: str) -> str:
    # The CDN answers an expired signature or a deleted message's file with 404 (403
    # for some signatures): for the user, both mean the file is no longer there.
    if status in (403, 404):
        return "Discord no longer serves it (its link expired or the message was deleted)"
    return ""
