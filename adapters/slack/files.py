"""``SlackFiles``: the files people share in Slack, fetched with the bot token.

Slack serves a file's ``url_private_download`` from its file host to a request carrying
the bot token, if the app has the ``files:read`` scope. Without the scope it does not
answer 403 but 200 with its HTML sign-in page; that, a redirect or a 401/403 becomes one
line telling the user what the admin has to do (``refusal``).

The token is only ever sent to the file host of the configured API
(``file_hosts``), never logged: it sits in the downloader's headers, and the log lines
of ``adapters.common.downloads`` name files, not requests.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from adapters.common.downloads import DOWNLOAD_TIMEOUT, Downloader
from core.attachments import IncomingFile
from core.types import FileRef

__all__ = ["MISSING_SCOPE", "SlackFiles", "file_hosts", "refusal"]

MISSING_SCOPE = (
    "Slack didn't let me download it: the app needs the files:read scope "
    "(an admin adds it under OAuth & Permissions and reinstalls the app)"
)


def file_hosts(api_url: str) -> frozenset[str]:
    """Where files of the workspace behind ``api_url`` are served from.

    ``https://slack.com/api/`` → ``files.slack.com`` (GovSlack's ``slack-gov.com`` →
    ``files.slack-gov.com``); any other host (a proxy, a test server) serves them itself.
    """
    host = (urlsplit(api_url).hostname or "").lower()
    if host in {"slack.com", "slack-gov.com"}:
        return frozenset({f"files.{host}"})
    return frozenset({host}) if host else frozenset()


def refusal(status: int, content_type: str) -> str:
    """What to tell the user when the file host's answer is not the file ("" if it is)."""
    if 300 <= status < 400 or status in {401, 403}:
        return MISSING_SCOPE
    if status == 200 and content_type == "text/html":
        # Slack's sign-in page: what a token without files:read gets for a file. An HTML
        # file someone shares on purpose is refused too (the host's type is all there is
        # to go by): rarer, and far better than showing the model a sign-in page.
        return MISSING_SCOPE
    return ""


class SlackFiles:
    """The Slack adapter's ``FileSource``. ``aclose()`` when the adapter stops."""

    def __init__(
        self,
        bot_token: str,
        api_url: str,
        *,
        timeout: float = DOWNLOAD_TIMEOUT,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._downloader = Downloader(
            file_hosts(api_url),
            headers={"Authorization": f"Bearer {bot_token}"},
            refusal=refusal,
            timeout=timeout,
            client=client,
        )

    async def fetch(self, ref: FileRef, max_bytes: int) -> IncomingFile:
        return await self._downloader.fetch(ref, max_bytes)

    async def aclose(self) -> None:
        await self._downloader.aclose()
