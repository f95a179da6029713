"""An MCP result as the text the model reads; the backoff between tries."""

from __future__ import annotations

import base64

import pytest
from mcp import types

from core.tools.mcp.backoff import Backoff
from core.tools.mcp.content import result_text

PNG = base64.b64encode(bytes(10)).decode()


def result(*content: types.ContentBlock, error: bool = False, structured: dict | None = None) -> types.CallToolResult:
    return types.CallToolResult(content=list(content), isError=error, structuredContent=structured)


def text(value: str) -> types.TextContent:
    return types.TextContent(type="text", text=value)


def test_text_parts_are_joined():
    assert result_text(result(text("one"), text("two"))) == "one\ntwo"


def test_media_and_binary_resources_are_named_not_dumped():
    blocks = result(
        types.ImageContent(type="image", data=PNG, mimeType="image/png"),
        types.AudioContent(type="audio", data=PNG, mimeType="audio/wav"),
        types.EmbeddedResource(type="resource", resource=types.BlobResourceContents(
            uri="file:///r.bin", blob=PNG, mimeType="application/octet-stream")),
        types.ResourceLink(type="resource_link", name="report", uri="file:///report.pdf"),
    )
    assert result_text(blocks).splitlines() == [
        "[image: image/png, 10 bytes, not shown]",
        "[audio: audio/wav, 10 bytes, not shown]",
        "[resource: file:///r.bin, application/octet-stream, 10 bytes, not shown]",
        "[resource: report at file:///report.pdf]",
    ]
    assert PNG not in result_text(blocks)


def test_an_embedded_text_resource_is_text():
    embedded = types.EmbeddedResource(type="resource", resource=types.TextResourceContents(
        uri="file:///notes.txt", text="line one"))
    assert result_text(result(embedded)) == "[resource: file:///notes.txt]\nline one"


def test_errors_start_with_error():
    assert result_text(result(text("no such repo"), error=True)) == "error: no such repo"
    assert result_text(result(error=True)) == "error: the tool failed without saying why"


def test_structured_content_alone_is_json():
    assert result_text(result(structured={"temperature": 21})) == '{"temperature": 21}'
    assert result_text(result(text("21 °C"), structured={"temperature": 21})) == "21 °C"


def test_backoff_doubles_to_its_ceiling_and_resets():
    backoff = Backoff(first=1, ceiling=60)
    assert [backoff.next_delay() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    backoff.reset()
    assert backoff.next_delay() == 1
    with pytest.raises(ValueError):
        Backoff(first=2, ceiling=1)
