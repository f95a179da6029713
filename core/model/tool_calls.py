"""Put together the tool calls of one chat answer from the pieces an API sends.

A streamed OpenAI answer sends each call in pieces (``delta.tool_calls``): the first
piece of a call has its ``index``, ``id`` and ``function.name``, later pieces with the
same ``index`` bring more of ``function.arguments``, and pieces of several calls may
interleave. Local servers (Ollama, vLLM, llama.cpp) bend this: a whole call in one
piece, the ``id`` (or the name) on every piece, no ``type``, sometimes no ``index``.
All of those are accepted; what cannot be a call (no id or no name when the answer
ends, a piece that is not an object) is a ``MalformedResponseError``.

The API is outside our control, so what it can make us hold is bounded: at most
``MAX_TOOL_CALLS`` calls per answer and ``MAX_ARGUMENTS`` characters of arguments per
call; beyond, the answer is refused rather than cut (a cut call would run with
arguments the model never wrote).
"""

from __future__ import annotations

import json

from core.errors import MalformedResponseError
from core.types import ToolCall

__all__ = ["MAX_ARGUMENTS", "MAX_TOOL_CALLS", "ToolCallAssembler"]

# Far more than a model asks for in one step (engines run a few at a time anyway).
MAX_TOOL_CALLS = 32
# Tool arguments are a few fields; 64 Ki characters is room for a pasted document.
MAX_ARGUMENTS = 64 * 1024


class _Parts:
    """What has arrived of one call."""

    __slots__ = ("id", "name", "arguments", "size")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments: list[str] = []
        self.size = 0

    def add(self, piece: dict[str, object]) -> None:
        # The first id and name win: servers that repeat them on every piece repeat
        # the same ones, and concatenating them would garble the name.
        call_id = piece.get("id")
        if isinstance(call_id, str) and not self.id:
            self.id = call_id
        function = piece.get("function")
        if function is None:
            return
        if not isinstance(function, dict):
            raise MalformedResponseError("a tool call's function is not an object")
        name = function.get("name")
        if isinstance(name, str) and not self.name:
            self.name = name
        self._add_arguments(function.get("arguments"))

    def _add_arguments(self, arguments: object) -> None:
        if isinstance(arguments, dict):
            # Some servers send the arguments as an object rather than as JSON text.
            arguments = json.dumps(arguments, ensure_ascii=False)
        if not isinstance(arguments, str) or not arguments:
            return
        self.size += len(arguments)
        if self.size > MAX_ARGUMENTS:
            raise MalformedResponseError(
                f"a tool call's arguments are longer than {MAX_ARGUMENTS} characters"
            )
        self.arguments.append(arguments)

    def call(self) -> ToolCall:
        if not self.id:
            raise MalformedResponseError(f"a tool call has no id (tool {self.name[:64]!r})")
        if not self.name:
            raise MalformedResponseError("a tool call has no function name")
        # No arguments at all is how some models call a tool without parameters; "{}"
        # says the same in JSON, which the tool runner and the API both accept.
        return ToolCall(self.id, self.name, "".join(self.arguments) or "{}")


class ToolCallAssembler:
    """The tool calls of one answer, built up piece by piece."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: dict[int, _Parts] = {}

    def feed(self, pieces: object) -> None:
        """Take a ``delta.tool_calls`` list (``None``: the chunk has none)."""
        if pieces is None:
            return
        if not isinstance(pieces, list):
            raise MalformedResponseError("a stream chunk's tool_calls is not a list")
        for piece in pieces:
            if not isinstance(piece, dict):
                raise MalformedResponseError("a tool call piece is not an object")
            self._parts_for(self._index(piece)).add(piece)

    def add_whole(self, calls: object) -> None:
        """Take ``message.tool_calls`` of an answer that was not streamed."""
        if calls is None:
            return
        if not isinstance(calls, list):
            raise MalformedResponseError("the answer's tool_calls is not a list")
        for index, call in enumerate(calls):
            if not isinstance(call, dict):
                raise MalformedResponseError("a tool call is not an object")
            self._parts_for(index).add(call)

    def calls(self) -> tuple[ToolCall, ...]:
        """Every call, in index order. Raises if any is incomplete."""
        return tuple(self._parts[index].call() for index in sorted(self._parts))

    def _index(self, piece: dict[str, object]) -> int:
        index = piece.get("index")
        if index is None:
            return self._index_without_one(piece)
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise MalformedResponseError(f"a tool call piece has an invalid index {index!r:.20}")
        return index

    def _index_without_one(self, piece: dict[str, object]) -> int:
        # A server that sends no index sends the calls one after another: another id
        # (or, with no id, another name) than the last call's starts the next call.
        if not self._parts:
            return 0
        last = max(self._parts)
        call_id = piece.get("id")
        function = piece.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        parts = self._parts[last]
        if call_id:
            is_new = bool(parts.id) and call_id != parts.id
        else:
            is_new = bool(name) and bool(parts.name) and name != parts.name
        return last + 1 if is_new else last

    def _parts_for(self, index: int) -> _Parts:
        parts = self._parts.get(index)
        if parts is None:
            if len(self._parts) >= MAX_TOOL_CALLS:
                raise MalformedResponseError(
                    f"the answer asks for more than {MAX_TOOL_CALLS} tool calls"
                )
            parts = self._parts[index] = _Parts()
        return parts
