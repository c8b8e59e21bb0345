"""The `glutebot` command as an operator uses it: real processes, real output, exit codes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.commands import COMMANDS
from bot.localtelegram import LocalTelegram, serve_http

GLUTEBOT = str(Path(sys.executable).parent / "glutebot")
SETTINGS = (
    "TELEGRAM_BOT_TOKEN",
    "DATABASE_URL",
    "TELEGRAM_API_BASE_URL",
    "LOG_LEVEL",
    "ADMIN_IDS",
    "GLUTEBOT_DATA_DIR",
)
TOKEN = "5550001234:AAHsecret-token-for-tests_only"


def clean_env(**settings: str) -> dict[str, str]:
    """The test runner's environment without any Glutebot setting, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    env["STATUS_PORT"] = "0"  # no status server: several test runs may share this machine
    env.update(settings)
    return env


def glutebot(
    *args: str, cwd: Path, stdin: str = "", **settings: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GLUTEBOT, *args],
        cwd=cwd,
        env=clean_env(**settings),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/glutebot"),
        ("DATABASE_URL", "not a url at all"),
        ("LOG_LEVEL", "chatty"),
        ("ADMIN_IDS", "12,bob"),
        ("TELEGRAM_API_BASE_URL", "ftp://example.org/bot"),
        ("TELEGRAM_BOT_TOKEN", "secret-but-malformed"),
    ],
)
def test_a_bad_setting_is_one_clear_line_and_exit_code_2(
    tmp_path: Path, name: str, value: str
) -> None:
    result = glutebot("db", "upgrade", cwd=tmp_path, **{name: value})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"glutebot: configuration problem: {name} ")
    if name == "TELEGRAM_BOT_TOKEN":
        assert value not in result.stderr + result.stdout


def test_settings_are_read_from_a_dot_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=shouty\n")
    result = glutebot("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 2
    assert "LOG_LEVEL" in result.stderr

    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'from-env.db'}\n")
    result = glutebot("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-env.db").exists()


def test_db_upgrade_creates_the_default_database_in_the_data_dir(tmp_path: Path) -> None:
    result = glutebot("db", "upgrade", cwd=tmp_path, GLUTEBOT_DATA_DIR=str(tmp_path / "state"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "state" / "glutebot.db").exists()
    assert "is at revision" in result.stdout
    again = glutebot("db", "upgrade", cwd=tmp_path, GLUTEBOT_DATA_DIR=str(tmp_path / "state"))
    assert again.returncode == 0 and again.stdout == result.stdout


def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = glutebot(
        "db", "upgrade", cwd=tmp_path, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("glutebot: cannot open the database postgresql+asyncpg://")


def test_without_a_token_glutebot_opens_the_console_and_answers_start(tmp_path: Path) -> None:
    result = glutebot(cwd=tmp_path, stdin="/start\n!quit\n", GLUTEBOT_DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("No TELEGRAM_BOT_TOKEN set: opening the console chat")
    assert any(line.startswith("Glutebot: Hi Alex!") for line in lines), result.stdout
    assert lines[-1] == "Bye!"


def test_run_without_a_token_says_how_to_get_one(tmp_path: Path) -> None:
    result = glutebot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr


def test_run_when_the_bot_api_is_unreachable_is_one_clear_line(tmp_path: Path) -> None:
    result = glutebot(
        "run",
        cwd=tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        GLUTEBOT_DATA_DIR=str(tmp_path),
        TELEGRAM_API_BASE_URL="http://127.0.0.1:1/bot",
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "glutebot: cannot reach the Bot API at http://127.0.0.1:1/bot" in result.stderr
    assert TOKEN not in result.stderr + result.stdout


async def _run_against_local_telegram(
    tmp_path: Path, telegram: LocalTelegram, token: str
) -> asyncio.subprocess.Process:
    server = await serve_http(telegram)
    process = await asyncio.create_subprocess_exec(
        GLUTEBOT,
        "run",
        cwd=tmp_path,
        env=clean_env(
            TELEGRAM_BOT_TOKEN=token,
            TELEGRAM_API_BASE_URL=server.base_url,
            GLUTEBOT_DATA_DIR=str(tmp_path),
            LOG_LEVEL="DEBUG",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    process.server = server  # type: ignore[attr-defined]
    return process


async def test_run_answers_start_on_a_bot_api_server_over_loopback(tmp_path: Path) -> None:
    telegram = LocalTelegram(token=TOKEN)
    process = await _run_against_local_telegram(tmp_path, telegram, TOKEN)
    try:
        pat = telegram.user(321, "Pat")
        await pat.send("/start")
        reply = await pat.next_reply(timeout=60)
        assert reply.text.startswith("Hi Pat!")
        assert [c["command"] for c in telegram.commands] == [name for name, _ in COMMANDS]
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        await process.server.stop()  # type: ignore[attr-defined]
    assert process.returncode == 0, stderr.decode()
    logs = (stdout + stderr).decode()
    assert "Starting Glutebot (polling)" in logs
    assert "Received SIGTERM: finishing the message in flight" in logs
    assert logs.rstrip().endswith("Stopped cleanly")
    assert TOKEN not in logs  # not even at DEBUG, where every request URL is logged


async def test_run_with_a_token_telegram_rejects_is_one_clear_line(tmp_path: Path) -> None:
    telegram = LocalTelegram(token=TOKEN)
    wrong = "5550001234:AAHsomeone-elses-token_xyz"
    process = await _run_against_local_telegram(tmp_path, telegram, wrong)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    await process.server.stop()  # type: ignore[attr-defined]
    assert process.returncode == 1
    assert "glutebot: Telegram rejected TELEGRAM_BOT_TOKEN" in stderr.decode()
    assert wrong not in stderr.decode()
