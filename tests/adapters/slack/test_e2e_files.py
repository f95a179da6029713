"""End to end: files shared in Slack, downloaded from the fake's file host with the bot
token, read, and put in front of the (fake) model; and what the user is told when not."""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

import pytest
from PIL import Image

from adapters.slack.manifest import build_manifest
from core.attachments import AttachmentLimits
from tests.adapters.slack.harness import channel_message, dm, mention, settled, slack_stack
from tests.core.attachments.samples import colourful, pdf, png_claiming, saved
from tests.fakes.openai_server import Answer
from tests.fakes.slack_api import BOT_TOKEN

pytestmark = pytest.mark.e2e

# Not the default (1568): the setting is what counts.
IMAGE_MAX_PIXELS = 1200
MAX_BYTES = AttachmentLimits().max_bytes
FIFTY_MB = 50 * 1024 * 1024


def user_content(request: dict[str, Any]) -> str | list[dict[str, Any]]:
    return request["messages"][-1]["content"]


def texts_of(request: dict[str, Any]) -> str:
    """All the text the model was given, every message, every text part."""
    found = []
    for message in request["messages"]:
        content = message["content"]
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        found += [part["text"] for part in parts if part["type"] == "text"]
    return "\n".join(found)


def image_urls(request: dict[str, Any]) -> list[str]:
    content = user_content(request)
    parts = content if isinstance(content, list) else []
    return [part["image_url"]["url"] for part in parts if part["type"] == "image_url"]


def answered(stack) -> None:
    """The model answers briefly (an echo would repeat whole files back into Slack)."""
    stack.model.responder = lambda body: Answer(f"answer {len(stack.model.requests)}")


