"""The example plugin's ``fetch_url``: SSRF refusals, DNS pinning, redirects, size and time limits."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from core.plugins import ToolError
from plugins.chatwright_example import fetch_url, web as fetch_web
from plugins.chatwright_example.addresses import refusal
from plugins.chatwright_example.fetcher import Fetcher
from tests.fakes.loopback import LoopbackServer

_PAGE = """<html><head><title>The title</title><style>p { color: red }</style>
<script>alert("no")</script></head><body><h1>Hello</h1><p>One &amp;
two</p><ul><li>first</li><li>second</li></ul></body></html>"""


class Pages(LoopbackServer):
    """Pages for fetch_url: text, HTML, an image, redirects, endless and silent answers."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.ssl_context = ssl_context
        self.requests: list[web.Request] = []
        self.streamed = 0  # bytes the endless page has written
        self._hang = asyncio.Event()

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/text", self._text)
        app.router.add_get("/html", self._html)
        app.router.add_get("/image", self._image)
        app.router.add_get("/redirect/{left}", self._redirect)
        app.router.add_get("/to/{url:.*}", self._redirect_to)
        app.router.add_get("/endless", self._endless)
        app.router.add_get("/hang", self._hang_up)
        app.middlewares.append(self._record)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: object) -> web.StreamResponse:
        self.requests.append(request)
        return await handler(request)  # type: ignore[operator]

    async def _text(self, request: web.Request) -> web.Response:
        return web.Response(text=f"hello from {request.host}")

    async def _html(self, request: web.Request) -> web.Response:
        return web.Response(text=_PAGE, content_type="text/html")

    async def _image(self, request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG", content_type="image/png")

    async def _redirect_to(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": request.match_info["url"]})

    async def _redirect(self, request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        return web.Response(status=302, headers={"Location": f"/redirect/{left - 1}" if left else "/text"})

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        chunk = b"x" * 65536
        while request.transport is not None and not request.transport.is_closing():
            await response.write(chunk)
            self.streamed += len(chunk)
        return response

    async def _hang_up(self, request: web.Request) -> web.Response:
        await self._hang.wait()
        return web.Response(text="too late")

    async def start(self) -> None:
        if self.ssl_context is None:
            return await super().start()
        # LoopbackServer serves plain HTTP; the same app over TLS.
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=self.shutdown_timeout)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context).start()
        self.port = self._runner.addresses[0][1]

    async def before_stop(self) -> None:
        self._hang.set()


@pytest.fixture
async def pages() -> AsyncIterator[Pages]:
    async with Pages() as server:
        yield server


def _resolving(names: dict[str, list[str]]):  # noqa: ANN202 - a Resolver
    async def resolve(host: str, port: int) -> list[str]:
        return names.get(host, [host])
    return resolve


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://[::1]/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data",
    "http://192.168.0.1/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/",
    "http://localhost.example/", "http://mixed.example/",
])
async def test_private_loopback_and_link_local_addresses_are_refused(url: str) -> None:
    fetcher = Fetcher(resolver=_resolving({
        "localhost.example": ["127.0.0.1"],
        # Every address is checked, not only the first.
        "mixed.example": ["93.184.215.14", "10.0.0.7"],
    }))
    with pytest.raises(ToolError, match=r"^refused: .* only public addresses may be fetched"):
        await fetcher.fetch(url)


