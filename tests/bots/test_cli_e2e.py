"""The ``chatwright`` command run as a user runs it, against a fake chat API on loopback."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.openai_server import Answer, Fail, FakeOpenAIServer

pytestmark = pytest.mark.e2e

KEY = "sk-test-key-0123456789"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
async def api():
    async with FakeOpenAIServer(api_key=KEY) as server:
        yield server


def env_for(tmp_path: Path, api: FakeOpenAIServer | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_", "DISCORD_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        TIKTOKEN_CACHE_DIR=str(tmp_path / "no-tiktoken"),
        OPENAI_MAX_RETRIES="0",
        OPENAI_MODEL="fake-model",
    )
    if api is not None:
        env.update(OPENAI_BASE_URL=api.base_url, OPENAI_API_KEY=KEY)
    env.update(extra)
    return env


async def chatwright(tmp_path: Path, env: dict[str, str], *args: str, stdin: str = "") -> Result:
    # Runs in tmp_path so that no .env of the developer's is read.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bots.cli", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path, env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=60)
    return Result(process.returncode, out.decode(), err.decode())


async def test_piped_console_prints_the_reply_and_exits(tmp_path, api):
    result = await chatwright(tmp_path, env_for(tmp_path, api), "console", stdin="hi\n")
    assert result.code == 0, result.err
    assert result.out == "echo: hi\n"


async def test_console_memory_persists_across_runs(tmp_path, api):
    env = env_for(tmp_path, api)
    await chatwright(tmp_path, env, "console", stdin="my name is Ada\n")
    api.responder = lambda body: Answer(" | ".join(m["content"] for m in body["messages"]))
    result = await chatwright(tmp_path, env, "console", stdin="what is my name?\n")
    assert "my name is Ada | echo: my name is Ada | what is my name?" in result.out


async def test_console_streams_a_long_answer_whole(tmp_path, api):
    text = "".join(f"part{i} " for i in range(400))
    api.script(Answer(text, chunk_size=7))
    result = await chatwright(tmp_path, env_for(tmp_path, api), "console", stdin="go\n")
    assert result.out == text + "\n"


async def test_console_persona_commands_shape_the_context(tmp_path, api):
    env = env_for(tmp_path, api)
    lines = "/persona set You are a pirate.\nahoy\n/persona show\n/usage\n"
    result = await chatwright(tmp_path, env, "console", stdin=lines)
    assert result.code == 0, result.err
    assert api.requests[-1]["messages"][0] == {"role": "system", "content": "You are a pirate."}
    assert "> You are a pirate." in result.out and "set for this channel" in result.out
    assert "tokens today" in result.out


async def test_console_non_admin_cannot_change_the_persona(tmp_path, api):
    env = env_for(tmp_path, api)
    result = await chatwright(tmp_path, env, "console", "--no-admin", stdin="/persona set Evil.\n/persona show\n")
    assert "Only admins can change the persona" in result.out
    assert "Evil." not in result.out.split("Only admins")[1]


async def test_console_model_failure_is_a_friendly_line(tmp_path, api):
    api.script(Fail(500, {"error": {"message": "boom"}}))
    result = await chatwright(tmp_path, env_for(tmp_path, api), "console", stdin="hi\nagain\n")
    assert result.code == 1, result.err
    assert result.out.splitlines() == [
        "[The language model is unavailable right now. Please try again in a minute.]",
        "echo: again",
    ]
    assert "Traceback" not in result.out + result.err


async def test_run_without_any_platform_says_what_to_set(tmp_path):
    result = await chatwright(tmp_path, env_for(tmp_path, None), "run")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "SLACK_BOT_TOKEN" in result.err and "DISCORD_TOKEN" in result.err and "chatwright console" in result.err


async def test_invalid_setting_is_one_actionable_line(tmp_path):
    result = await chatwright(tmp_path, env_for(tmp_path, None, HTTP_PORT="lots"), "run")
    assert result.code == 2
    assert result.err.startswith("chatwright: invalid setting HTTP_PORT") and result.err.count("\n") == 1


async def test_doctor_reports_each_check(tmp_path, api):
    result = await chatwright(tmp_path, env_for(tmp_path, api), "doctor")
    assert result.code == 0, result.out
    assert "[ ok ] chat API: reached" in result.out and "fake-model is available" in result.out
    assert "[ ok ] database" in result.out
    assert "[ -- ] slack: not configured" in result.out
    assert KEY not in result.out + result.err


async def test_doctor_fails_plainly_on_a_refused_key(tmp_path, api):
    env = env_for(tmp_path, api, OPENAI_API_KEY="sk-wrong-key-999999")
    result = await chatwright(tmp_path, env, "doctor")
    assert result.code == 1
    [line] = [l for l in result.out.splitlines() if l.startswith("[") and "chat API" in l]
    assert line.startswith("[FAIL]") and "OPENAI_API_KEY" in line
    assert "sk-wrong-key-999999" not in result.out + result.err


async def test_doctor_fails_plainly_when_the_api_is_unreachable(tmp_path):
    env = env_for(tmp_path, None, OPENAI_BASE_URL="http://127.0.0.1:9/v1", OPENAI_API_KEY=KEY)
    result = await chatwright(tmp_path, env, "doctor")
    assert result.code == 1 and "[FAIL] chat API" in result.out
    assert "Traceback" not in result.out + result.err


async def test_help_lists_the_commands(tmp_path):
    result = await chatwright(tmp_path, env_for(tmp_path, None), "--help")
    assert result.code == 0
    for command in ("run", "console", "doctor", "slack-manifest", "discord-invite"):
        assert command in result.out


async def test_a_closed_pipe_is_not_a_traceback(tmp_path):
    # The reader is gone before the manifest is written, as with `| head` on a long output.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bots.cli", "slack-manifest", "--socket",
            stdout=write_end, stderr=asyncio.subprocess.PIPE, cwd=tmp_path, env=env_for(tmp_path, None),
        )
    finally:
        os.close(write_end)
    _, err = await process.communicate()
    assert process.returncode == 141
    assert "Traceback" not in err.decode()
