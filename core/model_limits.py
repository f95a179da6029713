"""What one answer may send a model and ask of it: within the model's context window.

The engine sends a model the persona's prompt, as much history as the context budget
holds and the question, and asks for at most ``reply_cap`` tokens. Both must fit the
model's window (``MODELS_FILE``'s ``context_window``, or what the server said at start,
``core/model/windows.py``): a prompt over the window makes some servers answer with an
empty stream, and a reply cap over what the window leaves is refused or cut.

Where the window is not known:
- a model on a local server (``is_local_server``) is taken to have ``UNKNOWN_LOCAL_WINDOW``
  tokens, and writes at most ``LOCAL_REPLY_CAP`` (a quarter of the window if smaller)
  unless a persona or MAX_REPLY_TOKENS says otherwise: a small model may ramble for minutes;
- a hosted model is sent what settings say (CONTEXT_TOKEN_BUDGET, MAX_REPLY_TOKENS), as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model.catalog import ModelCatalog, ModelInfo, Provider
from core.model.windows import is_local_server
from core.types import ChatMessage, Persona

__all__ = [
    "UNKNOWN_LOCAL_WINDOW", "LOCAL_REPLY_CAP", "WINDOW_SHARE", "ModelLimits", "ModelLimitsBook",
    "model_limits", "trimmed_history",
]

# The window assumed for a local model whose window nobody said: small models are run
# with 2,048–4,096 tokens, and a prompt over the window fails every answer, while a
# window assumed too small only shortens the history. Set context_window to lift it.
UNKNOWN_LOCAL_WINDOW = 2048
# The longest reply asked of a local model when nothing else caps it (about 750 words).
LOCAL_REPLY_CAP = 1024
# The share of the window (less the reply) that the prompt's estimate may fill: the
# model's own tokenizer counts differently (digits one by one in some), and chat
# templates add their own tokens.
WINDOW_SHARE = 0.85
# Kept for the reply in the budget of a model with a known window and no reply cap.
_REPLY_ROOM = 4096
# Never ask for fewer tokens than this, even when the prompt leaves less (the server then
# says the context is too long, which is the truth).
_MIN_REPLY = 64


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """One model as an answer uses it (see the module docstring)."""

    model: str  # the name sent in ``ChatParams.model``
    window: int | None  # the window assumed; None: unknown and not looked after (hosted)
    context_budget: int  # tokens for the persona's prompt, the history and the question
    reply_cap: int | None  # ``max_tokens``; None: the server's own limit
    vision: bool | None  # None: settings say (OPENAI_VISION)
    tools: bool

    def reply_tokens(self, prompt_tokens: int) -> int | None:
        """The reply cap for a prompt of ``prompt_tokens``: never more than the window leaves."""
        if self.reply_cap is None or self.window is None:
            return self.reply_cap
        room = int(self.window - prompt_tokens / WINDOW_SHARE)  # the estimate may be low
        return max(min(self.reply_cap, room), min(self.reply_cap, _MIN_REPLY))

    def near_window(self, prompt_tokens: int) -> bool:
        """Whether a prompt is large enough that an empty answer likely means it did not
        fit (the estimate may be far below what the model's tokenizer counts)."""
        if self.window is None:
            return False
        return prompt_tokens >= (self.window - (self.reply_cap or 0)) / 2


def model_limits(
    info: ModelInfo, provider: Provider | None, *, context_token_budget: int,
    max_reply_tokens: int | None,
) -> ModelLimits:
    """The limits of ``info``'s model, served by ``provider`` (None: not known, taken as
    hosted), for a persona or settings asking for ``max_reply_tokens`` (None: nothing)."""
    local = provider is not None and is_local_server(provider.base_url)
    window = info.context_window or (UNKNOWN_LOCAL_WINDOW if local else None)
    cap = _smallest(max_reply_tokens, info.max_reply_tokens)
    if cap is None and local:
        cap = min(LOCAL_REPLY_CAP, (window or UNKNOWN_LOCAL_WINDOW) // 4)
    budget = context_token_budget
    if window is not None:
        if cap is not None:
            cap = max(1, min(cap, window // 2))  # a cap over half the window leaves no history
        room = cap if cap is not None else min(_REPLY_ROOM, window // 4)
        budget = min(budget, int((window - room) * WINDOW_SHARE))
    return ModelLimits(info.name, window, budget, cap, info.vision, info.tools)


class ModelLimitsBook:
    """The limits of the model each persona names (or the default model), from the
    catalog (None: only ``default_model``, nothing known of it) and the settings; worked
    out once per model and reply length asked."""

    # Personas may name any model: at most this many are kept.
    _KEPT = 64

    def __init__(
        self, catalog: ModelCatalog | None, *, default_model: str, context_token_budget: int,
        max_reply_tokens: int | None,
    ) -> None:
        self._catalog = catalog
        self._default = (catalog.default_model if catalog else "") or default_model
        self._budget = context_token_budget
        self._max_reply = max_reply_tokens
        self._kept: dict[tuple[str | None, int | None], ModelLimits] = {}

    def of(self, persona: Persona) -> ModelLimits:
        key = (persona.model, persona.max_tokens)
        limits = self._kept.get(key)
        if limits is None:
            if len(self._kept) >= self._KEPT:
                self._kept.clear()
            limits = self._kept[key] = self._work_out(persona)
        return limits

    def _work_out(self, persona: Persona) -> ModelLimits:
        catalog, name = self._catalog, persona.model or self._default
        info = catalog.info(name) if catalog else ModelInfo(name)
        provider = catalog.providers.get(info.provider) if catalog else None
        return model_limits(info, provider, context_token_budget=self._budget,
                            max_reply_tokens=persona.max_tokens or self._max_reply)


def _smallest(*values: int | None) -> int | None:
    given = [value for value in values if value]
    return min(given) if given else None


def trimmed_history(chat: list[ChatMessage]) -> list[ChatMessage]:
    """``chat`` (the system prompt if any, the history, the question, and the answer's
    tool steps so far) with the older half of the history left out; tool steps are kept
    whole (a result whose call was left out goes too)."""
    start = 1 if chat and chat[0].role == "system" else 0
    question = max((i for i, m in enumerate(chat) if m.role == "user"), default=len(chat) - 1)
    history = chat[start:question]
    kept = history[len(history) // 2:]
    while kept and kept[0].role == "tool":
        kept = kept[1:]
    return chat[:start] + kept + chat[question:]
