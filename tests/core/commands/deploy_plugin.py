"""A plugin with one command, as a plugin author writes it: loaded by the tests through
``PLUGINS`` or added to an engine's table."""

from core.plugins import CommandContext, Option, command

__all__ = ["deploy"]


@command("deploy", "Deploy a service", options=[
    Option("service", "Which service", required=True),
    Option("env", "Where to", type="choice", choices=("staging", "prod")),
    Option("dry_run", "Only say what would happen", type="flag"),
], admin=True)
async def deploy(ctx: CommandContext, service: str, env: str = "staging", dry_run: bool = False) -> str:
    done = "Would deploy" if dry_run else "Deployed"
    return f"{done} {service} to {env} for {ctx.user_name} on {ctx.platform}."
