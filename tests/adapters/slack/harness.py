"""The whole Slack stack on loopback: fake Slack API, fake model, real everything else.

``slack_stack`` builds it the way ``chatwright run`` does – ``running_engine`` (SQLite
store in a temporary directory, ``OpenAIChatModel``) and ``build_slack`` – and serves
``/slack/events`` from the shared ``HttpServer`` on a free port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.slack import SlackAdapter
from bots.app import running_engine
from bots.http_server import HttpServer
from bots.settings import Settings
from bots.slack_wiring import build_slack
from core.engine import Engine
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI, SentRequest, SignedSender

__all__ = ["SlackStack", "slack_stack", "mention", "channel_message", "dm", "settled", "test_settings"]


async def settled(pipeline: Any) -> None:
    """Wait until every answer the pipeline is writing is done (its tasks, read here
    because only tests need to wait for them all)."""
    await pipeline._tasks.join()


@dataclass
class SlackStack:
    slack: FakeSlackAPI
    model: FakeOpenAIServer
    engine: Engine
    adapter: SlackAdapter
    server: HttpServer
    sender: SignedSender

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    async def send(self, event: dict[str, Any], **options: Any) -> SentRequest:
        return await self.sender.event(event, **options)

    async def answer_in(self, channel: str, thread_ts: str | None, count: int = 1, timeout: float = 5.0) -> list[str]:
        """Wait until the bot's answer there is complete (no placeholder left); its messages."""
        def done() -> list[str] | None:
            texts = self.slack.bot_texts(channel, thread_ts)
            return texts if len(texts) >= count and not any(t == "_thinking…_" for t in texts) else None

        return await self.slack.wait_for(done, timeout)


def test_settings(slack: FakeSlackAPI, model: FakeOpenAIServer, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_app_token": None,
        "slack_api_url": slack.base_url,
        "openai_base_url": model.base_url,
        "openai_api_key": "test-key",
        "openai_model": "fake-model",
        "openai_max_retries": 0,
        "database_url": f"sqlite:///{tmp_path / 'chatwright.db'}",
        "http_host": "127.0.0.1",
        "http_port": 0,
        "user_messages_per_minute": 0,
        "admin_user_ids": frozenset(),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def slack_stack(
    tmp_path: Path, *, slack: FakeSlackAPI | None = None, model: FakeOpenAIServer | None = None, **overrides: Any
) -> AsyncIterator[SlackStack]:
    """The stack; pass ``slack``/``model`` (already started) to keep them across a restart."""
    async with _started(slack or FakeSlackAPI(), slack is None) as slack_api, _started(model or FakeOpenAIServer(), model is None) as model_api:
        settings = test_settings(slack_api, model_api, tmp_path, **overrides)
        async with running_engine(settings) as engine:
            adapter, routes = build_slack(settings, engine)
            assert isinstance(adapter, SlackAdapter)
            server = HttpServer(settings.http_host, settings.http_port, routes)
            await server.start()
            await adapter.start()
            try:
                async with SignedSender(f"http://127.0.0.1:{server.port}/slack/events") as sender:
                    yield SlackStack(slack_api, model_api, engine, adapter, server, sender)
            finally:
                await adapter.stop()
                await server.stop()


@asynccontextmanager
async def _started(fake: Any, owned: bool) -> AsyncIterator[Any]:
    if not owned:
        yield fake
        return
    async with fake:
        yield fake


# -- event payloads, as Slack sends them ---------------------------------------------------
def mention(text: str, ts: str, *, channel: str = "C1", user: str = "U1", thread_ts: str | None = None) -> dict[str, Any]:
    event = {"type": "app_mention", "channel": channel, "user": user, "text": f"<@UBOT> {text}", "ts": ts, "event_ts": ts, "team": "T1"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def channel_message(text: str, ts: str, *, channel: str = "C1", user: str = "U1", thread_ts: str | None = None, **extra: Any) -> dict[str, Any]:
    event = {"type": "message", "channel": channel, "channel_type": "channel", "user": user, "text": text, "ts": ts, "event_ts": ts, "team": "T1", **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm(text: str, ts: str, *, channel: str = "D1", user: str = "U1") -> dict[str, Any]:
    return {"type": "message", "channel": channel, "channel_type": "im", "user": user, "text": text, "ts": ts, "event_ts": ts, "team": "T1"}
