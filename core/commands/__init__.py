"""Commands: declared once in a table, from which help, the Slack manifest, Discord's app
commands and the parsing of typed lines all come.

- ``spec.py``: what a command is (``CommandSpec``, ``Subcommand``, ``Option``, who may run it).
- ``table.py``: ``CommandTable``, every command by name (built-ins first, then plugins').
- ``parse.py``: typed arguments from a line (Slack, console) or checked from a platform's options.
- ``help.py``: the help text, from the table.
- ``runner.py``: ``Commands``, which runs a ``CommandRequest`` (rights checked there).
- ``builtin.py``, ``persona.py``, ``tools.py``: the built-in commands.

Plugins declare commands with ``core.plugins.command``.
"""

from core.commands.help import help_text
from core.commands.parse import check_arguments, parse_arguments, parse_command_line, usage
from core.commands.runner import Commands
from core.commands.spec import (
    ADMINS,
    ADMINS_IN_SHARED,
    EVERYONE,
    Access,
    Arguments,
    CommandContext,
    CommandSpec,
    Option,
    Subcommand,
    TypedCommandRequest,
)
from core.commands.table import CommandTable

__all__ = [
    "ADMINS", "ADMINS_IN_SHARED", "EVERYONE", "Access", "Arguments", "CommandContext", "CommandSpec",
    "CommandTable", "Commands", "Option", "Subcommand", "TypedCommandRequest", "check_arguments", "help_text",
    "parse_arguments", "parse_command_line", "usage",
]
