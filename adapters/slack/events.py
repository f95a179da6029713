"""Event payload → decision: answer it (and how), or ignore it (and why). Pure functions.

The rules:
- DMs (``channel_type == "im"``): every message is answered; the DM is the conversation.
- ``app_mention`` in a channel: answered in a thread under the mention (that thread is
  the conversation), or in the channel when ``reply_in_thread`` is off.
- A plain ``message`` in a channel thread is a possible follow-up: answered only if the
  engine has history for that thread (the adapter checks; it keeps no state).
- The bot's own messages, other bots (configurable), edits, deletions and other subtypes
  are ignored. A channel ``message`` that mentions the bot is left to its ``app_mention``
  twin; the claim on ``channel:ts`` is the safety net that answers the pair once.
- An event with a field ``decide`` reads missing or of the wrong type is ignored too
  (``adapters/slack/fields.py``): it is signed, but nothing sensible can be answered.
- Files shared with the message become ``IncomingMessage.files`` (described only; the
  engine fetches them through ``SlackFiles`` when it writes the answer). A message with
  files and no text is answered too. File entries that cannot be downloaded are left
  out quietly (``_file_ref``); the event itself is still answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NotRequired, TypedDict
from urllib.parse import urlsplit

from adapters.common.downloads import declared_size
from adapters.slack.config import SlackConfig
from adapters.slack.fields import is_id, is_optional_id, is_optional_text
from core.text import scrub
from core.types import ConversationRef, FileRef, IncomingMessage

__all__ = [
    "MessageEvent",
    "ReplyTarget",
    "Answer",
    "Ignore",
    "Decision",
    "SlackFile",
    "MAX_FILES_KEPT",
    "decide",
    "file_refs",
    "message_ts",
    "strip_mention",
]

# Subtypes that are still a person writing something new; everything else (edits,
# deletions, joins, bot_message, …) is not a question for the bot.
_ANSWERABLE_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
# The fields of ``MessageEvent`` that ``decide`` reads, by what each must be.
_REQUIRED_IDS = ("channel", "ts")
_OPTIONAL_IDS = ("user", "bot_id", "thread_ts")
_OPTIONAL_TEXTS = ("text", "subtype", "channel_type")
# File entries kept from one event. Slack sends at most 10 files a message; the bound
# only keeps a strange payload from growing the message (and the answer's record). How
# many files are read is the core's limit (ATTACHMENTS_MAX_PER_MESSAGE).
MAX_FILES_KEPT = 20
# Files Slack describes but does not host for the bot: "external" (a link to Drive and
# the like), "tombstone" (deleted), "hidden_by_limit" (beyond a free workspace's history).
_UNHOSTED_MODES = frozenset({"external", "tombstone", "hidden_by_limit"})


class SlackFile(TypedDict):
    """The fields of a Slack file object that the adapter reads."""

    name: str
    mimetype: NotRequired[str]
    size: NotRequired[int]
    url_private_download: str
    mode: NotRequired[str]
    file_access: NotRequired[str]


class MessageEvent(TypedDict):
    """The fields of an ``app_mention`` / ``message`` event that the adapter reads."""

    type: str
    channel: str
    ts: str
    text: NotRequired[str]
    user: NotRequired[str]
    bot_id: NotRequired[str]
    subtype: NotRequired[str]
    thread_ts: NotRequired[str]
    channel_type: NotRequired[str]
    team: NotRequired[str]
    files: NotRequired[list[SlackFile]]


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where the answer is posted: a channel, and a thread in it (None: the channel itself)."""

    channel: str
    thread_ts: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    message: IncomingMessage
    target: ReplyTarget
    # Durable dedupe key: the same Slack message can arrive as two events with
    # different event ids (app_mention + message), but its channel:ts is unique.
    claim_key: str
    # Answer only when the conversation already has history (thread follow-ups).
    needs_history: bool = False


@dataclass(frozen=True, slots=True)
class Ignore:
    reason: str


Decision = Answer | Ignore


def decide(event: MessageEvent, *, team_id: str, bot_user_id: str, config: SlackConfig) -> Decision:
    """What to do with one ``app_mention`` or ``message`` event."""
    skip = _malformed(event, team_id) or _skip_reason(event, bot_user_id, config)
    if skip:
        return Ignore(skip)
    text = strip_mention(event.get("text") or "", bot_user_id)
    files = file_refs(event.get("files"))
    if not text and not files:
        return Ignore("no text")
    if event.get("channel_type") == "im":
        return _dm(event, team_id, text, files)
    if event["type"] == "app_mention":
        return _mention(event, team_id, text, files, config.reply_in_thread)
    return _channel_message(event, team_id, text, files, bot_user_id, config.reply_in_thread)


def file_refs(entries: object) -> tuple[FileRef, ...]:
    """The downloadable files of an event's ``files`` (at most ``MAX_FILES_KEPT``).

    Anything else in the list is left out, and a ``files`` that is not a list counts as
    none: the text beside it is still a question worth answering.
    """
    if not isinstance(entries, list):
        return ()
    refs: list[FileRef] = []
    for entry in entries:
        ref = _file_ref(entry)
        if ref is not None:
            refs.append(ref)
            if len(refs) == MAX_FILES_KEPT:
                break
    return tuple(refs)


