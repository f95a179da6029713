"""Domain values shared by the engine, the store and the adapters.

They are frozen: a value handed to the engine cannot change under it. Wire payloads of
the platforms never reach this module; adapters translate them into these values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from core.text import scrub

__all__ = [
    "WORKSPACE_DEFAULT",
    "ChannelRef",
    "ConversationRef",
    "IncomingMessage",
    "CommandRequest",
    "CommandResult",
    "Role",
    "TurnRole",
    "ToolCall",
    "Turn",
    "NewTurn",
    "Persona",
    "PersonaChange",
    "ToolsChange",
    "Feedback",
    "FeedbackTotals",
    "Usage",
    "UsageTotals",
    "ChatMessage",
    "ChatImage",
    "ChatParams",
    "ToolSpec",
    "FileRef",
    "ImageRef",
]

Role = Literal["system", "user", "assistant", "tool"]
# The roles of stored turns: a question, an answer (or a step asking for tools), a tool's result.
TurnRole = Literal["user", "assistant", "tool"]

# The channel id under which a workspace-wide default persona is stored.
WORKSPACE_DEFAULT = "*"


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A channel: where personas and usage are kept. ``workspace`` is "" for none (a DM)."""

    platform: str
    workspace: str
    channel: str

    @property
    def workspace_default(self) -> ChannelRef:
        return ChannelRef(self.platform, self.workspace, WORKSPACE_DEFAULT)