async def test_a_pasted_image_reaches_the_model_downscaled(tmp_path):
    # The fake model's URL is on loopback, where vision is off unless OPENAI_VISION says.
    async with slack_stack(tmp_path, openai_vision=True, image_max_pixels=IMAGE_MAX_PIXELS) as stack:
        answered(stack)
        screenshot = stack.slack.add_file("screen.png", saved(colourful((3000, 2000)), "PNG"), "image/png")
        await stack.send({**mention("what is on this screen?", "100.000001"), "files": [screenshot]})

        texts = await stack.answer_in("C1", "100.000001")
        assert texts == ["answer 1"]
        (url,) = image_urls(stack.model.requests[0])
        header, _, data = url.partition(",")
        assert header.startswith("data:image/") and header.endswith(";base64")
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert image.size == (IMAGE_MAX_PIXELS, IMAGE_MAX_PIXELS * 2 // 3)
        assert "what is on this screen?" in texts_of(stack.model.requests[0])
        (download,) = stack.slack.downloads_of(screenshot)
        assert download.authorized and download.complete


async def test_a_source_file_and_a_pdf_are_read_as_text(tmp_path):
    async with slack_stack(tmp_path) as stack:
        answered(stack)
        source = stack.slack.add_file("tool.py", b"def frobnicate(x):\n    return x * 42\n", "text/x-python")
        report = stack.slack.add_file("report.pdf", pdf([["Quarterly revenue rose 17 percent"]]), "application/pdf")
        await stack.send({**mention("summarise these", "110.000001"), "files": [source, report]})

        assert await stack.answer_in("C1", "110.000001") == ["answer 1"]
        seen = texts_of(stack.model.requests[0])
        assert "def frobnicate(x):" in seen and "return x * 42" in seen
        assert "Quarterly revenue rose 17 percent" in seen
        assert "[file: tool.py" in seen and "[file: report.pdf" in seen
        assert seen.index("summarise these") < seen.index("frobnicate") < seen.index("Quarterly")


async def test_a_file_shared_without_text_in_a_dm_is_answered(tmp_path):
    async with slack_stack(tmp_path) as stack:
        answered(stack)
        notes = stack.slack.add_file("notes.md", b"# Plan\n- ship the attachments feature\n", "text/markdown")
        await stack.send({**dm("", "120.000001"), "subtype": "file_share", "files": [notes]})

        assert await stack.answer_in("D1", None) == ["answer 1"]
        assert "ship the attachments feature" in texts_of(stack.model.requests[0])


async def test_a_50_mb_file_is_not_downloaded_and_the_user_is_told(tmp_path):
    async with slack_stack(tmp_path) as stack:
        answered(stack)
        honest = stack.slack.add_file("honest.bin", size=FIFTY_MB)
        # Files whose object understates their size: found out from the Content-Length,
        # or, without one, while the body streams in.
        lying = stack.slack.add_file("lying.bin", size=FIFTY_MB, declared_size=1000)
        chunked = stack.slack.add_file("chunked.bin", size=FIFTY_MB, declared_size=1000, content_length=False)
        await stack.send({**mention("back these up", "130.000001"), "files": [honest, lying, chunked]})

        (text,) = await stack.answer_in("C1", "130.000001")
        assert "I don't read files over 20 MiB: honest.bin, lying.bin, chunked.bin." in text
        assert text.endswith("answer 1")
        assert stack.slack.downloads_of(honest) == []
        for file in (lying, chunked):
            (download,) = stack.slack.downloads_of(file)
            await stack.slack.wait_for(lambda download=download: download.done)
            assert not download.complete and download.bytes_sent < MAX_BYTES + 16 * 1024 * 1024
        assert "[file: honest.bin, application/octet-stream, 50 MiB — not readable" in texts_of(stack.model.requests[0])


async def test_a_damaged_pdf_and_a_decompression_bomb_are_explained_and_the_bot_goes_on(tmp_path):
    async with slack_stack(tmp_path) as stack:
        answered(stack)
        damaged = stack.slack.add_file("minutes.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R", "application/pdf")
        bomb = stack.slack.add_file("huge.png", png_claiming(100_000, 100_000), "image/png")
        await stack.send({**mention("read these", "140.000001"), "files": [damaged, bomb]})

        (text,) = await stack.answer_in("C1", "140.000001")
        assert text.startswith("Note: I couldn't read minutes.pdf (") and "; huge.png (" in text
        assert text.endswith("answer 1")
        seen = texts_of(stack.model.requests[0])
        assert "[file: minutes.pdf" in seen and "[file: huge.png" in seen and "read these" in seen

        await stack.send(channel_message("still there?", "140.000005", thread_ts="140.000001"))
        texts = await stack.answer_in("C1", "140.000001", count=2)
        assert texts[-1] == "answer 2"
        assert user_content(stack.model.requests[1]) == "u1: still there?"


async def test_a_follow_up_in_the_thread_sees_the_earlier_files_text(tmp_path):
    async with slack_stack(tmp_path) as stack:
        answered(stack)
        config = stack.slack.add_file("deploy.yaml", b"replicas: 7\nregion: eu-north-1\n", "text/yaml")
        await stack.send({**mention("here is our config", "150.000001"), "files": [config]})
        await stack.answer_in("C1", "150.000001")

        await stack.send(channel_message("how many replicas?", "150.000005", thread_ts="150.000001"))
        await stack.answer_in("C1", "150.000001", count=2)
        follow_up = stack.model.requests[1]
        assert user_content(follow_up) == "u1: how many replicas?"
        assert "replicas: 7" in texts_of(follow_up) and "region: eu-north-1" in texts_of(follow_up)
        assert len(stack.slack.downloads_of(config)) == 1  # memory, not a second download


async def test_a_token_without_files_read_is_explained(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with slack_stack(tmp_path, openai_vision=True) as stack:
        answered(stack)
        stack.slack.files_read = False
        shot = stack.slack.add_file("shot.png", saved(colourful((64, 64)), "PNG"), "image/png")
        await stack.send({**mention("what is this?", "160.000001"), "files": [shot]})

        (text,) = await stack.answer_in("C1", "160.000001")
        assert text.startswith("Note: I couldn't read shot.png (Slack didn't let me download it: ")
        assert "files:read" in text and "reinstalls the app" in text
        assert text.endswith("answer 1")
        (download,) = stack.slack.downloads_of(shot)
        assert download.authorized and download.status == 200
        assert image_urls(stack.model.requests[0]) == []
        assert "files:read" in texts_of(stack.model.requests[0])
        await settled(stack.adapter.pipeline)
    assert caplog.records and BOT_TOKEN not in caplog.text


def test_the_manifest_asks_for_files_read():
    assert "files:read" in build_manifest()["oauth_config"]["scopes"]["bot"]
