"""Tools the model can call: what a tool is, the registry of them, running a step's calls.

A tool is anything with a ``ToolInfo`` and an async ``call``::

    class Tool(Protocol):
        info: ToolInfo                       # name ("time", "github.search_issues"), description, schema
        async def call(self, arguments: dict[str, Any]) -> str

Plugins declare them with ``core.plugins.tool``; MCP servers' tools join as
"server.tool" (``core/tools/mcp``). The ``ToolRegistry`` holds every tool the bot has,
grouped by where it comes from; which of them a channel may use is decided by
``core/tools/policy.py``. The engine asks the model with the enabled tools' ``ToolSpec``
and runs the calls it makes with ``run_calls`` (bounded in time and output; a failing
tool becomes an error text for the model, never an exception).
"""

from core.tools.registry import Tool, ToolInfo, ToolRegistry, wire_name

__all__ = ["Tool", "ToolInfo", "ToolRegistry", "wire_name"]
