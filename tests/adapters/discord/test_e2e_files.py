"""End to end: files attached on Discord reach the model, bounded, from the CDN only.

The real discord.py client against the fake Discord (which also plays the CDN), the real
engine with SQLite, and the real OpenAI client against the fake model.
"""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from PIL import Image

from adapters.protocol import Adapter
from bots.settings import Settings
from core.engine import Engine
from tests.adapters.discord.conftest import running_bot
from tests.core.attachments.samples import png
from tests.fakes.discord_server import BOT, DM_CHANNEL, GENERAL, MEMBER, FakeDiscord, SentMessage
from tests.fakes.openai_server import Answer, FakeOpenAIServer

pytestmark = pytest.mark.e2e

LOG = b"2024-05-01 12:00:03 ERROR disk full on node-7\n2024-05-01 12:00:04 INFO retrying\n"


@pytest.fixture
async def bot(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[Engine, Adapter]]:
    # A model on loopback is taken for a text-only one unless told otherwise.
    async with running_bot(make_settings(openai_vision=True)) as running:
        yield running


@pytest.fixture(autouse=True)
def _short_answers(model_fake: FakeOpenAIServer) -> None:
    # The default echo would repeat an image's data URL back into the channel.
    model_fake.responder = lambda body: Answer("got it")


def _answered(fake: FakeDiscord, channel: int, count: int = 1):
    """Wait condition: ``count`` finished answers in ``channel`` (they end with "got it")."""
    def answers() -> list[SentMessage]:
        done = [m for m in fake.bot_messages(channel) if m.content.endswith("got it")]
        return done if len(done) >= count else []
    return answers


def _parts(request: dict[str, Any], index: int = -1) -> list[dict[str, Any]]:
    """The content parts of a user message of a model request (text as one text part)."""
    content = [m for m in request["messages"] if m["role"] == "user"][index]["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _texts(parts: list[dict[str, Any]]) -> str:
    return "\n".join(p["text"] for p in parts if p["type"] == "text")


def _image(part: dict[str, Any]) -> Image.Image:
    url = part["image_url"]["url"]
    header, data = url.split(",", 1)
    assert header.startswith("data:image/") and header.endswith(";base64")
    return Image.open(io.BytesIO(base64.b64decode(data)))


async def test_a_dm_of_an_image_alone_shows_the_model_the_image_downscaled(
    bot, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    shot = discord_fake.add_attachment("screen shot.png", png((3000, 1000)), "image/png")
    discord_fake.send_message(DM_CHANNEL, MEMBER, "", attachments=(shot,))
    await discord_fake.wait_for(_answered(discord_fake, DM_CHANNEL))
    [request] = model_fake.requests
    [image_part] = [p for p in _parts(request) if p["type"] == "image_url"]
    image = _image(image_part)
    assert max(image.size) <= 1568 and image.size == (1568, 523)
    assert discord_fake.files_served == ["screen shot.png"]


async def test_a_log_file_is_read_and_remembered_for_the_next_question(
    bot, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    log = discord_fake.add_attachment("app.log", LOG, "text/plain; charset=utf-8")
    discord_fake.send_message(DM_CHANNEL, MEMBER, "why did it stop?", attachments=(log,))
    await discord_fake.wait_for(_answered(discord_fake, DM_CHANNEL))
    text = _texts(_parts(model_fake.requests[0]))
    assert "why did it stop?" in text and "disk full on node-7" in text and "app.log" in text

    discord_fake.send_message(DM_CHANNEL, MEMBER, "which node was it?")
    await discord_fake.wait_for(_answered(discord_fake, DM_CHANNEL, 2))
    earlier, latest = _texts(_parts(model_fake.requests[1], -2)), _texts(_parts(model_fake.requests[1]))
    assert "disk full on node-7" in earlier and latest == "which node was it?"
    assert discord_fake.files_served == ["app.log"]  # remembered, not fetched again


async def test_a_file_in_a_mention_is_read(bot, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer) -> None:
    log = discord_fake.add_attachment("app.log", LOG, "text/plain")
    discord_fake.send_message(GENERAL, MEMBER, f"<@{BOT.id}> look", mentions=(BOT,), attachments=(log,))
    await discord_fake.wait_for(_answered(discord_fake, GENERAL))
    assert "disk full on node-7" in _texts(_parts(model_fake.requests[0]))


async def test_a_file_over_the_size_limit_is_not_downloaded_and_the_user_is_told(
    bot, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    # Discord's word on the size is enough: 25 MiB is over ATTACHMENT_MAX_BYTES (20 MiB).
    big = discord_fake.add_attachment("dump.log", LOG, "text/plain", size=25 * 1024 * 1024)
    discord_fake.send_message(DM_CHANNEL, MEMBER, "see the dump", attachments=(big,))
    [answer] = await discord_fake.wait_for(_answered(discord_fake, DM_CHANNEL))
    assert "dump.log" in answer.content and answer.content != "got it"
    assert discord_fake.bytes_served == 0
    text = _texts(_parts(model_fake.requests[0]))
    assert "dump.log" in text and "disk full" not in text


async def test_an_attachment_off_discords_file_hosts_is_not_fetched(
    bot, discord_fake: FakeDiscord, model_fake: FakeOpenAIServer
) -> None:
    # "localhost" reaches the fake too, but only the configured API host is a file host.
    foreign = discord_fake.add_attachment("secret.log", LOG, "text/plain", host="localhost")
    discord_fake.send_message(DM_CHANNEL, MEMBER, "read this", attachments=(foreign,))
    [answer] = await discord_fake.wait_for(_answered(discord_fake, DM_CHANNEL))
    assert discord_fake.bytes_served == 0
    text = _texts(_parts(model_fake.requests[0]))
    assert "secret.log" in text and "disk full" not in text
    assert "secret.log" in answer.content  # the user is told it was not read

    async with httpx.AsyncClient() as client:  # the URL did lead to the file
        assert (await client.get(foreign["url"])).content == LOG
    assert discord_fake.bytes_served == len(LOG)
