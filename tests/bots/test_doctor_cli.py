"""``chatwright doctor`` run as an operator runs it, on broken setups: exit 1, a line each."""

from __future__ import annotations

import pytest

from bots.cli import build_parser
from bots.cli_commands.doctor import _Progress
from tests.bots.test_cli_e2e import chatwright, env_for

pytestmark = pytest.mark.e2e


def fail_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("[FAIL]")]


async def test_every_invalid_setting_is_a_failed_line(tmp_path):
    env = env_for(tmp_path, None, ADMIN_USER_IDS="U123", HTTP_PORT="lots", ALLOWED_ROLE_IDS="slack:R1")
    result = await chatwright(tmp_path, env, "doctor")
    assert result.code == 1 and "Traceback" not in result.out + result.err
    assert fail_lines(result.out) == [
        "[FAIL] settings: invalid setting HTTP_PORT: Input should be a valid integer, unable to parse string "
        "as an integer (check your environment or .env)",
        "[FAIL] settings: invalid setting ADMIN_USER_IDS: 'U123' has no platform: write slack:U123 "
        "(check your environment or .env)",
        "[FAIL] settings: invalid setting ALLOWED_ROLE_IDS: 'slack:R1': the platform must be discord: "
        "(check your environment or .env)",
    ]


async def test_broken_tokens_and_a_missing_key_each_fail_and_nothing_leaks(tmp_path):
    env = env_for(tmp_path, None, OPENAI_BASE_URL="https://api.openai.com/v1",
                  SLACK_BOT_TOKEN="xapp-1-A1-secret-app", SLACK_APP_TOKEN="xoxb-secret-bot",
                  DISCORD_TOKEN="Bot secret.discord.token")
    result = await chatwright(tmp_path, env, "doctor", "--timeout", "5")
    assert result.code == 1
    fails = fail_lines(result.out)
    assert [line.split(":")[0] for line in fails] == ["[FAIL] chat API", "[FAIL] slack tokens", "[FAIL] discord token"]
    assert "OPENAI_API_KEY is not set" in fails[0] and "swapped" in fails[1] and "'Bot '" in fails[2]
    assert result.out.rstrip().endswith("3 check(s) failed: chat API, slack tokens, discord token")
    assert "secret" not in result.out + result.err


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_a_timeout_that_is_not_a_number_of_seconds_is_refused(value, capsys):
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["doctor", "--timeout", value])
    assert caught.value.code == 2 and "is not a number of seconds above 0" in capsys.readouterr().err


def test_on_a_terminal_the_running_check_is_shown_then_erased(capsys):
    shown, piped = _Progress(terminal=True), _Progress(terminal=False)
    for progress in (shown, piped):
        progress.started("chat API")
        progress.clear()
    assert capsys.readouterr().out == "\r\033[K       checking chat API…\r\033[K"
