"""The ``MCP_CONFIG`` file: which MCP servers to start, in the format other MCP clients use.

    {"mcpServers": {
      "files":  {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"]},
      "github": {"url": "https://api.githubcopilot.com/mcp/",
                 "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}}
    }}

- A server with ``command`` is started as a child process speaking stdio (``args``,
  ``env`` and ``cwd`` optional); one with ``url`` is reached over streamable HTTP
  (``headers`` optional). ``"type"`` may say which ("stdio", "http", "streamable-http");
  "sse" (the old HTTP transport) is refused with a message saying so.
- ``${VAR}`` and ``${VAR:-default}`` (the default when VAR is unset or empty, as in the
  shell) in command, args, env, cwd, url and headers are replaced with the bot's
  environment variables, so that secrets stay out of the file. A variable that is unset
  and has no default is an error naming the server and the field.
- A child process gets only a minimal environment (PATH, HOME, USER, SHELL, TERM, LOGNAME:
  the SDK's default) plus its ``env``: the bot's own secrets are not passed on.
- A server's name is the first half of its tools' names ("github.search_issues"): letters,
  digits, ``_`` and ``-``. ``"disabled": true`` skips a server; fields that other clients
  add ("alwaysAllow", "autoApprove", …) are ignored, so one file can serve several clients.

Every problem is one line naming the file, the server and the field, never a value.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import ConfigurationError

__all__ = ["HttpServer", "ServerConfig", "StdioServer", "load_config", "parse_config"]

_SERVER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+")
_STDIO_TYPES = {"stdio"}
_HTTP_TYPES = {"http", "streamable-http", "streamable_http", "streamableHttp"}


class _Server(BaseModel):
    # Ignored, not forbidden: other clients' extensions share the file.
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str


class StdioServer(_Server):
    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None

    @property
    def where(self) -> str:
        # The command only: args may carry a token expanded from ${VAR}.
        return f"stdio: {self.command}"

    def secret_values(self) -> list[str]:
        """What must never reach a log: the env values, as expanded."""
        return list(self.env.values())


class HttpServer(_Server):
    url: str
    headers: dict[str, str] = Field(default_factory=dict)

    @property
    def where(self) -> str:
        # Without the query and the user part: either may hold a key.
        parts = urlsplit(self.url)
        return "http: " + urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))

    def secret_values(self) -> list[str]:
        """What must never reach a log: header values, the URL's query and password."""
        parts = urlsplit(self.url)
        hidden = [parts.query, parts.password or ""]
        return [*self.headers.values(), *(h for h in hidden if h)]


ServerConfig = StdioServer | HttpServer


def load_config(path: Path, environ: Mapping[str, str] = os.environ) -> tuple[ServerConfig, ...]:
    """The enabled servers of the file at ``path``, in the file's order."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"MCP_CONFIG {path}: cannot read it ({exc.strerror or exc})") from exc
    return parse_config(text, str(path), environ)


def parse_config(text: str, origin: str, environ: Mapping[str, str] = os.environ) -> tuple[ServerConfig, ...]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"MCP_CONFIG {origin}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    servers = document.get("mcpServers") if isinstance(document, dict) else None
    if not isinstance(servers, dict):
        raise ConfigurationError(f'MCP_CONFIG {origin}: expected an object {{"mcpServers": {{"name": {{...}}}}}}')
    parsed = (_server(origin, name, entry, environ) for name, entry in servers.items())
    return tuple(server for server in parsed if server is not None)


def _server(origin: str, name: str, entry: Any, environ: Mapping[str, str]) -> ServerConfig | None:
    where = f"MCP_CONFIG {origin}: server {name!r}"
    if not _SERVER_NAME.match(name):
        raise ConfigurationError(f"{where}: a server's name must be 1 to 64 letters, digits, '_' or '-' "
                                 "(its tools are called name.tool)")
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where}: expected an object with a command or a url")
    if entry.get("disabled") is True:
        return None
    model = _transport(where, entry)
    try:
        server = model.model_validate({**entry, "name": name})
    except ValidationError as exc:
        raise ConfigurationError(f"{where}: {_first_problem(exc)}") from None
    return _expanded(where, server, environ)


def _transport(where: str, entry: dict[str, Any]) -> type[StdioServer] | type[HttpServer]:
    kind = entry.get("type")
    if kind == "sse":
        raise ConfigurationError(f"{where}: type: the SSE transport is not supported; use streamable HTTP")
    if kind is not None and kind not in _STDIO_TYPES | _HTTP_TYPES:
        raise ConfigurationError(f"{where}: type: expected 'stdio' or 'http', not {kind!r}")
    if "command" in entry and "url" in entry:
        raise ConfigurationError(f"{where}: give either a command (stdio) or a url (HTTP), not both")
    if "command" in entry or kind in _STDIO_TYPES:
        return StdioServer
    if "url" in entry or kind in _HTTP_TYPES:
        return HttpServer
    raise ConfigurationError(f"{where}: needs a command (stdio) or a url (streamable HTTP)")


def _first_problem(exc: ValidationError) -> str:
    # The field and pydantic's words, never the input: it may be a secret.
    error = exc.errors(include_url=False, include_input=False)[0]
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
    return f"{field or 'entry'}: {error['msg']}"


def _expanded(where: str, server: ServerConfig, environ: Mapping[str, str]) -> ServerConfig:
    def expand(text: str, field: str) -> str:
        def value(match: re.Match[str]) -> str:
            variable, default = match.group(1), match.group(2)
            found = environ.get(variable)
            if default is not None and not found:  # as in the shell: unset or empty
                return default
            if found is None:
                raise ConfigurationError(f"{where}: {field} refers to ${{{variable}}}, which is not set")
            return found

        return _VARIABLE.sub(value, text)

    def expand_map(values: dict[str, str], field: str) -> dict[str, str]:
        return {key: expand(text, f"{field}.{key}") for key, text in values.items()}

    if isinstance(server, StdioServer):
        command = expand(server.command, "command")
        if not command:
            raise ConfigurationError(f"{where}: command is empty")
        return server.model_copy(update={
            "command": command,
            "args": [expand(arg, f"args[{i}]") for i, arg in enumerate(server.args)],
            "env": expand_map(server.env, "env"),
            "cwd": None if server.cwd is None else expand(server.cwd, "cwd"),
        })
    url = expand(server.url, "url")
    if not _HTTP_URL.match(url):
        raise ConfigurationError(f"{where}: url must start with http:// or https:// and name a host")
    return server.model_copy(update={"url": url, "headers": expand_map(server.headers, "headers")})
