"""An httpx transport that moves the chat API's bytes through aiohttp.

The chat client keeps its policy in httpx (auth, retries, timeouts, errors); only the
transport changes. httpx's own connection pool (httpcore) spends CPU on every request
in proportion to the requests in flight: 200 streamed answers started at once cost about
5 ms of CPU each on a fresh pool and 25 ms on a warm one, against about 1 ms through
aiohttp (measured on loopback), whose HTTP parser is written in C. In the Slack burst
benchmark this halved the bot's CPU per answer. aiohttp is already how the bot talks to
Slack and serves HTTP.

What httpx's own transport does is kept: the same TLS verification (httpx's SSL context,
certifi's CAs), proxies from ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``, cookies left to
httpx, compressed bodies decoded by httpx; and aiohttp's failures are raised as the httpx
exceptions httpx would raise, so the chat client retries and reports them as before.
httpx's ``write`` timeout has no aiohttp counterpart and is not applied (request bodies
are small).
"""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx

__all__ = ["AiohttpTransport"]


class AiohttpTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=AiohttpTransport())``; one pooled aiohttp session."""

    def __init__(self) -> None:
        # Made now, at startup: loading the CA bundle takes ~0.1 s of CPU, which inside
        # the first request would stall every answer of the burst that brought it.
        self._ssl = httpx.create_ssl_context()
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        # The environment's proxy for each (scheme, host): read once, not per request.
        self._proxies: dict[tuple[str, str], str | None] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open_session()
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=await request.aread(),
                timeout=_timeout(request.extensions.get("timeout", {})),
                proxy=self._proxy_for(request.url),
            )
        except aiohttp.ClientError as exc:
            raise _translated(exc, request) from exc
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_ResponseBody(response, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        """Close the connections; closing twice is harmless."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _proxy_for(self, url: httpx.URL) -> str | None:
        key = (url.scheme, url.host)
        if key not in self._proxies:
            self._proxies[key] = _environment_proxy(url)
        return self._proxies[key]

    def _open_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the transport is closed")
        if self._session is None:
            # No connection cap: answers in flight are bounded by conversations, and a
            # cap would make one channel's answer wait for another's. httpx decodes
            # Content-Encoding and keeps cookies itself, so aiohttp must not.
            # (aiohttp's own ``trust_env`` would look up proxy and .netrc on a thread
            # for every request; the proxy is looked up once instead, and the key is
            # in the request's headers already.)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ssl=self._ssl),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session


class _ResponseBody(httpx.AsyncByteStream):
    __slots__ = ("_request", "_response")

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _translated(exc, self._request) from exc

    async def aclose(self) -> None:
        # A body read to the end gives the connection back to the pool; one left
        # unread closes it, so no half-read answer is left on a reused connection.
        self._response.release()


def _environment_proxy(url: httpx.URL) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``, ``HTTP_PROXY`` or
    ``ALL_PROXY``, unless ``NO_PROXY`` lists its host), as httpx would use it."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host):
        return None
    return proxy


def _timeout(timeouts: dict[str, Any]) -> aiohttp.ClientTimeout:
    """httpx's per-request timeouts (``connect``, ``read``, ``pool``) in aiohttp's terms."""
    return aiohttp.ClientTimeout(
        total=None,
        connect=timeouts.get("pool"),
        sock_connect=timeouts.get("connect"),
        sock_read=timeouts.get("read"),
    )


def _translated(exc: aiohttp.ClientError, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception for an aiohttp failure (the most specific class first)."""
    message = str(exc) or type(exc).__name__
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.ClientConnectionError):
        kind = httpx.ReadError
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    else:
        kind = httpx.TransportError
    return kind(message, request=request)
