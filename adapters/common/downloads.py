"""Bounded downloads of the files people send, from the platform's own file host only.

Both platforms hand the bot a URL per file (Slack's ``url_private_download``, Discord's
CDN URL). ``Downloader`` fetches one, never reading past ``max_bytes``: the declared
size is checked before the request, ``Content-Length`` before the body, and the body as
it streams in. A host other than the platform's own is refused before any request, so
an event cannot make the bot fetch from (or send its token to) anywhere else.

Why httpx and not the platform SDKs: slack_sdk has no file download call, and
discord.py's ``Attachment.read`` reads the whole body with no bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import httpx

from core.attachments import IncomingFile
from core.errors import AttachmentRefused
from core.types import FileRef

__all__ = ["DOWNLOAD_TIMEOUT", "Downloader", "Refusal", "declared_size"]

log = logging.getLogger(__name__)

# One file's whole download, in seconds: a stalled host never holds an answer longer.
DOWNLOAD_TIMEOUT = 30.0

# Given the status and content type of the host's answer, the reason to tell the user
# it is not the file ("" when it is: a 200 of a file type; for another status, "" means
# the generic reason). Slack, for one, answers a token without ``files:read`` with a
# 200 HTML sign-in page.
Refusal = Callable[[int, str], str]


def _no_refusal(status: int, content_type: str) -> str:
    return ""


class Downloader:
    """Fetches files from a fixed set of hosts, with the headers those hosts need."""

    def __init__(
        self,
        hosts: frozenset[str],
        *,
        headers: Mapping[str, str] | None = None,
        refusal: Refusal = _no_refusal,
        timeout: float = DOWNLOAD_TIMEOUT,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._hosts = frozenset(host.lower() for host in hosts)
        self._headers = dict(headers or {})
        self._refusal = refusal
        self._timeout = timeout
        self._owns_client = client is None
        # Redirects are not followed: a redirect off the file host (to a sign-in page,
        # say) is a refusal, not a file.
        self._client = client or httpx.AsyncClient(follow_redirects=False)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def allows(self, url: str) -> bool:
        """Whether ``url`` is on one of the file hosts (https, or http on loopback)."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        if host not in self._hosts:
            return False
        return parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host))

    async def fetch(self, ref: FileRef, max_bytes: int) -> IncomingFile:
        """The file's bytes, at most ``max_bytes`` of them (see ``core.attachments.source``)."""
        if ref.size > max_bytes:
            return _not_read(ref, ref.size)
        if not self.allows(ref.url):
            raise AttachmentRefused("it is not on the platform's file host")
        try:
            async with asyncio.timeout(self._timeout):
                return await self._download(ref, max_bytes)
        except TimeoutError:
            raise AttachmentRefused("downloading it took too long") from None
        except httpx.HTTPError as exc:
            raise AttachmentRefused("it could not be downloaded") from exc

    async def _download(self, ref: FileRef, max_bytes: int) -> IncomingFile:
        request = self._client.build_request("GET", ref.url, headers=self._headers)
        response = await self._client.send(request, stream=True)
        try:
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if response.status_code != 200:
                reason = self._refusal(response.status_code, content_type)
                raise AttachmentRefused(reason or f"the file host answered {response.status_code}")
            refused = self._refusal(200, content_type)
            if refused:
                raise AttachmentRefused(refused)
            declared = _content_length(response)
            if declared is not None and declared > max_bytes:
                return _not_read(ref, declared)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    return _not_read(ref, max(len(body), ref.size))
            return IncomingFile(ref.name, ref.mime_type, bytes(body))
        finally:
            await response.aclose()


def declared_size(size: object) -> int:
    """A file's byte count as a platform's payload gives it; 0 (unknown) for anything but
    a non-negative integer. Never trusted further: downloads are bounded by themselves."""
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else 0


def _not_read(ref: FileRef, size: int) -> IncomingFile:
    return IncomingFile(ref.name, ref.mime_type, b"", declared_size=size)


def _content_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


def _is_loopback(host: str) -> bool:
    return host in {"127.0.0.1", "::1", "localhost"}
