"""``/attach PATH`` in the console: local files go with the next message to the model."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter, ConsoleConfig
from adapters.console.files import LocalFiles, local_file
from bots.app import running_engine
from bots.settings import Settings
from core.errors import AttachmentRefused
from tests.bots.test_cli_e2e import KEY, chatwright, env_for
from tests.core.attachments.samples import pdf
from tests.fakes.openai_server import Answer, FakeOpenAIServer

pytestmark = pytest.mark.e2e


@pytest.fixture
async def api():
    async with FakeOpenAIServer(api_key=KEY) as server:
        # Brief answers: an echo would print the files back.
        server.responder = lambda body: Answer(f"answer {len(server.requests)}")
        yield server


def user_text(request: dict) -> str:
    content = request["messages"][-1]["content"]
    return content if isinstance(content, str) else "\n".join(p["text"] for p in content if p["type"] == "text")


async def console(tmp_path: Path, api: FakeOpenAIServer, *lines: str) -> str:
    """Run the console adapter over ``lines``; what it printed."""
    settings = Settings(
        _env_file=None, openai_base_url=api.base_url, openai_api_key=KEY, openai_model="fake-model",
        openai_max_retries=0, database_url=f"sqlite:///{tmp_path / 'bot.db'}", user_messages_per_minute=0,
    )  # type: ignore[call-arg]
    pending = [line + "\n" for line in lines]

    async def read_line() -> str:
        return pending.pop(0) if pending else ""

    out = io.StringIO()
    async with running_engine(settings) as engine:
        await ConsoleAdapter(engine, ConsoleConfig(), read_line=read_line, out=out).run()
    return out.getvalue()


async def test_the_real_console_sends_an_attached_files_text_to_the_model(tmp_path, api):
    notes = tmp_path / "notes.md"
    notes.write_text("# Launch\nThe launch code is 4242.\n" + "filler line\n" * 150)
    stdin = f"/attach {notes}\nwhat is the code?\n"
    result = await chatwright(tmp_path, env_for(tmp_path, api), "console", stdin=stdin)

    assert result.code == 0, result.err
    size = f"{notes.stat().st_size / 1024:.1f} KiB"
    assert result.out == f"attached notes.md ({size}); it goes with your next message\nanswer 1\n"
    seen = user_text(api.requests[0])
    assert seen.startswith("what is the code?") and "The launch code is 4242." in seen
    assert "[file: notes.md" in seen


async def test_several_files_go_with_the_next_message_only(tmp_path, api):
    (tmp_path / "a.py").write_text("ALPHA = 1\n")
    (tmp_path / "b.pdf").write_bytes(pdf([["Bravo page"]]))
    out = await console(
        tmp_path, api, f"/attach {tmp_path / 'a.py'}", f'/attach "{tmp_path / "b.pdf"}"', "both please", "and now?"
    )

    assert out.count("it goes with your next message") == 2
    first, second = (user_text(request) for request in api.requests)
    assert first.startswith("both please") and "ALPHA = 1" in first and "Bravo page" in first
    assert second == "and now?"


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("missing.txt", "can't attach missing.txt: no such file or directory"),
        (".", "can't attach .: it is not a regular file"),
    ],
)
async def test_a_path_that_cannot_be_attached_is_one_clear_line(tmp_path, api, path, error, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = await console(tmp_path, api, f"/attach {path}", "hello")
    assert out.splitlines() == [error, "answer 1"]
    assert user_text(api.requests[0]) == "hello"


async def test_attach_without_a_path_shows_its_usage_and_help_lists_it(tmp_path, api):
    out = await console(tmp_path, api, "/attach", "/help")
    assert out.startswith("Usage: /attach PATH\n")
    assert "/attach PATH" in out.split("Usage: /attach PATH\n", 1)[1]
    assert api.requests == []


async def test_a_file_over_the_limit_is_named_not_read(tmp_path):
    big = tmp_path / "big.log"
    big.write_bytes(b"x" * 5000)
    got = await LocalFiles().fetch(local_file(str(big)), 1000)
    assert got.data == b"" and got.declared_size == 5000


async def test_a_file_that_grew_past_the_limit_is_not_read_whole(tmp_path):
    grown = tmp_path / "grown.log"
    grown.write_bytes(b"x" * 10)
    ref = local_file(str(grown))
    grown.write_bytes(b"x" * 5000)
    got = await LocalFiles().fetch(ref, 1000)
    assert got.data == b"" and got.declared_size == 5000


async def test_a_file_that_became_a_fifo_or_vanished_is_refused(tmp_path):
    path = tmp_path / "soon.txt"
    path.write_text("hi")
    ref = local_file(str(path))
    assert (await LocalFiles().fetch(ref, 1000)).data == b"hi"
    path.unlink()
    with pytest.raises(AttachmentRefused, match="no such file"):
        await LocalFiles().fetch(ref, 1000)
    os.mkfifo(path)  # opening it would wait for a writer forever
    with pytest.raises(AttachmentRefused, match="no longer a regular file"):
        await LocalFiles().fetch(ref, 1000)
