"""Secrets stay secret, and nobody can act on someone else's data.

- `glutebot run --webhook` at DEBUG, with errors provoked (Telegram 500s, a bad request, a
  failing handler, webhook requests Telegram would never send): the token and the webhook
  secret appear nowhere in its output, its status pages or anything users are sent.
- Forged callback data naming another user's nudges and reports, their settings, deletion:
  the other user's rows and chat stay exactly as they were.
- /export and then /delete, by one of two users with data: the export holds nothing of the
  other, whose rows stay exactly as they were.

Covered elsewhere, not repeated here: the log formatter scrubbing the token and secret
(tests/unit/test_logs.py); the token absent from a polling run's DEBUG log and from start-up
errors (tests/e2e/test_cli.py); refused webhook requests, at INFO and DEBUG
(tests/e2e/test_cli_webhook.py, tests/localtelegram/test_webhook_guard.py); forged or stale
onboarding buttons (tests/e2e/test_onboarding.py); another user's nudge "Done"
(tests/e2e/test_delivery.py); /stats and /broadcast refused to non-admins as unknown
commands and a non-admin's forged broadcast Send/Cancel (tests/e2e/test_admin.py); /delete
erasing every row of the caller and /export of a user without reports
(tests/e2e/test_reports.py).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from bot.clock import FakeClock
from bot.db.models import Decision, Nudge, Report, Screen, ScreenAnswer, User, UserSettings
from bot.handlers.basics import SORRY
from bot.localtelegram import LocalTelegram, LocalUser, serve_http
from bot.webhook import SECRET_HEADER
from content import load_library
from tests.e2e.harness import RunningBot, active_user, ask, forged_press, run_clock, running_bot
from tests.e2e.test_cli_webhook import GLUTEBOT, clean_env, free_port
from tests.e2e.test_delivery import MONDAY, nudges_of
from tests.e2e.test_reports import log_session

TOKEN = "5550001234:AAHsecurity-TOKEN-value_9f8e7d6c5b"
SECRET = "security-Webhook_SECRET-a1b2c3d4e5f6"
WRONG_SECRET = "security-Wrong_SECRET-000000000000"
LIBRARY = load_library()


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode(errors="replace"))


async def _wait_for(lines: list[str], text: str, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not any(text in line for line in lines):
            await asyncio.sleep(0.02)


async def test_the_token_and_secret_never_show_even_at_debug_with_errors(tmp_path: Path) -> None:
    telegram = LocalTelegram(token=TOKEN)
    server = await serve_http(telegram)
    port, status_port = free_port(), free_port()
    hook = f"http://127.0.0.1:{port}/telegram"
    process = await asyncio.create_subprocess_exec(
        GLUTEBOT,
        "run",
        "--webhook",
        cwd=tmp_path,
        env=clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=server.base_url,
            GLUTEBOT_DATA_DIR=str(tmp_path),
            WEBHOOK_URL=hook,
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
            WEBHOOK_SECRET=SECRET,
            LOG_LEVEL="DEBUG",
            STATUS_LISTEN="127.0.0.1",
            STATUS_PORT=str(status_port),
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    lines: list[str] = []
    readers = [
        asyncio.create_task(_collect(process.stdout, lines)),
        asyncio.create_task(_collect(process.stderr, lines)),
    ]
    pages: list[str] = []
    statuses: list[int] = []
    pat = telegram.user(401, "Pat")
    try:
        await _wait_for(lines, "Application started", timeout=60)
        await pat.send("/start")
        _, question = await pat.replies(2, timeout=20)

        # Telegram answers 500 to the bot's reply: the handler fails, an apology follows.
        telegram.inject_fault("sendMessage", "server_error", chat_id=401)
        await pat.send("/help")
        assert (await pat.next_reply(timeout=20)).text == SORRY

        # A bad request: the user deleted the message before the bot could edit it.
        await pat.press(question.buttons[0][0], message=question)
        question.deleted = True
        assert (await pat.next_reply(timeout=20)).text == SORRY

        # Requests Telegram never sends: a wrong secret, broken JSON, JSON that is no update.
        async with httpx.AsyncClient() as client:
            for body, secret in (
                (b'{"update_id": 1}', WRONG_SECRET),
                (b"{broken json", SECRET),
                (b'{"update_id": "x", "message": 5}', SECRET),
            ):
                response = await client.post(
                    hook,
                    content=body,
                    headers={SECRET_HEADER: secret, "Content-Type": "application/json"},
                )
                statuses.append(response.status_code)
            for page in ("health", "metrics"):
                response = await client.get(f"http://127.0.0.1:{status_port}/{page}")
                pages.append(response.text)
        await asyncio.sleep(0.2)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
        await asyncio.gather(*readers)
        await server.stop()

    output = "".join(lines)
    sent = [m.text or m.caption or "" for m in pat.messages]
    for leak in (TOKEN, TOKEN.split(":")[1], SECRET, WRONG_SECRET):
        assert leak not in output
        assert all(leak not in page for page in pages)
        assert all(leak not in text for text in sent)
    # The errors did happen, and DEBUG was on: the output had every chance to leak.
    assert process.returncode == 0, output
    assert " DEBUG " in output
    # Where they would have shown (the API URL, setWebhook's parameters), they were scrubbed.
    assert "/bot[token]" in output and "'secret_token': '[secret]'" in output
    assert output.count("Handling update") >= 2
    assert "Internal Server Error" in output
    assert "Message to edit not found" in output or "message to edit not found" in output
    assert "Refused a webhook request" in output
    assert statuses[0] == 403 and statuses[1] >= 400
    assert '"database": {"ok": true' in pages[0] and "glutebot_nudges_sent_total" in pages[1]


# ---- nobody acts on someone else's data ----------------------------------------------------


@pytest.fixture
async def bot(sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(sqlite_url, tmp_path, clock=FakeClock(MONDAY)) as running:
        yield running


async def rows_of(bot: RunningBot, user_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row about the user, every column, by table."""
    tables: dict[str, Any] = {
        "users": select(User.__table__).where(User.id == user_id),
        "user_settings": select(UserSettings.__table__).where(UserSettings.user_id == user_id),
        "screens": select(Screen.__table__).where(Screen.user_id == user_id),
        "screen_answers": select(ScreenAnswer.__table__)
        .join(Screen, Screen.id == ScreenAnswer.screen_id)
        .where(Screen.user_id == user_id),
        "nudges": select(Nudge.__table__).where(Nudge.user_id == user_id),
        "reports": select(Report.__table__).where(Report.user_id == user_id),
        "decisions": select(Decision.__table__).where(Decision.user_id == user_id),
    }
    async with bot.runtime.sessions() as session:
        return {
            name: sorted(tuple(row) for row in (await session.execute(query)).all())
            for name, query in tables.items()
        }


