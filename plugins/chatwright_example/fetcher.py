"""``Fetcher``: GET a web page for the model, safely: public addresses only, bounded.

- http and https only; GET only; no proxy from the environment (a proxy would resolve
  the name itself, out of our sight).
- The host is resolved here, every address is checked (``addresses.refusal``), and the
  request goes to the checked address itself: the URL carries the IP, the ``Host``
  header and the TLS server name (SNI, and so the certificate check) carry the name.
  A DNS answer that changes after the check (rebinding) is never asked for.
- Redirects are followed by hand, at most ``max_redirects``, each new URL checked the
  same way.
- The body is streamed and cut at ``max_bytes``; the whole fetch (resolving, connecting,
  redirects, reading) has ``timeout`` seconds.
- Each hop uses a connection of its own: a pooled TLS connection made for one name is
  never reused for another that resolves to the same address.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from core.plugins import ToolError

from .addresses import Resolver, refusal, resolve
from .html_text import html_to_text

__all__ = ["Fetcher"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml", "application/javascript")


@dataclass(frozen=True, slots=True)
class Fetcher:
    allow_private: bool = False
    max_bytes: int = 1_000_000
    timeout: float = 10.0
    max_redirects: int = 5
    resolver: Resolver = resolve
    # Why an address is refused, or None (tests stand in their own rule).
    check_address: Callable[[str], str | None] = refusal
    # Trusted certificate authorities; None: httpx's default (certifi's); tests pass their own.
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)

    async def fetch(self, url: str) -> str:
        """The page at ``url`` as text, with its status and final URL on the first line."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._follow(_parse(url))
        except TimeoutError:
            raise ToolError(f"{url} did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise ToolError(f"could not fetch {url}: {type(exc).__name__}: {exc}") from None

    async def _follow(self, url: httpx.URL) -> str:
        for _ in range(self.max_redirects + 1):
            addresses = await self._checked_addresses(url)
            transport = httpx.AsyncHTTPTransport(verify=self.ssl_context or _system_trust(), trust_env=False)
            async with httpx.AsyncClient(transport=transport, trust_env=False, timeout=self.timeout) as client:
                response = await _send(client, url, addresses)
                try:
                    location = response.headers.get("Location")
                    if response.status_code not in _REDIRECTS or not location:
                        return await self._page(url, response)
                finally:
                    await response.aclose()
            url = _parse(str(url.join(location)))
        raise ToolError(f"more than {self.max_redirects} redirects")

    async def _checked_addresses(self, url: httpx.URL) -> list[str]:
        host = url.raw_host.decode("ascii")
        try:
            addresses = await self.resolver(host, url.port or _DEFAULT_PORTS[url.scheme])
        except OSError as exc:
            raise ToolError(f"cannot resolve {host}: {exc}") from None
        if not addresses:
            raise ToolError(f"cannot resolve {host}")
        if not self.allow_private:
            for address in addresses:
                reason = self.check_address(address)
                if reason:
                    raise ToolError(
                        f"refused: {host} is {address} ({reason}); only public addresses may be fetched")
        return addresses

    async def _page(self, url: httpx.URL, response: httpx.Response) -> str:
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type and not content_type.startswith(_TEXT_TYPES) and not content_type.endswith(("+json", "+xml")):
            raise ToolError(f"{url} is not text but {content_type}")
        body, cut = await self._read(response)
        text = body.decode(response.encoding or "utf-8", errors="replace")
        if content_type in ("text/html", "application/xhtml+xml"):
            text = html_to_text(text)
        note = f" (cut at {self.max_bytes:,} bytes)" if cut else ""
        return f"{response.status_code} {response.reason_phrase} {url}{note}\n\n{text}"

    async def _read(self, response: httpx.Response) -> tuple[bytes, bool]:
        """At most ``max_bytes`` of the body, and whether there was more."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                return b"".join(chunks)[: self.max_bytes], True
        return b"".join(chunks), False


_DEFAULT_PORTS = {"http": 80, "https": 443}


async def _send(client: httpx.AsyncClient, url: httpx.URL, addresses: list[str]) -> httpx.Response:
    """GET ``url`` from the first of its (checked) addresses that accepts a connection."""
    for address in addresses:
        request = client.build_request(
            "GET", url.copy_with(host=address),
            # No compression asked for: the size limit then bounds what is decoded too.
            headers={"Host": url.netloc.decode("ascii"), "Accept-Encoding": "identity",
                     "User-Agent": "chatwright-fetch_url"},
            extensions={"sni_hostname": url.raw_host.decode("ascii")},
        )
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError:
            if address == addresses[-1]:
                raise
    raise AssertionError("unreachable: addresses is never empty")


@functools.cache
def _system_trust() -> ssl.SSLContext:
    # Built once: loading the certificate authorities takes milliseconds.
    return httpx.create_ssl_context()


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ToolError(f"not a valid URL: {exc}") from None
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.raw_host:
        raise ToolError(f"only http:// and https:// URLs can be fetched, not {url!r}")
    return parsed