@pytest.mark.parametrize(("address", "reason"), [
    ("93.184.215.14", None), ("2606:4700:4700::1111", None), ("127.0.0.1", "loopback"), ("::1", "loopback"),
    ("10.0.0.1", "private"), ("172.16.5.5", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("100.64.0.1", "not public"), ("239.1.1.1", "multicast"), ("0.0.0.0", "unspecified"),
    ("64:ff9b::a00:1", "reserved"), ("2002:7f00:1::1", "loopback"),  # NAT64 and 6to4 of private ones
])
def test_address_rule(address: str, reason: str | None) -> None:
    assert refusal(address) == reason


async def test_a_loopback_server_is_refused_and_never_asked(pages: Pages) -> None:
    with pytest.raises(ToolError, match="refused: 127.0.0.1 is 127.0.0.1 \\(loopback\\)"):
        await Fetcher().fetch(f"http://127.0.0.1:{pages.port}/text")
    assert pages.requests == []


async def test_allow_private_reaches_the_loopback_server(pages: Pages) -> None:
    text = await Fetcher(allow_private=True).fetch(f"http://127.0.0.1:{pages.port}/text")
    assert text == f"200 OK http://127.0.0.1:{pages.port}/text\n\nhello from 127.0.0.1:{pages.port}"


async def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(pages: Pages) -> None:
    # "pinned.invalid" resolves nowhere but in our resolver: the fetch succeeds only if
    # it connects to the address checked, never resolving the name again (DNS rebinding).
    fetcher = Fetcher(allow_private=True, resolver=_resolving({"pinned.invalid": ["127.0.0.1"]}))
    text = await fetcher.fetch(f"http://pinned.invalid:{pages.port}/text")
    assert text.endswith(f"hello from pinned.invalid:{pages.port}")


# A self-signed certificate (and its key) for "pinned.test", valid for a century: test use only.
_CERTIFICATE = str(Path(__file__).with_name("pinned_test_cert.pem"))


async def test_https_to_the_checked_address_still_checks_the_certificate_for_the_name() -> None:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(_CERTIFICATE)
    client_tls = ssl.create_default_context(cafile=_CERTIFICATE)
    fetcher = Fetcher(allow_private=True, ssl_context=client_tls,
                      resolver=_resolving({"pinned.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}))
    async with Pages(ssl_context=server_tls) as pages:
        text = await fetcher.fetch(f"https://pinned.test:{pages.port}/text")
        assert text == f"200 OK https://pinned.test:{pages.port}/text\n\nhello from pinned.test:{pages.port}"
        # The same address under a name the certificate is not for: refused by TLS.
        with pytest.raises(ToolError, match="certificate is not valid for 'other.test'"):
            await fetcher.fetch(f"https://other.test:{pages.port}/text")


async def test_each_redirect_is_checked_again(pages: Pages) -> None:
    # 127.0.0.1 stands for a public server here; the redirect leads to a private address.
    fetcher = Fetcher(resolver=_resolving({"internal.example": ["10.0.0.5"]}),
                      check_address=lambda address: None if address == "127.0.0.1" else "private")
    with pytest.raises(ToolError, match=r"refused: internal.example is 10.0.0.5 \(private\)"):
        await fetcher.fetch(f"http://127.0.0.1:{pages.port}/to/http://internal.example/admin")
    assert [request.path for request in pages.requests] == ["/to/http://internal.example/admin"]


async def test_redirects_are_followed_up_to_the_limit(pages: Pages) -> None:
    fetcher = Fetcher(allow_private=True, max_redirects=3)
    text = await fetcher.fetch(f"http://127.0.0.1:{pages.port}/redirect/2")
    assert text.startswith(f"200 OK http://127.0.0.1:{pages.port}/text\n")
    with pytest.raises(ToolError, match="more than 3 redirects"):
        await fetcher.fetch(f"http://127.0.0.1:{pages.port}/redirect/3")


async def test_an_endless_page_is_cut_at_the_size_limit(pages: Pages) -> None:
    text = await Fetcher(allow_private=True, max_bytes=200_000).fetch(f"http://127.0.0.1:{pages.port}/endless")
    head, body = text.split("\n\n", 1)
    assert head.endswith("(cut at 200,000 bytes)")
    assert body == "x" * 200_000


async def test_a_silent_server_is_given_up_on_at_the_time_limit(pages: Pages) -> None:
    with pytest.raises(ToolError, match=r"/hang did not answer within 0.2 s"):
        await Fetcher(allow_private=True, timeout=0.2).fetch(f"http://127.0.0.1:{pages.port}/hang")


async def test_html_is_reduced_to_its_text(pages: Pages) -> None:
    text = await Fetcher(allow_private=True).fetch(f"http://127.0.0.1:{pages.port}/html")
    assert text.split("\n\n", 1)[1] == "The title\n\nHello\n\nOne & two\n\n- first\n\n- second"


async def test_what_is_not_text_is_refused(pages: Pages) -> None:
    with pytest.raises(ToolError, match="is not text but image/png"):
        await Fetcher(allow_private=True).fetch(f"http://127.0.0.1:{pages.port}/image")


@pytest.mark.parametrize("url", ["ftp://example.com/file", "file:///etc/passwd", "example.com", "http:///x"])
async def test_only_http_and_https_urls(url: str) -> None:
    with pytest.raises(ToolError, match="only http:// and https:// URLs|not a valid URL"):
        await Fetcher().fetch(url)


@pytest.fixture
def settings_from(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # The tool reads FETCH_ALLOW_PRIVATE from the environment and ./.env, once.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FETCH_ALLOW_PRIVATE", raising=False)
    fetch_web._fetcher.cache_clear()
    yield None
    fetch_web._fetcher.cache_clear()


async def test_the_tool_refuses_private_addresses_by_default(pages: Pages, settings_from: None) -> None:
    with pytest.raises(ToolError, match="refused"):
        await fetch_url.call({"url": f"http://127.0.0.1:{pages.port}/text"})


async def test_the_tool_follows_fetch_allow_private(
    pages: Pages, settings_from: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "true")
    assert (await fetch_url.call({"url": f"http://127.0.0.1:{pages.port}/text"})).endswith("hello from 127.0.0.1:"
                                                                                              f"{pages.port}")
