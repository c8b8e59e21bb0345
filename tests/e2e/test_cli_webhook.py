"""`glutebot run --webhook` as an operator runs it: a real process behind a real webhook.

One bot process serves the whole module: the local Telegram (over HTTP) posts updates to its
webhook; strangers without the secret are refused; then SIGTERM stops it in mid-delivery.
Logs are JSON lines on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from click.testing import CliRunner, Result
from sqlalchemy import func, select, update

from bot.cli import cli
from bot.clock import SystemClock
from bot.config import ENV_NAMES
from bot.db.engine import create_engine, session_factory
from bot.db.models import Nudge, NudgeKind, NudgeState, ProcessedUpdate, User, UserState
from bot.db.repo import upsert_user
from bot.delivery import planner
from bot.localtelegram import LocalTelegram, LocalTelegramServer, serve_http
from content import Track

# The async tests share the module's event loop, where the bot's local Telegram serves.
in_module_loop = pytest.mark.asyncio(loop_scope="module")

GLUTEBOT = str(Path(sys.executable).parent / "glutebot")
TOKEN = "5550001234:AAHsecret-token-for-webhook-tests"
SECRET = "webhook-Secret_for-tests-0123456789"
WRONG_SECRET = "webhook-Secret_for-tests-9876543210"
PRIVATE_TEXT = "my knee hurts PRIVATE-BODY-TEXT"
NUDGED_USERS = range(5001, 5025)  # 24 users, each with one nudge due


def clean_env(**settings: str) -> dict[str, str]:
    """The test runner's environment without any Glutebot setting, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if key not in ENV_NAMES.values()}
    env.update(settings)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class WebhookBot:
    """The running `glutebot run --webhook` process and what it talks to."""

    process: asyncio.subprocess.Process
    telegram: LocalTelegram
    server: LocalTelegramServer
    hook_url: str
    database_url: str
    stderr: list[str] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.stdout + self.stderr)

    def log_records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stderr]

    async def wait_for_log(self, check: Callable[[str], bool], timeout: float = 15) -> str:
        async with asyncio.timeout(timeout):
            while True:
                for line in self.stderr:
                    if check(line):
                        return line
                if self.process.returncode is not None:
                    raise AssertionError(f"glutebot exited early:\n{self.output}")
                await asyncio.sleep(0.02)


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def webhook_bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebhookBot]:
    home = tmp_path_factory.mktemp("webhook")
    telegram = LocalTelegram(token=TOKEN)
    server = await serve_http(telegram)
    port = free_port()
    hook_url = f"http://127.0.0.1:{port}/telegram"
    process = await asyncio.create_subprocess_exec(
        GLUTEBOT,
        "run",
        "--webhook",
        cwd=home,
        env=clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=server.base_url,
            GLUTEBOT_DATA_DIR=str(home),
            WEBHOOK_URL=hook_url,
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
            WEBHOOK_SECRET=SECRET,
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
            STATUS_PORT="0",
            NUDGES_PER_SECOND="4",
            TICK_SECONDS="0.5",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    bot = WebhookBot(
        process, telegram, server, hook_url, f"sqlite+aiosqlite:///{home / 'glutebot.db'}"
    )
    bot.readers = [
        asyncio.create_task(_collect(process.stdout, bot.stdout)),
        asyncio.create_task(_collect(process.stderr, bot.stderr)),
    ]
    try:
        await bot.wait_for_log(lambda line: "Application started" in line, timeout=60)
        yield bot
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
        await asyncio.gather(*bot.readers)
        await server.stop()


@in_module_loop
async def test_a_user_talks_to_the_bot_through_its_webhook(webhook_bot: WebhookBot) -> None:
    telegram = webhook_bot.telegram
    pat = telegram.user(321, "Pat")
    await pat.send("/start")
    reply = await pat.next_reply(timeout=30)

    assert reply.text.startswith("Hi Pat!")
    assert telegram.webhook.url == webhook_bot.hook_url
    assert telegram.webhook.secret_token == SECRET
    assert telegram.stats.webhook_posts >= 1
    assert telegram.stats.calls["getUpdates"] == 0  # nothing polls
    assert telegram.pending_update_count == 0


@in_module_loop
async def test_requests_without_the_secret_get_403_and_are_not_processed(
    webhook_bot: WebhookBot,
) -> None:
    telegram = webhook_bot.telegram
    stranger, control = telegram.user(777, "Sam"), telegram.user(778, "Kim")
    stranger.open_chat()  # a reply, if the bot sent one, would show here

    def forged(user_id: int, update_id: int, text: str) -> dict[str, object]:
        user = {"id": user_id, "is_bot": False, "first_name": "Sam"}
        message = {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Sam"},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        }
        return {"update_id": update_id, "message": message}

    refused = forged(777, 900_001, f"/start {PRIVATE_TEXT}")
    async with httpx.AsyncClient() as client:
        wrong = await client.post(
            webhook_bot.hook_url,
            json=refused,
            headers={"X-Telegram-Bot-Api-Secret-Token": WRONG_SECRET},
        )
        missing = await client.post(webhook_bot.hook_url, json=refused)
        # The same request with the secret is taken: the refusals above were the secret's.
        control.open_chat()
        taken = await client.post(
            webhook_bot.hook_url,
            json=forged(778, 900_002, "/start"),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
    await control.next_reply(timeout=15)
    await asyncio.sleep(0.2)

    assert (wrong.status_code, missing.status_code, taken.status_code) == (403, 403, 200)
    assert stranger.messages == []
    engine = create_engine(webhook_bot.database_url)
    try:
        async with session_factory(engine)() as session:
            assert await session.get(User, 777) is None
            assert await session.get(ProcessedUpdate, 900_001) is None
            assert await session.get(ProcessedUpdate, 900_002) is not None
    finally:
        await engine.dispose()
    refusals = [
        record
        for record in webhook_bot.log_records()
        if "Refused a webhook request" in str(record["message"])
    ]
    assert len(refusals) == 2, webhook_bot.output
    assert {record["level"] for record in refusals} == {"WARNING"}
    assert "wrong secret token" in str(refusals[0]["message"])
    assert "no secret token" in str(refusals[1]["message"])
    for leak in ("PRIVATE-BODY-TEXT", SECRET, WRONG_SECRET, TOKEN):
        assert leak not in webhook_bot.output


@in_module_loop
async def test_sigterm_mid_delivery_finishes_the_message_in_flight_and_exits_0(
    webhook_bot: WebhookBot,
) -> None:
    telegram = webhook_bot.telegram
    due = await _seed_due_nudges(webhook_bot.database_url, telegram)
    users = [telegram.user(user_id) for user_id in NUDGED_USERS]
    async with asyncio.timeout(20):  # until the third nudge has arrived
        while sum(len(user.messages) for user in users) < 3:
            await asyncio.sleep(0.01)
    started = time.monotonic()
    webhook_bot.process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(webhook_bot.process.wait(), 15)
    stop_seconds = time.monotonic() - started
    await asyncio.gather(*webhook_bot.readers)

    assert webhook_bot.process.returncode == 0, webhook_bot.output
    assert stop_seconds < 5, stop_seconds
    records = webhook_bot.log_records()  # every line is one JSON object
    assert {"time", "level", "logger", "message"} <= records[-1].keys()
    assert records[-1]["message"] == "Stopped cleanly"
    assert any("Received SIGTERM" in str(record["message"]) for record in records)
    assert not [record for record in records if record["level"] in ("ERROR", "CRITICAL")]

    received = {user.id: len(user.messages) for user in users}
    assert max(received.values()) == 1  # nobody got a nudge twice
    assert 3 <= sum(received.values()) < len(users), webhook_bot.output  # stopped mid-delivery
    engine = create_engine(webhook_bot.database_url)
    try:
        async with session_factory(engine)() as session:
            claimed = await session.scalar(
                select(func.count()).select_from(Nudge).where(Nudge.state == NudgeState.CLAIMED)
            )
            seeded = await session.execute(
                select(Nudge.user_id, Nudge.state, Nudge.claimed_by).where(
                    Nudge.kind == NudgeKind.NUDGE,
                    Nudge.user_id.in_(NUDGED_USERS),
                    Nudge.due_at <= due,
                )
            )
            outcome = {user_id: (state, by) for user_id, state, by in seeded}
            following = set(
                (
                    await session.scalars(
                        select(Nudge.user_id).where(
                            Nudge.kind == NudgeKind.NUDGE,
                            Nudge.state == NudgeState.SCHEDULED,
                            Nudge.due_at > due,
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert claimed == 0
    assert len(outcome) == len(users)
    for user_id, count in received.items():
        # Each send was recorded; each nudge not sent was handed back, due as before.
        expected = NudgeState.SENT if count else NudgeState.SCHEDULED
        assert outcome[user_id] == (expected, None), (user_id, outcome[user_id])
        if count:  # and whoever got one has their next nudge waiting
            assert user_id in following, user_id
    for leak in (TOKEN, SECRET):
        assert leak not in webhook_bot.output


async def _seed_due_nudges(database_url: str, telegram: LocalTelegram) -> datetime:
    """Active users whose first nudge is due, written beside the running bot; when it is due."""
    now = SystemClock().now()
    due = now - timedelta(seconds=5)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            for user_id in NUDGED_USERS:
                telegram.user(user_id, f"User {user_id}").open_chat()
                user, _ = await upsert_user(
                    session,
                    user_id=user_id,
                    chat_id=user_id,
                    first_name=f"User {user_id}",
                    username=None,
                    language_code="en",
                    now=now,
                )
                settings = user.settings
                settings.timezone, settings.weekends = "UTC", True
                settings.window_start, settings.window_end = 0, 24 * 60 - 1
                settings.focus, settings.mix = "activation", ["hip_flexor_balance"]
                settings.levels = {track.value: 1 for track in Track}
                settings.anchors = ["standing_up"]
                user.state = UserState.ACTIVE
                await planner.start_nudging(session, user, now, planner.per_minute(29))
            await session.flush()
            await session.execute(
                update(Nudge)
                .where(Nudge.user_id.in_(NUDGED_USERS), Nudge.kind == NudgeKind.NUDGE)
                .values(due_at=due)
            )
    finally:
        await engine.dispose()
    return due


def run_in_process(tmp_path: Path, *args: str, **settings: str) -> Result:
    """`glutebot ARGS` in this process (fast), in `tmp_path`, with only `settings` set."""
    env: dict[str, str | None] = dict.fromkeys(ENV_NAMES.values())
    env.update(settings)
    cwd = Path.cwd()
    os.chdir(tmp_path)  # no .env from the developer's checkout
    try:
        return CliRunner().invoke(cli, list(args), env=env, prog_name="glutebot")
    finally:
        os.chdir(cwd)


def test_webhook_mode_without_a_secret_is_one_clear_line_and_exit_code_2(tmp_path: Path) -> None:
    result = run_in_process(
        tmp_path,
        "run",
        "--webhook",
        "--url",
        "https://bot.example.org/telegram",
        TELEGRAM_BOT_TOKEN=TOKEN,
        GLUTEBOT_DATA_DIR=str(tmp_path),
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("glutebot: configuration problem: WEBHOOK_SECRET is not set")
    assert not (tmp_path / "glutebot.db").exists()  # nothing started
    assert TOKEN not in result.output


def test_webhook_mode_names_every_missing_setting_on_one_line(tmp_path: Path) -> None:
    result = run_in_process(tmp_path, "run", "--webhook", TELEGRAM_BOT_TOKEN=TOKEN)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert "WEBHOOK_URL is not set" in line and "WEBHOOK_SECRET is not set" in line


def test_webhook_options_without_webhook_mode_are_a_usage_error(tmp_path: Path) -> None:
    result = run_in_process(tmp_path, "run", "--port", "8443", TELEGRAM_BOT_TOKEN=TOKEN)
    assert result.exit_code == 2
    assert "--url, --listen and --port go with --webhook" in result.stderr
