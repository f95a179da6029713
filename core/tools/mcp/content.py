"""What an MCP tool's result becomes for the model: text."""

from __future__ import annotations

import json

from mcp import types

__all__ = ["result_text"]


def result_text(result: types.CallToolResult) -> str:
    """The text parts joined; images, audio and binary resources named, not dumped (the
    model reads text, and base64 would only spend its context); a failed call's text
    starts with "error:" so that the model knows to recover."""
    parts = [_block_text(block) for block in result.content]
    if not parts and result.structuredContent is not None:
        parts = [json.dumps(result.structuredContent, ensure_ascii=False)]
    text = "\n".join(parts)
    if result.isError:
        return f"error: {text or 'the tool failed without saying why'}"
    return text


def _block_text(block: types.ContentBlock) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent | types.AudioContent):
        kind = "image" if isinstance(block, types.ImageContent) else "audio"
        return f"[{kind}: {block.mimeType}, {_decoded_size(block.data)} bytes, not shown]"
    if isinstance(block, types.ResourceLink):
        return f"[resource: {block.name} at {block.uri}]"
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        # A text resource is text like any other (a file's lines, a page): the model
        # needs it. The runner bounds every result's length.
        if isinstance(resource, types.TextResourceContents):
            return f"[resource: {resource.uri}]\n{resource.text}"
        mime = f", {resource.mimeType}" if resource.mimeType else ""
        return f"[resource: {resource.uri}{mime}, {_decoded_size(resource.blob)} bytes, not shown]"
    return f"[{getattr(block, 'type', 'unknown')} content, not shown]"


def _decoded_size(base64_text: str) -> int:
    return len(base64_text) * 3 // 4 - base64_text[-2:].count("=")
