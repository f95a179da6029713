"""One ``chatwright run`` per SQLite file: a second is refused in one line (exit 2), a run
killed with SIGKILL never blocks the next, and ``chatwright console`` keeps working
beside a running bot (its store reads the file every time; see bots/cli_commands/console.py).
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bots.settings import Settings
from tests.adapters.slack.harness import mention
from tests.bot_process import BotProcess, free_port, slack_http_environment
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import FakeSlackAPI, SignedSender

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sys.platform == "win32", reason="the lock is flock (POSIX)"),
]

KEY = "sk-single-writer-test-key"
ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0
# U1, who sends the events, as the model reads them in a channel: "u1: text" (the name the
# fake users.info gives U1, which has no profile; see core/speakers.py). The console is
# one person's: its turns go unprefixed.
SPEAKER = "u1"


@dataclass
class Exited:
    code: int
    out: str
    err: str


def _environment(slack: FakeSlackAPI, model: FakeOpenAIServer, workdir: Path) -> dict[str, str]:
    env = slack_http_environment(slack.base_url, model.base_url, KEY, workdir)
    env.update(OPENAI_MODEL="fake-model", OPENAI_MAX_RETRIES="0",
               TIKTOKEN_CACHE_DIR=str(workdir / "no-tiktoken"))
    return env


async def _chatwright(env: dict[str, str], workdir: Path, *args: str, stdin: str = "") -> Exited:
    """``python -m bots.cli ARGS`` to its end, in ``workdir`` (no developer's .env) with
    only ``env``'s chatwright settings, as ``BotProcess`` runs the bot."""
    settings = {name.upper() for name in Settings.model_fields}
    inherited = {name: value for name, value in os.environ.items() if name.upper() not in settings}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bots.cli", *args,
        cwd=workdir, env={**inherited, "PYTHONPATH": str(ROOT), **env},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=WAIT)
    except TimeoutError:
        process.kill()  # a second run that was not refused would run on
        await process.wait()
        raise AssertionError(f"chatwright {' '.join(args)} still running after {WAIT} s") from None
    assert process.returncode is not None
    return Exited(process.returncode, out.decode(), err.decode())


async def test_a_second_run_on_the_same_file_exits_2_with_one_line(tmp_path: Path) -> None:
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        env = _environment(slack, model, tmp_path)
        async with BotProcess(env, tmp_path) as bot:
            second = await _chatwright({**env, "HTTP_PORT": str(free_port())}, tmp_path, "run")

            database = tmp_path / "chatwright.db"
            assert second.code == 2, second
            assert second.out == ""
            assert second.err == (
                f"chatwright: another chatwright run (pid {bot.pid}) is using the database "
                f"{database}; stop it first, or use PostgreSQL (DATABASE_URL=postgresql://...) "
                "to run several processes on one database\n")
            # The first one never noticed.
            await _answers(slack, bot, "still here", "C1")
            assert await bot.stop() == 0


async def test_a_run_killed_with_sigkill_never_blocks_the_next(tmp_path: Path) -> None:
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        bot = BotProcess(_environment(slack, model, tmp_path), tmp_path)
        await bot.start()
        killed = bot.pid
        assert await bot.kill() == -9
        # Its lock file is still there, naming the dead process: only the lock counts.
        assert (tmp_path / "chatwright.db.lock").read_text() == f"{killed}\n"

        async with bot.successor() as successor:
            await _answers(slack, successor, "after the crash", "C2")
            assert (tmp_path / "chatwright.db.lock").read_text() == f"{successor.pid}\n"


async def test_the_console_works_beside_a_running_bot(tmp_path: Path) -> None:
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        env = _environment(slack, model, tmp_path)
        async with BotProcess(env, tmp_path) as bot:
            await _answers(slack, bot, "from slack", "C3")

            console = await _chatwright(env, tmp_path, "console", stdin="hi from the console\n")

            assert (console.code, console.out) == (0, "echo: hi from the console\n"), console
            # Both remember their own conversations in the one file, and the bot goes on.
            again = await _chatwright(env, tmp_path, "console", stdin="/forget\n")
            assert again.code == 0, again
            await _answers(slack, bot, "from slack again", "C3", thread="1700000000.000200")
            assert await bot.stop() == 0


async def _answers(
    slack: FakeSlackAPI, bot: BotProcess, text: str, channel: str, thread: str = "1700000000.000100"
) -> None:
    await slack.wait_for(lambda: slack.calls_of("auth.test"), timeout=WAIT)
    async with SignedSender(bot.events_url) as sender:
        sent = await sender.event(mention(text, thread, channel=channel))
    assert sent.status == 200
    await slack.wait_for(lambda: f"echo: {SPEAKER}: {text}" in slack.bot_texts(channel, thread), timeout=WAIT)
