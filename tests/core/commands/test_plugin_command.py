"""``@command``: a plugin's command joins the table and runs from a line or typed options."""

from __future__ import annotations

from datetime import date

import pytest

from core.commands import Arguments, CommandContext, Commands, TypedCommandRequest, help_text
from core.commands.services import BuiltinContext
from core.errors import CommandError, PermissionDenied
from core.plugins import Option, command
from core.plugins.commands import PluginCommand
from core.types import CommandRequest, CommandResult, ConversationRef, Persona
from tests.core.commands.deploy_plugin import deploy

CHANNEL = ConversationRef("test", "W1", "C1")
DM = ConversationRef("test", "W1", "D1")


@pytest.fixture
def commands(memory_store) -> Commands:
    async def persona_for(channel):
        return Persona("Default."), "test"

    async def forget(request):  # pragma: no cover - not used here
        return 0

    commands = Commands(memory_store, {}, persona_for, forget, lambda: date(2026, 11, 22), 100)
    commands.add(deploy.spec)
    return commands


def request(name: str, args: str = "", *, admin: bool = False, where: ConversationRef = CHANNEL) -> CommandRequest:
    return CommandRequest(where, "U1", "Alice", name, args, is_dm=where is DM, is_admin=admin)


async def test_a_plugin_command_runs_from_a_line(commands):
    result = await commands.run(request("deploy", "api prod --dry_run", admin=True))
    assert result == CommandResult("Would deploy api to prod for Alice on test.")
    assert (await commands.run(request("deploy", "api", admin=True))).text == "Deployed api to staging for Alice on test."


async def test_a_plugin_command_runs_from_typed_options(commands):
    typed = TypedCommandRequest(CHANNEL, "U1", "Alice", "deploy", is_admin=True,
                                arguments=Arguments("", {"service": "web", "env": "PROD"}))
    assert (await commands.run(typed)).text == "Deployed web to prod for Alice on test."


async def test_its_options_are_checked_before_it_runs(commands):
    with pytest.raises(CommandError, match=r"^Usage: /deploy <service> \[staging\|prod\] \[--dry_run\]$"):
        await commands.run(request("deploy", "", admin=True))
    with pytest.raises(CommandError, match="No env called 'moon'. Choose one of: staging, prod."):
        await commands.run(request("deploy", "api moon", admin=True))


@pytest.mark.parametrize("where", [CHANNEL, DM])
async def test_admin_true_refuses_others_everywhere(commands, where):
    with pytest.raises(PermissionDenied, match=r"^Only admins can use /deploy\.$"):
        await commands.run(request("deploy", "api", where=where))


async def test_admin_shared_lets_a_user_act_in_their_dm(commands):
    @command("wipe", "Wipe my notes", admin="shared")
    async def wipe(ctx: CommandContext) -> str:
        return "wiped"

    commands.add(wipe.spec)
    assert (await commands.run(request("wipe", where=DM))).text == "wiped"
    with pytest.raises(PermissionDenied, match=r"^Only admins can use /wipe in a shared channel\.$"):
        await commands.run(request("wipe"))


async def test_a_plugin_sees_who_and_where_but_not_the_built_ins_services(commands):
    seen: list[CommandContext] = []

    @command("whoami", "Who am I")
    async def whoami(ctx: CommandContext) -> CommandResult:
        seen.append(ctx)
        return CommandResult(f"{ctx.user_id} in {ctx.channel.channel}", changed=True)

    commands.add(whoami.spec)
    assert await commands.run(request("whoami")) == CommandResult("U1 in C1", changed=True)
    assert type(seen[0]) is CommandContext and not isinstance(seen[0], BuiltinContext)
    assert (seen[0].conversation, seen[0].is_dm, seen[0].is_admin, seen[0].platform) == (CHANNEL, False, False, "test")


async def test_a_plain_function_runs_off_the_event_loop(commands):
    import threading

    @command("where", "Which thread")
    def where(ctx: CommandContext) -> str:
        return threading.current_thread().name

    commands.add(where.spec)
    assert (await commands.run(request("where"))).text != threading.current_thread().name


async def test_the_decorated_object_is_still_the_function():
    assert isinstance(deploy, PluginCommand) and deploy.__name__ == "deploy"
    ctx = CommandContext(request("deploy"))
    assert await deploy(ctx, "api", dry_run=True) == "Would deploy api to staging for Alice on test."


async def test_it_shows_in_help(commands):
    text = (await commands.run(request("help"))).text
    assert text == help_text(commands.table)
    assert any(line.startswith("  /deploy <service> [staging|prod] [--dry_run] ") for line in text.splitlines())


async def test_unknown_commands(commands):
    with pytest.raises(CommandError, match=r"^Unknown command /dance\. Try /help\.$"):
        await commands.run(request("dance"))


def _declare(*, options=(), admin=False):
    return command("x", "X", options=options, admin=admin)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: _declare(options=[Option("service", "S", required=True)])(lambda ctx: ""), "no parameter of that name"),
    (lambda: _declare(options=[Option("env", "E")])(lambda ctx, env: ""), "give env a default"),
    (lambda: _declare()(lambda ctx, extra: ""), "'extra' is not an option"),
    (lambda: _declare()(lambda: ""), "first parameter is the context"),
    (lambda: _declare(admin="yes")(lambda ctx: ""), "admin= must be"),
    (lambda: command("Bad Name", "X")(lambda ctx: ""), "lowercase"),
])
def test_mistakes_in_a_declaration_are_found_at_import(make, message):
    with pytest.raises(TypeError, match=message):
        make()
