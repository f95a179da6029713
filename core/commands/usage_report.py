"""``/usage``: what this channel used today and in total, in tokens and, where prices
are configured, in money; for admins, their workspace's totals too."""

from __future__ import annotations

from core.commands.services import BuiltinContext
from core.commands.spec import CommandSpec
from core.types import CommandResult, Usage, UsageTotals

__all__ = ["USAGE_COMMAND", "money"]

_NO_PRICES = "No prices are set, so no cost is shown (README: \"What answers cost\")."


def money(usd: float) -> str:
    """Dollars as people read them: cents from a dollar up, else four decimals."""
    return f"${usd:,.2f}" if usd >= 0.995 else f"${usd:.4f}"


def _details(used: Usage) -> str:
    cached = f", {used.cached_tokens:,} of them cached" if used.cached_tokens else ""
    reasoning = f", {used.reasoning_tokens:,} of them reasoning" if used.reasoning_tokens else ""
    return f"{used.prompt_tokens:,} prompt{cached} + {used.completion_tokens:,} completion{reasoning}"


def _line(where: str, totals: UsageTotals) -> str:
    today, total = totals.today, totals.total
    priced = total.cost_usd > 0
    today_cost = f", {money(today.cost_usd)}," if priced else ""
    total_cost = f", {money(total.cost_usd)}" if priced else ""
    return (f"{where} used {today.total_tokens:,} tokens today ({_details(today)}){today_cost} "
            f"and {total.total_tokens:,} in total{total_cost}.")


async def _usage(ctx: BuiltinContext) -> CommandResult:
    store, today = ctx.services.store, ctx.services.today()
    channel = await store.usage(ctx.channel, today)
    lines = [_line("This channel", channel)]
    if ctx.request.is_admin and not ctx.request.is_dm:
        lines.append(_line("This workspace", await store.workspace_usage(ctx.channel, today)))
    if channel.total.total_tokens and not channel.total.cost_usd:
        lines.append(_NO_PRICES)
    feedback = await store.feedback_totals(ctx.channel)
    if feedback.helpful or feedback.unhelpful:  # only where people rate answers (Slack)
        lines.append(f"Feedback: {feedback.helpful:,} helpful, {feedback.unhelpful:,} unhelpful.")
    return CommandResult("\n".join(lines))


USAGE_COMMAND = CommandSpec(
    "usage", "Tokens and cost of this channel today and in total (admins: the workspace's too)", _usage)