@dataclass(frozen=True, slots=True)
class ConversationRef:
    """One conversation: a channel, and a thread inside it where the platform has those."""

    platform: str
    workspace: str
    channel: str
    thread: str = ""

    @property
    def channel_ref(self) -> ChannelRef:
        return ChannelRef(self.platform, self.workspace, self.channel)


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A normalised message that the bot should answer."""

    conversation: ConversationRef
    user_id: str
    user_name: str
    text: str
    is_dm: bool = False
    is_admin: bool = False
    # The platform's id of this event, for answering it exactly once ("" when none).
    event_id: str = ""
    # Files sent with the message, as the platform describes them; fetched when the
    # answer is written (core/attachments), so a resumed answer can fetch them again.
    files: tuple[FileRef, ...] = ()
    # Who may talk to the bot (core/access.py): the author's roles where the platform
    # has them (Discord), and the channel a thread belongs to ("" when not a thread).
    role_ids: tuple[str, ...] = ()
    parent_channel: str = ""

    def __post_init__(self) -> None:
        # A lone surrogate (valid JSON) would fail the store and the chat client, and the
        # question would be lost; replaced, it is answered (core/text.py).
        object.__setattr__(self, "text", scrub(self.text))
        object.__setattr__(self, "user_name", scrub(self.user_name))


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call of a tool the model asked for, as it wrote it."""

    id: str  # the model's id for the call; the tool turn answering it repeats it
    name: str
    arguments: str  # JSON text, as the model wrote it (it may not be valid)


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file attached to a message, as its platform describes it (not yet fetched).

    ``url`` is where the adapter's ``FileSource`` fetches it from (Slack's
    ``url_private_download``, a Discord CDN URL, a local path for the console); it is
    kept with the answer's record. ``size`` is the platform's word (0 if unknown).
    """

    name: str
    mime_type: str
    size: int
    url: str


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image of a stored user turn: what the model was shown, durably referenced.

    Its bytes (the downscaled, re-encoded image) are kept apart from the turn and only
    for a while (``Store.image_data``, ``Store.prune_images``); the reference stays.
    """

    name: str
    mime_type: str
    width: int
    height: int
    size: int  # bytes of the encoded image
    sha256: str  # hex digest of the encoded image
    tokens: int  # the model's token estimate for it


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A platform-neutral command such as ``persona set <text>`` or ``forget``."""

    conversation: ConversationRef
    user_id: str
    user_name: str
    name: str
    args: str = ""
    is_dm: bool = False
    is_admin: bool = False
    # As for ``IncomingMessage`` (core/access.py).
    role_ids: tuple[str, ...] = ()
    parent_channel: str = ""

    def __post_init__(self) -> None:
        # As for ``IncomingMessage``: ``persona set`` stores its argument.
        object.__setattr__(self, "args", scrub(self.args))
        object.__setattr__(self, "user_name", scrub(self.user_name))


@dataclass(frozen=True, slots=True)
class CommandResult:
    text: str
    # Whether the command changed state (adapters may show changes publicly).
    changed: bool = False


@dataclass(frozen=True, slots=True)
class NewTurn:
    """A turn about to be stored."""

    role: TurnRole
    content: str
    tokens: int
    author_id: str = ""
    author_name: str = ""
    # The platform event this turn asks (user) or answers (assistant), "" for none: it
    # links the turns to their answer record, so a resumed answer never stores its
    # question twice and finds a reply that was stored but not delivered.
    event_id: str = ""
    # A user turn's images (their notes are in ``content``, their tokens in ``tokens``)
    # and, in the same order, their encoded bytes.
    images: tuple[ImageRef, ...] = ()
    image_data: tuple[bytes, ...] = ()
    # An assistant turn that asked for tools: its calls (``content`` is any text it
    # wrote beside them). A tool turn: the id of the call it answers.
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


@dataclass(frozen=True, slots=True)
class Turn:
    """A stored turn of a conversation."""

    id: int
    role: TurnRole
    content: str
    tokens: int
    author_id: str
    author_name: str
    created_at: datetime
    # A user turn's images; ``content`` names each, ``tokens`` counts them.
    images: tuple[ImageRef, ...] = ()
    # As in ``NewTurn``: the calls of an assistant turn, the call a tool turn answers.
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    # The turn as the model is sent it. Built once with the turn: every message re-sends
    # its conversation's newest turns, and a ChatMessage per turn per message cost about
    # a third of the engine's own time.
    message: ChatMessage = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        message = ChatMessage(self.role, self.content, (), self.tool_calls, self.tool_call_id)
        object.__setattr__(self, "message", message)


@dataclass(frozen=True, slots=True)
class Persona:
    """A system prompt, optionally with its own model and sampling parameters."""

    system_prompt: str
    name: str = ""
    description: str = ""
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    # Whether the model takes images; None: the global default (OPENAI_VISION).
    vision: bool | None = None
    # The tools this persona's channels may use (names as ``/tools list`` shows them);
    # None: the default (TOOLS_ENABLED). A channel's own ``/tools`` choice comes first.
    tools: tuple[str, ...] | None = None
    # Prompts Slack suggests in a DM with the bot (``assistant.threads.setSuggestedPrompts``).
    suggested_prompts: tuple[str, ...] = ()
    # Shown in turn under the thread while the model works (Slack's status line); none:
    # the defaults of SLACK_LOADING_MESSAGES.
    loading_messages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PersonaChange:
    """One entry of the persona audit log. ``None`` means "no persona set" (the default)."""

    channel: ChannelRef
    actor_id: str
    actor_name: str
    before: Persona | None
    after: Persona | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class ToolsChange:
    """One entry of the tools audit log: a channel's enabled tools before and after.
    ``None`` means "not set here" (the persona's or the default set applies)."""

    channel: ChannelRef
    actor_id: str
    actor_name: str
    before: frozenset[str] | None
    after: frozenset[str] | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class Feedback:
    """A 👍 or 👎 someone gave one answer (Slack's feedback buttons)."""

    channel: ChannelRef
    answer_id: str  # the platform's id of the answer's message
    user_id: str
    helpful: bool


@dataclass(frozen=True, slots=True)
class FeedbackTotals:
    helpful: int = 0
    unhelpful: int = 0


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens used by one model call."""

    prompt_tokens: int
    completion_tokens: int
    # Of ``prompt_tokens``, those the provider read from its prompt cache (billed less);
    # of ``completion_tokens``, those spent reasoning. 0 when the provider does not say.
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    # What the call cost at the configured prices (core/pricing.py); 0 when unpriced.
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.cost_usd + other.cost_usd,
        )


@dataclass(frozen=True, slots=True)
class UsageTotals:
    today: Usage
    total: Usage


@dataclass(frozen=True, slots=True)
class ChatImage:
    """An image sent to the model with a message: a ``data:`` URL and its token estimate."""

    data_url: str
    tokens: int


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of the context sent to the chat model: text, and a user's images."""

    role: Role
    content: str
    images: tuple[ChatImage, ...] = ()
    # An assistant message's tool calls; a tool message's call id.
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


@dataclass(frozen=True, slots=True)
class ChatParams:
    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    # Extra fields passed through to the API as they are (e.g. top_p).
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
    # The tools the model may call in this request (none: it can only write text).
    tools: tuple[ToolSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the model is told of it (OpenAI function calling)."""

    # What the model calls it: letters, digits, "_" and "-" only (the API's rule), so a
    # tool people know as "server.tool" (MCP) is "server__tool" here (core/tools).
    name: str
    description: str
    parameters: Mapping[str, Any] = field(compare=False, hash=False)  # a JSON schema
