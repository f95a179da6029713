"""Loading plugins from PLUGINS and from entry points; a broken plugin is one clear line."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.commands.builtin import builtin_commands
from core.commands.table import CommandTable
from core.errors import ConfigurationError
from core.plugins.loading import load_plugins
from core.tools.registry import ToolRegistry

_PLUGIN = '''
from core.plugins import Option, command, tool

@tool
async def shout(text: str) -> str:
    """Repeat the text in capitals."""
    return text.upper()

@command("shout", "Repeat in capitals", options=[Option("text", "What to repeat", required=True)])
async def shout_command(ctx, text: str) -> str:
    return text.upper()
'''


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The test's plugins (files under tmp_path) are forgotten after it, as is what it
    put on sys.path; libraries they imported stay (forgetting those would break them)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def _write(root: Path, relative: str, source: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    importlib.invalidate_caches()


def _distribution(site: Path, name: str, entry_points: str) -> None:
    """An installed distribution as importlib.metadata sees one: a dist-info folder."""
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    _write(info, "METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    _write(info, "entry_points.txt", f"[chatwright.plugins]\n{entry_points}\n")
    sys.path.insert(0, str(site))


def _load(modules: list[str], workdir: Path, group: str | None = None) -> tuple[ToolRegistry, CommandTable, tuple]:
    tools, commands = ToolRegistry(), CommandTable()
    plugins = load_plugins(modules, tools, commands, group=group, workdir=workdir)
    return tools, commands, plugins


async def test_a_module_in_the_working_directory_named_in_plugins(tmp_path: Path) -> None:
    _write(tmp_path, "my_plugin.py", _PLUGIN)
    tools, commands, (plugin,) = _load(["my_plugin"], tmp_path)
    shout = tools.get("shout")
    assert shout is not None and shout.info.source == "my_plugin" and plugin.origin == "PLUGINS"
    assert await shout.call({"text": "hi"}) == "HI"
    assert commands.names() == ["shout"] and plugin.commands == (commands.get("shout"),)
    # The working directory is searched last: it never hides an installed module.
    assert sys.path[-1] == str(tmp_path.resolve())


def test_the_working_directory_never_hides_an_installed_module(tmp_path: Path) -> None:
    _write(tmp_path, "json.py", _PLUGIN)
    with pytest.raises(ConfigurationError, match="plugin 'json' \\(PLUGINS\\) declares no tools or commands"):
        _load(["json"], tmp_path)


def test_a_packages_tools_are_listed_under_the_package(tmp_path: Path) -> None:
    _write(tmp_path, "my_package/shouting.py", _PLUGIN)
    _write(tmp_path, "my_package/__init__.py", "from .shouting import shout, shout_command\n")
    tools, _, _ = _load(["my_package"], tmp_path)
    assert {source: [info.name for info in infos] for source, infos in tools.by_source().items()} == {
        "my_package": ["shout"]}


async def test_a_plugin_from_an_entry_point_of_an_installed_distribution(tmp_path: Path) -> None:
    _write(tmp_path / "site", "chatwright_shout.py", _PLUGIN)
    _distribution(tmp_path / "site", "chatwright-shout", "shout = chatwright_shout")
    tools, commands, plugins = _load([], tmp_path, group="chatwright.plugins")
    (plugin,) = [p for p in plugins if p.name == "chatwright_shout"]
    assert plugin.origin == "entry point shout = chatwright_shout (chatwright-shout 1.0)"
    assert tools.get("shout") in plugin.tools and "shout" in commands


def test_a_module_named_in_plugins_and_by_an_entry_point_loads_once(tmp_path: Path) -> None:
    _write(tmp_path / "site", "chatwright_shout.py", _PLUGIN)
    _distribution(tmp_path / "site", "chatwright-shout", "shout = chatwright_shout")
    _, _, plugins = _load(["chatwright_shout"], tmp_path, group="chatwright.plugins")
    assert [(p.name, p.origin) for p in plugins if p.name == "chatwright_shout"] == [("chatwright_shout", "PLUGINS")]


@pytest.mark.parametrize(("source", "error"), [
    ("import requests_that_are_not_installed\n",
     "ModuleNotFoundError: No module named 'requests_that_are_not_installed'"),
    ("raise RuntimeError('no API key:\\nset SHOUT_KEY')\n", "RuntimeError: no API key: set SHOUT_KEY"),
    ("def broken(:\n", "SyntaxError: invalid syntax (broken_plugin.py, line 1)"),
    ("from core.plugins import tool\n@tool\nasync def quiet() -> str:\n    return ''\n",
     "TypeError: @tool quiet: give it a docstring (or description=...) saying what it does"),
])
def test_a_plugin_that_fails_to_import_stops_the_bot_with_one_line(tmp_path: Path, source: str, error: str) -> None:
    _write(tmp_path, "broken_plugin.py", source)
    with pytest.raises(ConfigurationError) as caught:
        _load(["broken_plugin"], tmp_path)
    assert str(caught.value) == f"plugin 'broken_plugin' (PLUGINS) failed to load: {error}"


def test_a_plugin_that_is_nowhere_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        _load(["chatwright_no_such_plugin"], tmp_path)
    assert str(caught.value) == (
        "plugin 'chatwright_no_such_plugin' (PLUGINS) not found: no module 'chatwright_no_such_plugin' "
        "is installed or in the working directory")


def test_a_broken_entry_point_names_its_distribution(tmp_path: Path) -> None:
    _write(tmp_path / "site", "chatwright_broken.py", "raise ImportError('needs libfoo')\n")
    _distribution(tmp_path / "site", "chatwright-broken", "broken = chatwright_broken")
    with pytest.raises(ConfigurationError) as caught:
        _load([], tmp_path, group="chatwright.plugins")
    assert str(caught.value) == ("plugin 'chatwright_broken' (entry point broken = chatwright_broken "
                                 "(chatwright-broken 1.0)) failed to load: ImportError: needs libfoo")


def test_a_module_that_declares_nothing_is_a_mistake(tmp_path: Path) -> None:
    _write(tmp_path, "helpers.py", "def shout(text): return text.upper()\n")
    with pytest.raises(ConfigurationError, match="plugin 'helpers' \\(PLUGINS\\) declares no tools or commands"):
        _load(["helpers"], tmp_path)


def test_two_plugins_with_a_tool_of_the_same_name(tmp_path: Path) -> None:
    _write(tmp_path, "first_plugin.py", _PLUGIN)
    _write(tmp_path, "second_plugin.py", _PLUGIN.replace('"shout", "Repeat', '"yell", "Repeat'))
    with pytest.raises(ConfigurationError) as caught:
        _load(["first_plugin", "second_plugin"], tmp_path)
    assert str(caught.value) == (
        "plugin 'second_plugin' (PLUGINS): two tools are called 'shout' (first_plugin and second_plugin)")


def test_a_plugin_command_cannot_take_a_built_in_name(tmp_path: Path) -> None:
    _write(tmp_path, "usage_plugin.py", _PLUGIN.replace('"shout", "Repeat', '"usage", "Repeat'))
    with pytest.raises(ConfigurationError, match="plugin 'usage_plugin' \\(PLUGINS\\): two commands are called /usage"):
        load_plugins(["usage_plugin"], ToolRegistry(), CommandTable(builtin_commands()), group=None, workdir=tmp_path)


async def test_the_example_plugin_loads_from_the_repository(tmp_path: Path) -> None:
    tools, commands, (plugin,) = _load(["plugins.chatwright_example"], tmp_path)
    assert tools.names() == ["fetch_url", "time"] and commands.names() == ["time"]
    assert {tool.info.source for tool in plugin.tools} == {"plugins.chatwright_example"}
