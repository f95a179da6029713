"""``CommandTable``: every command the bot has, by name, in the order they were added
(built-ins first, then plugins'): what help, the Slack manifest and Discord list."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from core.commands.spec import CommandSpec
from core.errors import ConfigurationError

__all__ = ["CommandTable"]


class CommandTable:
    def __init__(self, specs: Iterable[CommandSpec] = ()) -> None:
        self._specs: dict[str, CommandSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: CommandSpec) -> None:
        """Add a command; a second command of the same name is a configuration error
        (two plugins, or a plugin and a built-in), the same one again is harmless."""
        known = self._specs.get(spec.name)
        if known is not None and known is not spec:
            raise ConfigurationError(f"two commands are called /{spec.name}; rename one of them")
        self._specs[spec.name] = spec

    def get(self, name: str) -> CommandSpec | None:
        return self._specs.get(name.lower())

    def names(self) -> list[str]:
        return list(self._specs)

    def __iter__(self) -> Iterator[CommandSpec]:
        return iter(list(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._specs
