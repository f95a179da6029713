"""The "Ask chatwright" message command: right-click a message → Apps → Ask chatwright.

The bot answers about that message, in a reply to it, through the answer pipeline like
any question: claimed under the interaction's id (unique per use of the command, and
never a message's id: both are Discord snowflakes), streamed and delivered by the
channel renderer, resumed after a restart. Discord sends the target message with its
content and attachments even without the ``message_content`` intent, so this is how
people ask about a message that does not mention the bot.

Why a reply in the channel and not interaction follow-ups: the renderer streams by
editing a channel message, and a resumed answer may be delivered long after the
interaction's token has expired (15 minutes); a channel reply needs only the bot's own
token. The interaction itself is deferred at once (Discord wants an answer within 3
seconds) as an ephemeral "thinking…", then edited to point at the reply. Where the bot
cannot post (installed by a user only: a server it is not in, a group DM, a DM between
others) the user is told so in that ephemeral message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Set

import discord
from discord import app_commands

from adapters.common.pipeline import AnswerPipeline
from adapters.discord.commands import offer_everywhere
from adapters.discord.events import conversation_of, files_of, member_roles, parent_channel
from adapters.discord.mentions import readable_mentions
from adapters.discord.permissions import is_admin
from adapters.discord.reply_chain import ReplyChain
from core.access import REFUSED_TEXT
from core.answers import Route
from core.errors import user_message
from core.types import IncomingMessage

__all__ = ["ASK_CHATWRIGHT", "ask_about", "ask_menu", "bot_can_post", "question_about", "reply_route"]

log = logging.getLogger(__name__)

ASK_CHATWRIGHT = "Ask chatwright"

ANSWERING = "Answering in a reply to that message: {url}"
NOTHING_TO_READ = "That message has no text or files I can read."
CANNOT_POST_HERE = (
    "I can answer about a message only where I can post: in servers I am a member of, and in "
    "our DM. Add me to this server, or forward the message to me in a DM."
)

Handler = Callable[[discord.Interaction, discord.Message], Awaitable[None]]


def ask_menu(handle: Handler) -> app_commands.ContextMenu:
    """The message command, calling ``handle(interaction, target message)``."""

    async def ask(interaction: discord.Interaction, message: discord.Message) -> None:
        await handle(interaction, message)

    return offer_everywhere(app_commands.ContextMenu(name=ASK_CHATWRIGHT, callback=ask))


async def ask_about(
    interaction: discord.Interaction, target: discord.Message, *, pipeline: AnswerPipeline,
    chain: ReplyChain, admin_ids: Set[str],
) -> None:
    """Acknowledge the command, then answer about ``target`` in a reply to it."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    if not bot_can_post(interaction):
        await interaction.edit_original_response(content=CANNOT_POST_HERE)
        return
    incoming = question_about(interaction, target, admin_ids)
    if incoming is None:
        await interaction.edit_original_response(content=NOTHING_TO_READ)
        return
    if pipeline.access.refused(incoming, f"message command {incoming.event_id}"):
        # Told in the ephemeral message, seen by that user only: nothing is posted.
        await interaction.edit_original_response(content=REFUSED_TEXT)
        return
    chain.start_from(incoming.event_id, target)  # what the target itself replied to
    try:
        await pipeline.accept(incoming, reply_route(interaction, target))
    except Exception as exc:
        await interaction.edit_original_response(content=f"⚠️ {user_message(exc)}")
        raise  # logged by discord.py's command tree, with the detail
    await interaction.edit_original_response(content=ANSWERING.format(url=target.jump_url))


def bot_can_post(interaction: discord.Interaction) -> bool:
    """Whether the bot may send messages where the command was used: a server it is a
    member of (it has the server in its cache), or its own DM with the user."""
    if interaction.guild_id is None:
        return interaction.context.dm_channel
    return interaction.client.get_guild(interaction.guild_id) is not None


def question_about(
    interaction: discord.Interaction, target: discord.Message, admin_ids: Set[str]
) -> IncomingMessage | None:
    """The question for core: help with ``target``, asked by whoever used the command."""
    content = readable_mentions(target.content or "", target).strip()
    files = files_of(target)
    if not (content or files) or interaction.channel_id is None:
        return None
    guild_id = interaction.guild_id
    user = interaction.user
    return IncomingMessage(
        conversation=conversation_of(guild_id, interaction.channel_id),
        user_id=str(user.id),
        user_name=user.display_name,
        text=_question(target.author.display_name, content, bool(files)),
        is_dm=guild_id is None,
        is_admin=is_admin(user.id, interaction.permissions if guild_id else None, admin_ids),
        event_id=str(interaction.id),
        files=files,
        role_ids=member_roles(user),
        parent_channel=parent_channel(getattr(interaction, "channel", None)),
    )


def reply_route(interaction: discord.Interaction, target: discord.Message) -> Route:
    """The answer replies to the target, in a DM too (it may be far up the history)."""
    route = {"channel": str(interaction.channel_id), "reply_to": str(target.id)}
    if interaction.guild_id is not None:
        route["guild"] = str(interaction.guild_id)
    return route


def _question(author: str, content: str, has_files: bool) -> str:
    asked = (f"Please help with this message by {author}: answer it if it asks something, "
             "otherwise explain it.")
    if has_files:
        asked += " Its files are attached."
    if not content:
        return asked
    quoted = "\n".join(f"> {line}" for line in content.splitlines())
    return f"{asked}\n\n{quoted}"
