"""Updates that come twice or out of order never count twice: reports, decisions and replies.

Telegram repeats an update when the bot did not confirm it (a crash before the poll offset
moved on) or when a webhook POST was not answered in time; webhook retries and a restarted
bot's catch-up also deliver older updates after newer ones. Each update id is committed
with what handling it changed (bot/db/handled.py), and a first look (bot/handlers/
updates.py) stops an update already recorded before any handler answers it.

Covered elsewhere: a command and a typed report redelivered to a restarted bot
(tests/e2e/test_first_contact.py, tests/e2e/test_typed_reports.py); a double tap on Send of a
broadcast (tests/e2e/test_admin.py). Here: duplicates within one running bot, by polling and
by webhook, button presses too, updates out of order, and a retry reaching a second bot
process on the same database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.app import build_application, stop_application
from bot.clock import FakeClock
from bot.db.models import Decision, Nudge, Report
from bot.handlers.basics import SORRY
from bot.localtelegram import LocalTelegram, LocalUser
from bot.localtelegram.chat import ChatMessage
from bot.runtime import Runtime
from bot.webhook import SECRET_HEADER, check_webhook_secrets
from tests.e2e.harness import (
    RunningBot,
    active_user,
    ask,
    run_clock,
    running_bot,
    settings_for_test,
)
from tests.e2e.test_delivery import MONDAY, nudges_of
from tests.localtelegram.test_webhook import free_port

SECRET = "redelivery-Secret_0123456789"
JSON = dict[str, Any]


def arrivals(bot: RunningBot) -> Counter[int]:
    """How often each update id reaches the bot's handlers (before the dedupe)."""
    seen: Counter[int] = Counter()

    async def count(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen[update.update_id] += 1

    bot.application.add_handler(TypeHandler(Update, count), group=-3)
    return seen


async def nudged(bot: RunningBot, *user_ids: int) -> list[LocalUser]:
    """Active users who have each just received a nudge."""
    users = [await active_user(bot, user_id) for user_id in user_ids]
    await run_clock(bot, bot.clock.now().replace(hour=10), step=timedelta(minutes=15))
    assert all(nudges_of(user) for user in users)
    return users


async def rows(bot: RunningBot, user_id: int) -> tuple[list[Report], int]:
    """The user's reports, and how many decisions they have."""
    async with bot.runtime.sessions() as session:
        reports = (await session.scalars(select(Report).where(Report.user_id == user_id))).all()
        decisions = await session.scalar(
            select(func.count()).select_from(Decision).where(Decision.user_id == user_id)
        )
    return list(reports), int(decisions or 0)


async def all_handled(bot: RunningBot, witness: LocalUser) -> None:
    """Updates are handled one at a time, in order: once a later one is answered, all are."""
    await ask(witness, "/help")


async def confirmed(bot: RunningBot, user: LocalUser) -> None:
    """Wait until the bot has confirmed every update so far: its next poll is under way,
    so an update queued again now reaches it (a running bot never confirms what it has not
    handled, see bot/handlers/updates.py ConfirmWhenHandled)."""
    await user.wait_for(lambda: bot.telegram.pending_update_count == 0, what="the confirm")


def apologies(*users: LocalUser) -> list[str]:
    return [m.text for user in users for m in user.messages if m.text == SORRY]


@pytest.fixture
async def bot(sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(sqlite_url, tmp_path, clock=FakeClock(MONDAY)) as running:
        yield running


# ---- polling --------------------------------------------------------------------------


async def test_a_typed_report_delivered_twice_is_stored_and_answered_once(
    bot: RunningBot,
) -> None:
    seen = arrivals(bot)
    [user] = await nudged(bot, 301)
    witness = await active_user(bot, 399)
    before = len(user.messages)
    update = await user.send("12, pain 2")
    bot.telegram.redeliver(update)  # both copies go out in the same getUpdates answer
    await all_handled(bot, witness)

    assert seen[update["update_id"]] == 2  # the bot did get it twice
    [report], decisions = await rows(bot, 301)
    assert (report.reps, report.pain_during, decisions) == (12, 2, 1)
    assert len(user.messages) == before + 1 and (user.messages[-1].text or "").startswith(
        "Logged: 12"
    )
    assert apologies(user) == []


async def test_a_redelivered_button_press_is_handled_once(bot: RunningBot) -> None:
    seen = arrivals(bot)
    done_user, unclear_user = await nudged(bot, 302, 303)
    witness = await active_user(bot, 399)
    # Done on a nudge, and the answer to a clarifying question: each a new report.
    nudge = nudges_of(done_user)[-1]
    done = await done_user.press(nudge.buttons[0][0], message=nudge)
    question = await ask(unclear_user, "12 3")
    assert question.buttons, question.text
    clarified = await unclear_user.press(question.buttons[0][0], message=question)
    await confirmed(bot, unclear_user)
    for press in (done, clarified):
        bot.telegram.redeliver(press)
    await all_handled(bot, witness)

    for press in (done, clarified):
        assert seen[press["update_id"]] == 2
        assert bot.telegram.is_answered(press["callback_query"]["id"])
    for user_id in (302, 303):
        reports, _ = await rows(bot, user_id)
        assert len(reports) == 1, user_id
    # Handled again, a press is answered again: Telegram refuses that, and the failure
    # would bring the user an apology.
    assert apologies(done_user, unclear_user) == []


async def test_an_older_update_after_newer_ones_is_skipped_and_new_ones_are_not(
    bot: RunningBot,
) -> None:
    seen = arrivals(bot)
    [user] = await nudged(bot, 304)
    witness = await active_user(bot, 399)
    first = await user.send("8 reps, no pain")
    await user.wait_for(lambda: (user.messages[-1].text or "").startswith("Logged: 8"))
    await ask(user, "/why")
    before = len(user.messages)
    # The first update comes again after the newer /why, in one poll with a brand-new one.
    await confirmed(bot, user)
    bot.telegram.redeliver(first)
    await all_handled(bot, witness)

    assert seen[first["update_id"]] == 2
    assert len(user.messages) == before  # no second "Logged"
    reports, decisions = await rows(bot, 304)
    assert len(reports) == 1 and decisions == 1


# ---- webhook ----------------------------------------------------------------------------


@asynccontextmanager
async def webhook_bot(
    database_url: str, data_dir: Path, telegram: LocalTelegram, clock: FakeClock
) -> AsyncIterator[tuple[RunningBot, str]]:
    """Glutebot in this process taking updates on a webhook (with Glutebot's secret check)."""
    check_webhook_secrets()
    runtime = Runtime.open(settings_for_test(database_url, data_dir), clock)
    application = build_application(runtime, request=telegram.request(), deliver=False)
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    await application.initialize()
    assert application.post_init is not None and application.updater is not None
    await application.post_init(application)
    await application.updater.start_webhook(
        listen="127.0.0.1", port=port, url_path="telegram", webhook_url=url, secret_token=SECRET
    )
    await application.start()
    try:
        yield RunningBot(telegram, application, runtime, clock), url
    finally:
        await stop_application(application)


async def post(client: httpx.AsyncClient, url: str, update: JSON) -> int:
    """POST an update to a webhook as Telegram does; the HTTP status."""
    response = await client.post(url, json=update, headers={SECRET_HEADER: SECRET})
    return response.status_code


def typed(telegram: LocalTelegram, user: LocalUser, update_id: int, text: str) -> JSON:
    """An update for a message `user` wrote, with a chosen id, not queued anywhere."""
    user.open_chat()
    message = ChatMessage(
        user.chat.next_message_id(), user.chat.user, user.chat.user, telegram.timestamp(), text=text
    )
    user.chat.add(message)
    return {"update_id": update_id, "message": message.to_api()}


async def test_a_retried_webhook_post_is_handled_once(sqlite_url: str, tmp_path: Path) -> None:
    clock = FakeClock(MONDAY)
    telegram = LocalTelegram(clock=clock)
    async with webhook_bot(sqlite_url, tmp_path, telegram, clock) as (bot, url):
        seen = arrivals(bot)
        [user] = await nudged(bot, 311)
        witness = await active_user(bot, 399)
        update = await user.send("12, pain 2")  # Telegram's own POST
        await user.wait_for(lambda: (user.messages[-1].text or "").startswith("Logged: 12"))
        before = len(user.messages)
        async with httpx.AsyncClient() as client:  # its retries: two at once, then a late one
            statuses = list(
                await asyncio.gather(post(client, url, update), post(client, url, update))
            )
            statuses.append(await post(client, url, update))
        await all_handled(bot, witness)

        assert statuses == [200, 200, 200]  # taken (a 4xx/5xx would make Telegram retry)
        assert seen[update["update_id"]] == 4
        [report], decisions = await rows(bot, 311)
        assert (report.reps, decisions) == (12, 1)
        assert len(user.messages) == before and apologies(user) == []


async def test_webhook_updates_out_of_order_are_each_handled_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = FakeClock(MONDAY)
    telegram = LocalTelegram(clock=clock)
    async with webhook_bot(sqlite_url, tmp_path, telegram, clock) as (bot, url):
        seen = arrivals(bot)
        users = await nudged(bot, 321, 322, 323)
        witness = await active_user(bot, 399)
        before = [len(user.messages) for user in users]
        updates = [
            typed(telegram, user, 50_001 + n, f"{10 + n} reps, pain 1")
            for n, user in enumerate(users)
        ]
        async with httpx.AsyncClient() as client:
            for index in (2, 0, 1, 2, 0):  # newest first, then older ones, then repeats
                assert await post(client, url, updates[index]) == 200
        await all_handled(bot, witness)

        assert [seen[u["update_id"]] for u in updates] == [2, 1, 2]
        for n, user in enumerate(users):
            reports, decisions = await rows(bot, user.id)
            assert [r.reps for r in reports] == [10 + n] and decisions == 1
            assert len(user.messages) == before[n] + 1
            assert (user.messages[-1].text or "").startswith(f"Logged: {10 + n}")
        assert apologies(*users) == []


async def test_a_retry_reaching_a_second_bot_process_is_handled_by_one(
    database_url: str, tmp_path: Path
) -> None:
    """Two bot processes on one database (a webhook behind a load balancer): a retried
    update lands on both at once; exactly one handles it (the dedupe's insert is atomic)."""
    clock = FakeClock(MONDAY)
    telegram = LocalTelegram(clock=clock)
    async with (
        webhook_bot(database_url, tmp_path / "a", telegram, clock) as (first, first_url),
        webhook_bot(database_url, tmp_path / "b", telegram, clock) as (second, second_url),
    ):
        seen_first, seen_second = arrivals(first), arrivals(second)
        [user] = await nudged(first, 331)
        before = len(user.messages)
        witness = telegram.user(399)
        update = typed(telegram, user, 60_001, "12, pain 2")
        barriers = [typed(telegram, witness, 60_002 + n, "/help") for n in range(2)]
        for barrier in barriers:
            barrier["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 5}]
        async with httpx.AsyncClient() as client:
            statuses = list(
                await asyncio.gather(
                    post(client, first_url, update), post(client, second_url, update)
                )
            )
            await post(client, first_url, barriers[0])
            await post(client, second_url, barriers[1])
        await witness.wait_for(lambda: len(witness.messages) == 2, timeout=10)

        assert statuses == [200, 200]
        assert seen_first[60_001] == seen_second[60_001] == 1
        [report], decisions = await rows(first, 331)
        assert (report.reps, decisions) == (12, 1)
        assert len(user.messages) == before + 1 and apologies(user) == []
        async with first.runtime.sessions() as session:
            nudge = await session.get(Nudge, report.nudge_id)
        assert nudge is not None and nudge.user_id == 331


async def test_polling_confirms_an_update_to_telegram_only_once_it_is_handled(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Telegram never sends a confirmed update again: confirmed while still waiting to be
    # handled, an update (a tap on the nudge just sent) would be lost to a kill -9.
    telegram = LocalTelegram()
    started, finish = asyncio.Event(), asyncio.Event()

    async def slow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        started.set()
        await finish.wait()

    async with running_bot(sqlite_url, tmp_path, telegram=telegram) as bot:
        bot.application.add_handler(TypeHandler(Update, slow), group=-3)
        await telegram.user(5).send("hello")
        await telegram.user(6).send("hello too")
        try:
            await asyncio.wait_for(started.wait(), 10)
            await asyncio.sleep(0.3)  # time enough for PTB to have polled again, had it not waited
            assert telegram.pending_update_count == 2  # fetched, neither confirmed
        finally:
            finish.set()  # else the bot could not stop
        await telegram.user(5).wait_for(lambda: telegram.pending_update_count == 0)
