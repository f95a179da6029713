# The prompt (adapters/console/prompt.py) is not imported here: prompt_toolkit takes a
# fifth of a second to import, and only a console in a terminal needs it.
from adapters.console.adapter import ConsoleAdapter, ConsoleConfig

__all__ = ["ConsoleAdapter", "ConsoleConfig"]