def strip_mention(text: str, bot_user_id: str) -> str:
    """The text without the bot's ``<@U…>`` mentions (with or without a ``|name``)."""
    if not bot_user_id:
        return text.strip()
    return re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text).strip()


def _malformed(event: MessageEvent, team_id: str) -> str:
    """What is wrong with the fields ``decide`` reads ("" when nothing is)."""
    if not isinstance(event, dict):
        return "event is not an object"
    if not isinstance(event.get("type"), str):
        return "event without a type"
    for name in _REQUIRED_IDS:
        if not is_id(event.get(name)):
            return f"event without a valid {name}"
    for name in _OPTIONAL_IDS:
        if not is_optional_id(event.get(name)):
            return f"event whose {name} is not an id"
    for name in _OPTIONAL_TEXTS:
        if not is_optional_text(event.get(name)):
            return f"event whose {name} is not text"
    if not is_optional_id(team_id):
        return "event whose team is not an id"
    return ""


def _skip_reason(event: MessageEvent, bot_user_id: str, config: SlackConfig) -> str:
    subtype = event.get("subtype")
    if subtype and subtype not in _ANSWERABLE_SUBTYPES:
        return f"subtype {subtype}"
    if not event.get("user") and not event.get("bot_id"):
        return "no author"
    if event.get("user") == bot_user_id:
        return "own message"
    if event.get("bot_id") and config.ignore_other_bots:
        return "another bot"
    return ""


def _file_ref(entry: object) -> FileRef | None:
    """One Slack file object as a ``FileRef``, or None when the bot cannot download it.

    Left out: entries that are not objects; files Slack does not host (``_UNHOSTED_MODES``);
    Slack Connect stubs (``file_access: "check_file_info"``), which carry only an id and
    would need a ``files.info`` call, which ``decide`` (pure) cannot make; entries
    without a name or an http(s) ``url_private_download``. ``url_private`` is not used
    instead: for canvases and other Slack-native documents it is a page, not the file.
    """
    if not isinstance(entry, dict):
        return None
    mode = entry.get("mode")
    if (isinstance(mode, str) and mode in _UNHOSTED_MODES) or entry.get("file_access") == "check_file_info":
        return None
    name, url = entry.get("name"), entry.get("url_private_download")
    if not isinstance(name, str) or not name.strip() or not _is_web_url(url):
        return None
    mime_type = entry.get("mimetype")
    # Names go into the answer's record: a lone surrogate would make it unstorable.
    return FileRef(scrub(name), scrub(mime_type) if isinstance(mime_type, str) else "", declared_size(entry.get("size")), url)


def _is_web_url(url: object) -> bool:
    if not isinstance(url, str) or not url.isascii():
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in {"https", "http"} and bool(parts.hostname)


def _dm(event: MessageEvent, team_id: str, text: str, files: tuple[FileRef, ...]) -> Answer:
    conversation = ConversationRef("slack", team_id, event["channel"], "")
    # A DM answer goes where the question was: in its thread if the user started one.
    target = ReplyTarget(event["channel"], event.get("thread_ts"))
    return Answer(_incoming(event, conversation, text, files, is_dm=True), target, _claim_key(event))


def _mention(
    event: MessageEvent, team_id: str, text: str, files: tuple[FileRef, ...], in_thread: bool
) -> Answer:
    channel = event["channel"]
    thread = (event.get("thread_ts") or event["ts"]) if in_thread else ""
    conversation = ConversationRef("slack", team_id, channel, thread)
    target = ReplyTarget(channel, thread or None)
    return Answer(_incoming(event, conversation, text, files), target, _claim_key(event))


def _channel_message(
    event: MessageEvent,
    team_id: str,
    text: str,
    files: tuple[FileRef, ...],
    bot_user_id: str,
    in_thread: bool,
) -> Decision:
    if f"<@{bot_user_id}" in (event.get("text") or ""):
        return Ignore("mention: answered as app_mention")
    thread = event.get("thread_ts")
    if not thread or not in_thread:
        return Ignore("channel message without mention")
    conversation = ConversationRef("slack", team_id, event["channel"], thread)
    target = ReplyTarget(event["channel"], thread)
    message = _incoming(event, conversation, text, files)
    return Answer(message, target, _claim_key(event), needs_history=True)


def _incoming(
    event: MessageEvent,
    conversation: ConversationRef,
    text: str,
    files: tuple[FileRef, ...],
    *,
    is_dm: bool = False,
) -> IncomingMessage:
    user = event.get("user") or event.get("bot_id") or ""
    return IncomingMessage(
        conversation=conversation,
        user_id=user,
        user_name=user,
        text=text,
        is_dm=is_dm,
        event_id=_claim_key(event),
        files=files,
    )


def _claim_key(event: MessageEvent) -> str:
    return f"{event['channel']}:{event['ts']}"


def message_ts(message: IncomingMessage) -> str:
    """The ts of the Slack message ``message`` was made from ("" if it was not made from
    one by ``decide``): its ``event_id`` is its claim key, ``channel:ts``."""
    channel, _, ts = message.event_id.partition(":")
    return ts if channel == message.conversation.channel and ts else ""
