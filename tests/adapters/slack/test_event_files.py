"""``decide`` with files: the downloadable ones kept (bounded), the rest left out."""

from __future__ import annotations

import pytest

from adapters.slack.config import SlackConfig
from adapters.slack.events import MAX_FILES_KEPT, Answer, Ignore, decide
from core.types import FileRef

CONFIG = SlackConfig(bot_token="xoxb-x")
URL = "https://files.slack.com/files-pri/T1-F1/download/notes.md"


def slack_file(name: str = "notes.md", **fields: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": "F1", "name": name, "mimetype": "text/markdown", "size": 2150, "mode": "hosted",
        "file_access": "visible", "url_private": URL.replace("/download", ""), "url_private_download": URL,
    }
    entry.update(fields)
    return {key: value for key, value in entry.items() if value is not None}


def _decide(event: dict[str, object]):
    base = {"type": "app_mention", "channel": "C1", "ts": "1.0001", "user": "U1", "text": "<@UBOT> look"}
    return decide({**base, **event}, team_id="T1", bot_user_id="UBOT", config=CONFIG)


def files_of(event: dict[str, object]) -> tuple[FileRef, ...]:
    decision = _decide(event)
    assert isinstance(decision, Answer), decision
    return decision.message.files


def test_a_shared_file_becomes_a_file_ref():
    assert files_of({"files": [slack_file()]}) == (FileRef("notes.md", "text/markdown", 2150, URL),)


def test_files_keep_their_order_and_a_message_without_files_has_none():
    names = [ref.name for ref in files_of({"files": [slack_file("b.png"), slack_file("a.pdf")]})]
    assert names == ["b.png", "a.pdf"]
    assert files_of({}) == ()


@pytest.mark.parametrize(
    "entry",
    [
        "F1",
        None,
        ["notes.md"],
        slack_file(mode="external"),
        slack_file(mode="tombstone"),
        slack_file(mode="hidden_by_limit"),
        # A Slack Connect stub: only an id until files.info is asked.
        {"id": "F1", "mode": "hosted", "file_access": "check_file_info"},
        slack_file(file_access="check_file_info"),
        slack_file(name=None),
        slack_file(name=""),
        slack_file(name="   "),
        slack_file(name=42),
        slack_file(url_private_download=None),
        slack_file(url_private_download=""),
        slack_file(url_private_download="ftp://files.slack.com/x"),
        slack_file(url_private_download="javascript:alert(1)"),
        slack_file(url_private_download="https://"),
        slack_file(url_private_download=["https://files.slack.com/x"]),
        slack_file(url_private_download="https://files.slack.com/\u00e9"),
        slack_file(url_private_download="http://[::1/broken"),
    ],
    ids=repr,
)
def test_files_that_cannot_be_downloaded_are_left_out(entry):
    assert files_of({"files": [entry, slack_file("kept.md")]}) == (FileRef("kept.md", "text/markdown", 2150, URL),)


@pytest.mark.parametrize("files", [None, "notes.md", {"0": slack_file()}, 3])
def test_a_files_field_that_is_not_a_list_counts_as_no_files(files):
    assert files_of({"files": files}) == ()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"size": -1}, ("text/markdown", 0)),
        ({"size": "2150"}, ("text/markdown", 0)),
        ({"size": True}, ("text/markdown", 0)),
        ({"size": None}, ("text/markdown", 0)),
        ({"mimetype": None}, ("", 2150)),
        ({"mimetype": ["text/plain"]}, ("", 2150)),
        ({"mode": "snippet"}, ("text/markdown", 2150)),
        ({"mode": None, "file_access": None}, ("text/markdown", 2150)),
        ({"mode": ["tombstone"], "file_access": {"x": 1}}, ("text/markdown", 2150)),
    ],
)
def test_odd_sizes_and_types_are_unknown_not_fatal(fields, expected):
    (ref,) = files_of({"files": [slack_file(**fields)]})
    assert (ref.mime_type, ref.size) == expected


def test_a_name_with_a_lone_surrogate_is_made_storable():
    (ref,) = files_of({"files": [slack_file("notes\ud800.md")]})
    assert ref.name == "notes\ufffd.md"
    ref.name.encode("utf-8")


def test_the_files_kept_are_bounded():
    many = [slack_file(f"f{n}.txt") for n in range(MAX_FILES_KEPT * 50)]
    refs = files_of({"files": many})
    assert len(refs) == MAX_FILES_KEPT and refs[-1].name == f"f{MAX_FILES_KEPT - 1}.txt"


def test_the_bound_counts_only_files_that_are_kept():
    broken = [slack_file(mode="tombstone")] * (MAX_FILES_KEPT + 5)
    assert len(files_of({"files": broken + [slack_file("late.md")]})) == 1


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_mention", "text": "<@UBOT>"},
        {"type": "app_mention", "text": ""},
        {"type": "message", "channel": "D1", "channel_type": "im", "subtype": "file_share", "text": ""},
        {"type": "message", "channel_type": "channel", "subtype": "file_share", "text": "", "thread_ts": "1.0000"},
    ],
)
def test_a_message_with_only_files_is_answered(event):
    assert files_of({**event, "files": [slack_file()]}) == (FileRef("notes.md", "text/markdown", 2150, URL),)
    decision = _decide(event)
    assert decision == Ignore("no text")


def test_a_file_only_message_whose_files_are_all_unusable_is_not_answered():
    assert _decide({"text": "<@UBOT>", "files": [slack_file(mode="tombstone"), "junk"]}) == Ignore("no text")


def test_a_file_share_thread_follow_up_still_needs_history():
    decision = _decide({
        "type": "message", "channel_type": "channel", "subtype": "file_share", "text": "",
        "ts": "1.0002", "thread_ts": "1.0001", "files": [slack_file()],
    })
    assert isinstance(decision, Answer) and decision.needs_history and decision.message.files


def test_files_do_not_rescue_an_ignored_event():
    assert _decide({"user": "UBOT", "files": [slack_file()]}) == Ignore("own message")
    assert _decide({"subtype": "message_changed", "files": [slack_file()]}) == Ignore("subtype message_changed")
