"""Who said what: in a shared conversation each user turn reaches the model as
"Ada Lovelace: the text", so that it can tell the people in a thread apart.

Why a prefix in the text, not the Chat Completions ``name`` field:

- many OpenAI-compatible local servers (llama.cpp, Ollama, vLLM with most chat
  templates) drop ``name`` when they build the prompt, so the model would never see it;
  the text is read by every server and every model;
- ``name`` must match ``^[a-zA-Z0-9_-]{1,64}$``: "Zoë Ó Briain" or "李雷" would have to
  be mangled into something else, or lost;
- the prefix is stored in the turn's ``content`` (what the model reads, as a file's text
  is), so it is counted with the turn's tokens and prebuilt with ``Turn.message``: it
  costs nothing per message later.

DMs and the console stay unprefixed: there is one person to talk to. The bot's own turns never are:
a model shown "chatwright: …" for its own words tends to start writing that too.
"""

from __future__ import annotations

import re

from core.types import IncomingMessage

__all__ = ["MAX_NAME_CHARS", "speaker", "spoken_by", "said"]

# Platforms whose every conversation has one person in it (shared with no one).
_ONE_PERSON_PLATFORMS = frozenset({"console"})
# A display name longer than this is cut: it is repeated before every turn of its speaker.
MAX_NAME_CHARS = 64
# Line breaks, tabs and other control characters in a name: a name on two lines would
# read as a turn of its own.
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")


def speaker(name: str, user_id: str) -> str:
    """The name a turn is said by: the display name on one line, at most
    ``MAX_NAME_CHARS``; the platform's id when there is no name."""
    cleaned = _SPACES.sub(" ", name).strip()[:MAX_NAME_CHARS].strip()
    return cleaned or _SPACES.sub(" ", user_id).strip()[:MAX_NAME_CHARS] or "someone"


def spoken_by(name: str, content: str) -> str:
    """``content`` as said by ``name`` (already a ``speaker``)."""
    return f"{name}: {content}" if content else f"{name}:"


def said(message: IncomingMessage, content: str) -> str:
    """``content`` (the message's text and its files) as the model reads it: with its
    speaker's name in a shared conversation, as it is in a DM."""
    if message.is_dm or message.conversation.platform in _ONE_PERSON_PLATFORMS:
        return content
    return spoken_by(speaker(message.user_name, message.user_id), content)
