"""``Downloader`` against a file host on loopback: every bound, every refusal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from aiohttp import web

from adapters.common.downloads import Downloader
from core.errors import AttachmentRefused
from core.types import FileRef
from tests.fakes.loopback import LoopbackServer

# Sent lazily, 64 KiB at a time: far more than any socket buffer holds, so a body the
# downloader stops reading is never sent whole.
HUGE = 64 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass
class Served:
    path: str
    bytes_sent: int = 0
    done: bool = False  # the handler has finished (whole body sent, or the client left)
    complete: bool = False


class FileHost(LoopbackServer):
    """A file host whose paths each misbehave in one way; records what it served."""

    def __init__(self) -> None:
        super().__init__()
        self.served: list[Served] = []
        self.headers_seen: list[dict[str, str]] = []
        self._release = asyncio.Event()

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{kind}", self._serve)
        return app

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}"

    async def before_stop(self) -> None:
        self._release.set()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        served = Served(request.match_info["kind"])
        self.served.append(served)
        self.headers_seen.append(dict(request.headers))
        try:
            return await self._answer(request, served)
        finally:
            served.done = True
            await self.changed()

    async def _answer(self, request: web.Request, served: Served) -> web.StreamResponse:
        kind = served.path
        if kind == "file":
            served.bytes_sent, served.complete = 5, True
            return web.Response(body=b"hello", content_type="text/plain")
        if kind == "html":
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        if kind == "redirect":
            return web.Response(status=302, headers={"Location": "/file"})
        if kind == "forbidden":
            return web.Response(status=403, text="no")
        if kind == "stall":
            response = web.StreamResponse(headers={"Content-Type": "text/plain"})
            await response.prepare(request)
            await self._release.wait()
            return response
        # "long": a huge Content-Length; "growing": chunked, with no length at all.
        return await _stream(request, served, with_length=kind == "long")


async def _stream(request: web.Request, served: Served, *, with_length: bool) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    if with_length:
        response.content_length = HUGE
    else:
        response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = b"z" * _CHUNK
    try:
        while served.bytes_sent < HUGE:
            await response.write(chunk)
            served.bytes_sent += len(chunk)
        await response.write_eof()
        served.complete = True
    except (ConnectionError, RuntimeError):
        pass  # the downloader hung up
    return response


@pytest.fixture
async def host():
    async with FileHost() as server:
        yield server


def ref(url: str, size: int = 0, name: str = "a.txt") -> FileRef:
    return FileRef(name, "text/plain", size, url)


def loopback(**options) -> Downloader:
    return Downloader(frozenset({"127.0.0.1"}), **options)


async def test_a_file_is_downloaded_with_the_hosts_headers(host):
    downloader = loopback(headers={"Authorization": "Bearer secret"})
    try:
        got = await downloader.fetch(ref(host.url("file"), 5), 100)
    finally:
        await downloader.aclose()
    assert (got.name, got.mime_type, got.data, got.declared_size) == ("a.txt", "text/plain", b"hello", None)
    assert host.headers_seen[0]["Authorization"] == "Bearer secret"


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example/file",
        "http://files.example.com/file",  # the host, but not over https
        "file:///etc/passwd",
        "not a url at all",
        "http://[::1/broken",
    ],
)
async def test_other_hosts_are_refused_before_any_request(host, url):
    downloader = Downloader(frozenset({"files.example.com"}))
    try:
        with pytest.raises(AttachmentRefused, match="file host"):
            await downloader.fetch(ref(url), 100)
        # The loopback host is not on the list either, though it is listening.
        with pytest.raises(AttachmentRefused):
            await downloader.fetch(ref(host.url("file")), 100)
    finally:
        await downloader.aclose()
    assert host.served == []


async def test_a_declared_size_over_the_limit_is_not_fetched(host):
    downloader = loopback()
    try:
        got = await downloader.fetch(ref(host.url("file"), size=5000), 1000)
    finally:
        await downloader.aclose()
    assert got.data == b"" and got.declared_size == 5000
    assert host.served == []


async def test_a_content_length_over_the_limit_is_not_read(host):
    downloader = loopback()
    try:
        got = await downloader.fetch(ref(host.url("long"), size=10), 1000)
    finally:
        await downloader.aclose()
    assert got.data == b"" and got.declared_size == HUGE
    served = await host.wait_for(lambda: host.served and host.served[0].done and host.served[0])
    assert not served.complete and served.bytes_sent < HUGE // 4  # what socket buffers took


async def test_a_body_growing_past_the_limit_without_a_length_stops(host):
    downloader = loopback()
    try:
        got = await downloader.fetch(ref(host.url("growing")), 200_000)
    finally:
        await downloader.aclose()
    assert got.data == b"" and 200_000 < got.declared_size < HUGE
    served = await host.wait_for(lambda: host.served and host.served[0].done and host.served[0])
    assert not served.complete and served.bytes_sent < HUGE // 4  # what socket buffers took


async def test_a_stalled_download_times_out(host):
    downloader = loopback(timeout=0.2)
    try:
        with pytest.raises(AttachmentRefused, match="took too long"):
            await downloader.fetch(ref(host.url("stall")), 1000)
    finally:
        await downloader.aclose()


async def test_a_redirect_is_refused_not_followed(host):
    downloader = loopback()
    try:
        with pytest.raises(AttachmentRefused, match="302"):
            await downloader.fetch(ref(host.url("redirect")), 1000)
    finally:
        await downloader.aclose()
    assert [s.path for s in host.served] == ["redirect"]


async def test_the_refusal_hook_names_what_is_wrong(host):
    seen: list[tuple[int, str]] = []

    def refusal(status: int, content_type: str) -> str:
        seen.append((status, content_type))
        return "ask an admin" if content_type == "text/html" or status == 403 else ""

    downloader = loopback(refusal=refusal)
    try:
        with pytest.raises(AttachmentRefused, match="ask an admin"):
            await downloader.fetch(ref(host.url("html")), 1000)
        with pytest.raises(AttachmentRefused, match="ask an admin"):
            await downloader.fetch(ref(host.url("forbidden")), 1000)
        assert (await downloader.fetch(ref(host.url("file")), 1000)).data == b"hello"
    finally:
        await downloader.aclose()
    assert seen == [(200, "text/html"), (403, "text/plain"), (200, "text/plain")]


async def test_a_host_that_is_not_listening_is_a_refusal(host):
    url = host.url("file")
    await host.stop()
    downloader = loopback()
    try:
        with pytest.raises(AttachmentRefused, match="could not be downloaded"):
            await downloader.fetch(ref(url), 1000)
    finally:
        await downloader.aclose()
