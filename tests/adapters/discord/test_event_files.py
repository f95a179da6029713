"""Attachments of incoming messages, on stand-ins for discord.py's ``Attachment``."""

from __future__ import annotations

from types import SimpleNamespace as NS

import discord
import pytest

from adapters.discord.events import MAX_FILES, files_of, to_incoming
from core.types import FileRef

BOT_ID = 1000
ME = NS(id=BOT_ID, bot=True, display_name="chatwright")
ALICE = NS(id=7, bot=False, display_name="Alice", guild_permissions=discord.Permissions.none())
GUILD = NS(id=50)
CDN = "https://cdn.discordapp.com/attachments/60"


def attachment(name: str = "shot.png", **fields: object) -> NS:
    base = dict(filename=name, content_type="image/png", size=1234, url=f"{CDN}/1/{name}?ex=1&is=1&hm=2")
    return NS(**{key: value for key, value in {**base, **fields}.items() if value is not ...})


def message(content: str = "look", *, attachments: object = (), guild: object = None, mentions=(),
            reference=None) -> NS:
    return NS(id=123, content=content, author=ALICE, guild=guild, mentions=list(mentions), reference=reference,
              type=discord.MessageType.default, channel=NS(id=60), attachments=attachments)


def test_attachments_become_file_refs_in_order() -> None:
    log = attachment("app.log", content_type="text/plain; charset=utf-8", size=20)
    incoming = to_incoming(message(attachments=[attachment(), log]), BOT_ID, frozenset())
    assert incoming is not None and incoming.text == "look"
    assert incoming.files == (
        FileRef("shot.png", "image/png", 1234, f"{CDN}/1/shot.png?ex=1&is=1&hm=2"),
        FileRef("app.log", "text/plain; charset=utf-8", 20, f"{CDN}/1/app.log?ex=1&is=1&hm=2"),
    )


def test_a_message_of_files_alone_is_answered() -> None:
    incoming = to_incoming(message("", attachments=[attachment()]), BOT_ID, frozenset())
    assert incoming is not None and incoming.text == "" and len(incoming.files) == 1
    mention_only = message(f"<@{BOT_ID}>", attachments=[attachment()], guild=GUILD, mentions=[ME])
    incoming = to_incoming(mention_only, BOT_ID, frozenset())
    assert incoming is not None and incoming.text == "" and not incoming.is_dm


def test_files_follow_the_answering_rules() -> None:
    unaddressed = message("", attachments=[attachment()], guild=GUILD)
    assert to_incoming(unaddressed, BOT_ID, frozenset()) is None
    assert to_incoming(message("", attachments=[]), BOT_ID, frozenset()) is None


def test_the_files_kept_are_bounded() -> None:
    many = [attachment(f"f{i}.txt") for i in range(MAX_FILES + 5)]
    files = files_of(message(attachments=many))
    assert [f.name for f in files] == [f"f{i}.txt" for i in range(MAX_FILES)]


def test_a_missing_type_or_an_odd_size_is_unknown_not_fatal() -> None:
    [ref] = files_of(message(attachments=[attachment(content_type=None, size=None)]))
    assert (ref.mime_type, ref.size) == ("", 0)
    for size in (-1, True, "12", 1.5):
        [ref] = files_of(message(attachments=[attachment(size=size)]))
        assert ref.size == 0
    [ref] = files_of(message(attachments=[attachment(filename=None)]))
    assert ref.name == ""


ODD = {
    "no url": attachment(url=...),
    "url None": attachment(url=None),
    "empty url": attachment(url=""),
    "url not text": attachment(url=b"https://cdn.discordapp.com/x"),
    "not an attachment at all": None,
    "a bare object": NS(),
}


@pytest.mark.parametrize("odd", ODD.values(), ids=ODD.keys())
def test_an_odd_attachment_is_left_out_quietly(odd) -> None:
    incoming = to_incoming(message(attachments=[odd, attachment("ok.png")]), BOT_ID, frozenset())
    assert incoming is not None and [f.name for f in incoming.files] == ["ok.png"]
    assert to_incoming(message("", attachments=[odd]), BOT_ID, frozenset()) is None


@pytest.mark.parametrize("attachments", [None, "a.png", 3, {"url": "x"}, ...], ids=repr)
def test_an_odd_attachments_list_means_no_files(attachments) -> None:
    fields = message().__dict__ | {"attachments": attachments}
    if attachments is ...:
        del fields["attachments"]
    incoming = to_incoming(NS(**fields), BOT_ID, frozenset())
    assert incoming is not None and incoming.files == ()
