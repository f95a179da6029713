from adapters.console.adapter import ConsoleAdapter, ConsoleConfig

__all__ = ["ConsoleAdapter", "ConsoleConfig"]
