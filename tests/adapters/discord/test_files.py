"""``DiscordFiles``: which hosts it fetches from, and what it sends them."""

from __future__ import annotations

import httpx
import pytest

from adapters.discord.files import CDN_HOSTS, DiscordFiles, file_hosts
from core.attachments import IncomingFile
from core.errors import AttachmentRefused
from core.types import FileRef

CDN_URL = "https://cdn.discordapp.com/attachments/60/1/a.txt?ex=1&is=1&hm=2"


def test_the_file_hosts_are_discords_and_the_configured_apis() -> None:
    assert file_hosts(None) == CDN_HOSTS == {"cdn.discordapp.com", "media.discordapp.net"}
    assert file_hosts("http://127.0.0.1:8123/api/v10") == CDN_HOSTS | {"127.0.0.1"}
    assert file_hosts("https://Discord.Proxy.example/api/v10") == CDN_HOSTS | {"discord.proxy.example"}


Fetched = IncomingFile | AttachmentRefused


async def _fetch(url: str, answer: httpx.Response, api_url: str | None = None) -> tuple[list[httpx.Request], Fetched]:
    """What ``DiscordFiles`` asked the host for, and what it made of the answer."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        files = DiscordFiles(api_url, client=client)
        try:
            return seen, await files.fetch(FileRef("a.txt", "text/plain", 5, url), 1000)
        except AttachmentRefused as exc:
            return seen, exc


async def test_cdn_files_are_fetched_without_a_token() -> None:
    seen, got = await _fetch(CDN_URL, httpx.Response(200, content=b"hello", headers={"content-type": "text/plain"}))
    assert isinstance(got, IncomingFile) and got.data == b"hello"
    [request] = seen
    assert str(request.url) == CDN_URL and "authorization" not in request.headers


@pytest.mark.parametrize("url", [
    "https://evil.example/a.txt",
    "https://cdn.discordapp.com.evil.example/a.txt",
    "http://cdn.discordapp.com/a.txt",  # not https
    "http://127.0.0.1:9/a.txt",  # loopback, but no API configured there
])
async def test_other_hosts_are_refused_before_any_request(url: str) -> None:
    seen, got = await _fetch(url, httpx.Response(200, content=b"x"))
    assert isinstance(got, AttachmentRefused) and seen == []


async def test_the_configured_api_host_is_a_file_host() -> None:
    seen, got = await _fetch("http://127.0.0.1:9/attachments/1/a.txt", httpx.Response(200, content=b"hi"),
                             api_url="http://127.0.0.1:8123/api/v10")
    assert isinstance(got, IncomingFile) and got.data == b"hi" and len(seen) == 1


async def test_an_expired_link_is_explained() -> None:
    seen, got = await _fetch(CDN_URL, httpx.Response(404, text="This content is no longer available."))
    assert isinstance(got, AttachmentRefused) and "no longer serves it" in got.reason


async def test_closing_twice_is_harmless() -> None:
    files = DiscordFiles()
    await files.aclose()
    await files.aclose()
