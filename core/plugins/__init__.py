"""The plugin API: what a plugin module imports to add tools and commands to chatwright.

    from core.plugins import tool, command, Option, CommandContext, CommandError, ToolError

This module and what it exports are the stable surface for plugin authors; everything
else under ``core/`` may change. See README "Writing a plugin".

- ``tool`` (``core/plugins/tools.py``): an async function becomes a tool the model can
  call; its name, description and JSON schema come from the function's name, docstring
  and type hints.
- ``ToolError``: raise it from a tool with a message for the model ("unknown time zone
  'X'; use an IANA name"); invalid arguments raise it too.
- ``command`` (``core/plugins/commands.py``): a slash command, declared once for Slack,
  Discord and the console; ``Option`` declares its arguments, ``CommandContext`` is what
  the function gets first (who, where), ``CommandResult`` a result the channel may see,
  and ``CommandError`` a refusal whose message the user reads.
- Loading (``core/plugins/loading.py``): modules named in ``PLUGINS=pkg.module,…`` and
  the ``chatwright.plugins`` entry-point group are imported at start; what they declare
  joins the registries.
"""

from core.commands.spec import CommandContext, Option
from core.errors import CommandError
from core.plugins.commands import command
from core.plugins.tools import ToolError, tool
from core.types import CommandResult

__all__ = ["CommandContext", "CommandError", "CommandResult", "Option", "ToolError", "command", "tool"]
