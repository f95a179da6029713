"""The status line under an answer still being written, on Slack and Discord: shown in
italics under the words so far, the whole within one message."""

from __future__ import annotations

from adapters.discord.config import MESSAGE_LIMIT as DISCORD_LIMIT
from adapters.discord.replies import EditedReply
from adapters.slack.assistant import AnswerStatus, ThreadStatus
from adapters.slack.events import ReplyTarget
from adapters.slack.feedback import FeedbackButtons
from adapters.slack.replies import THINKING, EditedMessage, _Extras


async def _no_loading_messages() -> tuple[str, ...]:
    return ()


def slack(limit: int = 100) -> EditedMessage:
    target = ReplyTarget("C1", None)
    # As ``SlackRenderers`` builds them: the thread's status line and the feedback buttons.
    extras = _Extras(AnswerStatus(ThreadStatus(None), target, _no_loading_messages), FeedbackButtons())  # type: ignore[arg-type]
    return EditedMessage(None, target, interval=1.0, placeholder_delay=0.3,  # type: ignore[arg-type]
                         limit=limit, clock=lambda: 0.0, extras=extras)


async def test_slack_shows_the_status_under_the_words_so_far():
    renderer = slack()
    await renderer.status("Running time…")
    assert renderer._preview("") == "_Running time…_"
    assert renderer._preview("Let me look.") == "Let me look.\n\n_Running time…_"
    shown = renderer._preview("word " * 100)
    assert len(shown) <= 100 and shown.endswith("\n\n_Running time…_")
    await renderer.status("")
    assert renderer._preview("Let me look.") == "Let me look."
    assert renderer._preview("") == THINKING


async def test_discord_shows_the_status_under_the_words_so_far():
    renderer = EditedReply(None, None, interval=1.0)  # type: ignore[arg-type]
    assert renderer._preview("") == ""  # nothing to show yet: no message
    await renderer.status("Running time…")
    assert renderer._preview("") == "*Running time…*"
    assert renderer._preview("Let me look.") == "Let me look.\n\n*Running time…*"
    shown = renderer._preview("word " * 1000)
    assert len(shown) <= DISCORD_LIMIT and shown.endswith("\n\n*Running time…*")