def chat_of(user: LocalUser) -> list[tuple[Any, ...]]:
    """What the user sees: each message with every version it has had."""
    return [(m.message_id, m.text, len(m.edits), m.buttons) for m in user.messages]


async def test_forged_callback_data_cannot_touch_another_users_data(bot: RunningBot) -> None:
    owner = await active_user(bot, 501)
    attacker = await active_user(bot, 502)
    await run_clock(bot, MONDAY + timedelta(hours=4), step=timedelta(minutes=15))
    answered, unanswered = nudges_of(owner)[-2:]
    logged = await owner.tap(answered.buttons[0][0], message=answered)  # Done: how did it feel
    await owner.tap("2", message=logged)  # pain 2: a decision, a morning check, "where?"
    async with bot.runtime.sessions() as session:
        report = await session.scalar(select(Report.id).where(Report.user_id == 501))
        nudge_ids = (await session.scalars(select(Nudge.id).where(Nudge.user_id == 501))).all()
    assert report is not None
    open_nudge = int(unanswered.button_data[0][0].split(":")[1])  # type: ignore[union-attr]
    before, seen = await rows_of(bot, 501), chat_of(owner)
    assert before["reports"] and before["decisions"] and len(nudge_ids) >= 4

    await ask(attacker, "/help")
    exercise = next(iter(LIBRARY.exercises))
    forgeries = [
        *(f"n:{open_nudge}:{action}" for action in ("done", "r.5", "z.15", "later", "skip")),
        *(f"n:{nudge_id}:m.3" for nudge_id in nudge_ids),
        *(f"rp:{report}:{action}" for action in ("f.lower_back", "p.9", "r.7", f"e.{exercise}")),
        "st:s.later_start",
        "st:z.Pacific/Auckland",
        "st:a.making_tea",
        "rf:cleared",
        "cl:reps=12,pain=3",
        "del:yes",  # erases the one who pressed it: the attacker
        f"n:{open_nudge}:done",  # from someone the bot no longer knows
    ]
    for data in forgeries:
        await forged_press(bot.telegram, attacker, data)

    assert await rows_of(bot, 501) == before
    assert chat_of(owner) == seen
    assert attacker.toasts.count("That button has expired.") >= 10
    assert set(map(len, (await rows_of(bot, 502)).values())) == {0}  # "del:yes" was theirs


async def test_export_and_delete_are_about_the_caller_only(bot: RunningBot) -> None:
    mine = await active_user(bot, 601, name="Ottilie")
    theirs = await active_user(bot, 602, name="Bartholomew")
    await run_clock(bot, MONDAY + timedelta(hours=4), step=timedelta(minutes=15))
    for user in (mine, theirs, mine, theirs):
        await log_session(user, reps=None, pain="1")
    their_rows = await rows_of(bot, 602)
    my_rows = await rows_of(bot, 601)
    assert their_rows["reports"] and their_rows["decisions"] and their_rows["nudges"]

    await ask(mine, "/export")
    await mine.wait_for(lambda: sum(m.document is not None for m in mine.messages) >= 3, timeout=20)
    files = {
        (m.file_name or "").rsplit(".", 1)[1]: m.document or b""
        for m in mine.messages
        if m.document
    }
    exported = json.loads(files["json"])
    texts = {
        "json": files["json"].decode(),
        "csv": files["csv"].decode("utf-8-sig"),
        "pdf": "".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages),
    }
    assert exported["user"]["id"] == 601 and "Ottilie" in texts["pdf"]
    own_ids = {table: {row[0] for row in my_rows[table]} for table in ("nudges", "reports")}
    for table in ("nudges", "reports"):
        assert {record["id"] for record in exported[table]} == own_ids[table]
    assert {row["table"] for row in csv.DictReader(io.StringIO(texts["csv"]))} >= {"reports"}
    for name, text in texts.items():
        assert "Bartholomew" not in text, name

    erased = await mine.tap("Yes, erase everything", message=await ask(mine, "/delete"))
    assert (erased.text or "").startswith("Done. Everything about you is erased.")
    assert set(map(len, (await rows_of(bot, 601)).values())) == {0}
    assert await rows_of(bot, 602) == their_rows
