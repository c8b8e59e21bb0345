"""Delivery under faults: flood limits, server errors, time-outs, blocks, downtime, crashes."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from telegram import Bot

from bot.clock import FakeClock, SystemClock
from bot.db.models import Nudge, NudgeKind, NudgeState, ProcessedUpdate, UserState
from bot.db.repo import get_user
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outbox import INTERRUPTED, claim_due, recover_dead_claims
from bot.delivery.receipts import Receipts
from bot.localtelegram import LocalTelegram, serve_http
from bot.runtime import Runtime
from tests.e2e.harness import RunningBot, active_user, run_clock, running_bot, settings_for_test
from tests.e2e.test_delivery import MONDAY, nudges_of

GLUTEBOT = str(Path(sys.executable).parent / "glutebot")


async def make_due(bot_or_runtime: RunningBot | Runtime, moment: datetime) -> None:
    """Bring every scheduled nudge forward to `moment`."""
    runtime = bot_or_runtime.runtime if isinstance(bot_or_runtime, RunningBot) else bot_or_runtime
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Nudge)
            .where(Nudge.state == NudgeState.SCHEDULED, Nudge.kind == NudgeKind.NUDGE)
            .values(due_at=moment)
        )


async def nudge_rows(bot: RunningBot, user_id: int) -> list[Nudge]:
    async with bot.runtime.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(Nudge)
                    .where(Nudge.user_id == user_id, Nudge.kind == NudgeKind.NUDGE)
                    .order_by(Nudge.id)
                )
            ).all()
        )


@pytest.fixture
async def bot(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    async with running_bot(database_url, tmp_path, clock=FakeClock(MONDAY)) as running:
        yield running


async def test_a_429_waits_requeues_and_sends_once(bot: RunningBot) -> None:
    user = await active_user(bot, 41)
    await make_due(bot, bot.clock.now())
    bot.telegram.inject_fault("sendMessage", "flood", chat_id=41, retry_after=1)
    report = await bot.dispatcher.tick()
    assert (report.sent, report.flood_wait) == (0, 1.0)
    assert nudges_of(user) == []
    rows = await nudge_rows(bot, 41)
    assert rows[0].state is NudgeState.SCHEDULED and rows[0].due_at > bot.clock.now()
    await run_clock(bot, bot.clock.now() + timedelta(seconds=2), step=timedelta(seconds=1))
    assert len(nudges_of(user)) == 1


async def test_a_429_keeps_the_rest_of_the_batch_in_order(bot: RunningBot) -> None:
    users = [await active_user(bot, 50 + n) for n in range(3)]
    await make_due(bot, bot.clock.now())
    bot.telegram.inject_fault("sendMessage", "flood", chat_id=51, retry_after=1)
    report = await bot.dispatcher.tick()
    assert report.sent == 1  # the first went out, the second was refused, the third waits
    await run_clock(bot, bot.clock.now() + timedelta(seconds=3), step=timedelta(seconds=1))
    assert [len(nudges_of(u)) for u in users] == [1, 1, 1]


async def test_server_errors_and_timeouts_retry_with_backoff(bot: RunningBot) -> None:
    user = await active_user(bot, 42)
    await make_due(bot, bot.clock.now())
    bot.telegram.inject_fault("sendMessage", "server_error", chat_id=42, times=2)
    bot.telegram.inject_fault("sendMessage", "timeout", chat_id=42, times=1)
    first = await bot.dispatcher.tick()
    assert (first.sent, first.retried) == (0, 1)
    row = (await nudge_rows(bot, 42))[0]
    assert row.attempts == 1 and row.due_at == bot.clock.now() + timedelta(seconds=15)
    await run_clock(bot, bot.clock.now() + timedelta(seconds=14), step=timedelta(seconds=7))
    assert (await nudge_rows(bot, 42))[0].attempts == 1  # still backing off
    await run_clock(bot, bot.clock.now() + timedelta(minutes=3), step=timedelta(seconds=5))
    assert len(nudges_of(user)) == 1
    sent = (await nudge_rows(bot, 42))[0]
    assert (sent.state, sent.attempts) == (NudgeState.SENT, 4)


async def test_a_nudge_that_keeps_failing_gives_way_to_the_next(bot: RunningBot) -> None:
    user = await active_user(bot, 43)
    await make_due(bot, bot.clock.now())
    bot.telegram.inject_fault("sendMessage", "server_error", chat_id=43, times=5)
    await run_clock(bot, bot.clock.now() + timedelta(minutes=10), step=timedelta(seconds=10))
    rows = await nudge_rows(bot, 43)
    assert rows[0].state is NudgeState.FAILED and rows[0].attempts == 5
    assert rows[-1].state is NudgeState.SCHEDULED  # the rhythm goes on
    assert nudges_of(user) == []


async def test_a_user_who_blocked_the_bot_gets_nothing_until_they_return(bot: RunningBot) -> None:
    user = await active_user(bot, 44)
    await make_due(bot, bot.clock.now())
    bot.telegram.inject_fault("sendMessage", "blocked", chat_id=44)
    report = await bot.dispatcher.tick()
    assert report.blocked == 1
    async with bot.runtime.sessions() as session:
        stored = await get_user(session, 44)
        pending = await session.scalar(
            select(func.count())
            .select_from(Nudge)
            .where(Nudge.user_id == 44, Nudge.state == NudgeState.SCHEDULED)
        )
    assert stored is not None and stored.state is UserState.BLOCKED
    assert pending == 0
    await run_clock(bot, bot.clock.now() + timedelta(hours=5), step=timedelta(minutes=10))
    assert nudges_of(user) == []

    await user.send("/help")  # they are back
    await user.next_reply()
    async with bot.runtime.sessions() as session:
        stored = await get_user(session, 44)
    assert stored is not None and stored.state is UserState.ACTIVE
    await run_clock(bot, bot.clock.now() + timedelta(hours=3), step=timedelta(minutes=10))
    assert nudges_of(user)


async def test_blocking_and_unblocking_in_telegram_stops_and_restarts_nudges(
    bot: RunningBot,
) -> None:
    user = await active_user(bot, 45)
    user.block()
    await user.wait_for(lambda: bot.telegram.pending_update_count == 0)
    await asyncio.sleep(0.2)
    async with bot.runtime.sessions() as session:
        stored = await get_user(session, 45)
    assert stored is not None and stored.state is UserState.BLOCKED
    user.unblock()
    await asyncio.sleep(0.2)
    async with bot.runtime.sessions() as session:
        stored = await get_user(session, 45)
    assert stored is not None and stored.state is UserState.ACTIVE
    await run_clock(bot, bot.clock.now() + timedelta(hours=6), step=timedelta(minutes=10))
    assert nudges_of(user)


async def test_after_downtime_old_nudges_are_missed_not_sent_in_a_burst(bot: RunningBot) -> None:
    users = [await active_user(bot, 60 + n, weekends=True) for n in range(5)]
    await make_due(bot, bot.clock.now())
    bot.clock.advance(timedelta(hours=3))  # the bot was down
    report = await bot.dispatcher.tick()
    assert (report.missed, report.sent) == (5, 0)
    assert all(nudges_of(u) == [] for u in users)
    await run_clock(bot, bot.clock.now() + timedelta(hours=2), step=timedelta(minutes=5))
    assert all(1 <= len(nudges_of(u)) <= 3 for u in users)  # back to the normal rhythm


async def test_two_dispatchers_send_each_nudge_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    telegram = LocalTelegram(clock=FakeClock(MONDAY))
    async with running_bot(database_url, tmp_path, telegram=telegram, clock=telegram.clock) as bot:  # type: ignore[arg-type]
        users = [await active_user(bot, 1000 + n, weekends=True) for n in range(120)]
        await make_due(bot, bot.clock.now())
        fast = settings_for_test(database_url, tmp_path).model_copy(
            update={"nudges_per_second": 1000.0}
        )
        first = Runtime.open(fast, bot.clock)
        second = Runtime.open(fast, bot.clock)
        async with (
            Bot("1000000001:local-telegram-token", request=telegram.request()) as one,
            Bot("1000000001:local-telegram-token", request=telegram.request()) as two,
        ):
            one_dispatcher = Dispatcher(one, first, name="one", batch_size=10)
            two_dispatcher = Dispatcher(two, second, name="two", batch_size=10)
            reports = await asyncio.gather(one_dispatcher.tick(), two_dispatcher.tick())
        await first.close()
        await second.close()
    assert [len(nudges_of(u)) for u in users] == [1] * 120
    assert sum(r.sent for r in reports) == 120
    assert all(r.sent > 0 for r in reports)  # both really took part


def _glutebot_env(tmp_path: Path, base_url: str, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE"))}
    env.update(
        TELEGRAM_BOT_TOKEN="5550001234:AAHsecret-token-for-tests_only",
        TELEGRAM_API_BASE_URL=base_url,
        DATABASE_URL=database_url,
        GLUTEBOT_DATA_DIR=str(tmp_path),
        NUDGES_PER_SECOND="8",
        TICK_SECONDS="0.5",
        CLAIM_TIMEOUT_SECONDS="2",
        LOG_LEVEL="WARNING",
        STATUS_PORT="0",  # several test runs may share this machine
    )
    return env


async def test_a_kill_mid_dispatch_repeats_nothing_and_loses_only_the_message_in_flight(
    sqlite_url: str, tmp_path: Path
) -> None:
    telegram = LocalTelegram()  # any token: the seeding bot and `glutebot run` use different ones
    server = await serve_http(telegram)
    clock = SystemClock()
    async with running_bot(  # type: ignore[arg-type]
        sqlite_url, tmp_path, telegram=telegram, clock=clock
    ) as seeding:
        users = [
            await active_user(seeding, 2000 + n, weekends=True, window=(0, 23 * 60 + 59))
            for n in range(40)
        ]
        await make_due(seeding, clock.now() - timedelta(seconds=5))
    env = _glutebot_env(tmp_path, server.base_url, sqlite_url)
    runtime = Runtime.open(settings_for_test(sqlite_url, tmp_path), clock)

    def delivered() -> int:
        return sum(len(nudges_of(u)) for u in users)

    async def interrupted() -> list[int]:
        """Users whose nudge was in flight at the kill: marked missed, not sent again."""
        async with runtime.sessions() as session:
            return list(
                await session.scalars(
                    select(Nudge.user_id).where(
                        Nudge.state == NudgeState.MISSED, Nudge.last_error == INTERRUPTED
                    )
                )
            )

    first = await asyncio.create_subprocess_exec(GLUTEBOT, "run", env=env, cwd=tmp_path)
    try:
        async with asyncio.timeout(60):
            while delivered() < 12:
                await asyncio.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    at_kill = delivered()
    assert at_kill < 40  # it really died mid-dispatch

    second = await asyncio.create_subprocess_exec(GLUTEBOT, "run", env=env, cwd=tmp_path)
    try:
        async with asyncio.timeout(60):
            while True:
                in_flight = await interrupted()
                if in_flight and all(nudges_of(u) for u in users if u.id not in in_flight):
                    break
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything extra would show up now
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
        await server.stop()
    try:
        # The one message the dead process may have been sending is missed, never repeated;
        # everyone else got their nudge, once.
        (in_flight_user,) = await interrupted()
        received = {u.id: len(nudges_of(u)) for u in users}
        assert set(received.values()) <= {0, 1}
        assert [user_id for user_id, n in received.items() if n == 0] in ([], [in_flight_user])
        # And everyone's next nudge is in the outbox, even where the kill came between
        # sending and scheduling what comes next, and for the one whose nudge was missed.
        async with runtime.sessions() as session:
            pending = collections.Counter(
                (
                    await session.scalars(
                        select(Nudge.user_id).where(
                            Nudge.kind == NudgeKind.NUDGE, Nudge.state == NudgeState.SCHEDULED
                        )
                    )
                ).all()
            )
    finally:
        await runtime.close()
    assert {u.id: pending[u.id] for u in users} == {u.id: 1 for u in users}


async def test_a_dead_dispatchers_message_in_flight_is_missed_and_the_rest_sent_once(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after Telegram took its first message, before the receipt: no repeat."""
    users = [await active_user(bot, 80 + n, weekends=True) for n in range(3)]
    await make_due(bot, bot.clock.now())  # one batch, sent in user order (due_at, id)
    dead = Dispatcher(bot.application.bot, bot.runtime, name="dead")

    async def never_written(*args: object, **kwargs: object) -> bool:
        await asyncio.Event().wait()  # the process dies while the receipt is on its way
        return False

    async def nothing(*args: object, **kwargs: object) -> None:
        """A killed process hands nothing back and schedules nothing."""

    monkeypatch.setattr(Receipts, "sent", never_written)
    monkeypatch.setattr(dead, "_release_unsent", nothing)
    monkeypatch.setattr(dead, "_follow_up", nothing)
    dying = asyncio.create_task(dead.tick())
    await users[0].wait_for(lambda: len(nudges_of(users[0])) == 1)
    dying.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await dying
    monkeypatch.undo()
    assert [len(nudges_of(u)) for u in users] == [1, 0, 0]

    # The restarted bot, once the dead claims time out.
    bot.clock.advance(timedelta(seconds=bot.runtime.settings.claim_timeout_seconds + 1))
    report = await bot.dispatcher.tick()
    assert (report.missed, report.released, report.sent) == (1, 2, 2)
    assert [len(nudges_of(u)) for u in users] == [1, 1, 1]  # nobody got a message twice
    rows = [await nudge_rows(bot, u.id) for u in users]
    first = rows[0][0]
    assert first.state is NudgeState.MISSED and first.last_error == INTERRUPTED
    assert "may or may not have reached the user" in INTERRUPTED
    assert [r[0].state for r in rows[1:]] == [NudgeState.SENT, NudgeState.SENT]
    # Everyone, the user whose nudge was in doubt too, has their next nudge waiting.
    for user_rows in rows:
        waiting = [r for r in user_rows if r.state is NudgeState.SCHEDULED]
        assert len(waiting) == 1 and waiting[0].due_at > bot.clock.now()
    await run_clock(bot, bot.clock.now() + timedelta(hours=6), step=timedelta(minutes=10))
    assert len(nudges_of(users[0])) >= 2  # and their nudges keep coming


async def test_each_dead_dispatcher_loses_at_most_its_first_claim_and_live_claims_stay(
    bot: RunningBot,
) -> None:
    """Several dispatchers on one database (PostgreSQL): each dead claimer on its own."""
    for n in range(6):
        await active_user(bot, 90 + n, weekends=True)
    await make_due(bot, bot.clock.now())
    now = bot.clock.now()
    claimed: dict[str, list[int]] = {}
    for claimer, moment in (("one", now), ("two", now), ("alive", now + timedelta(seconds=90))):
        async with bot.runtime.sessions.begin() as session:
            batch = await claim_due(session, moment, 2, claimer)
        claimed[claimer] = [item.nudge.id for item in batch]
    async with bot.runtime.sessions.begin() as session:  # "one" and "two" timed out
        recovered = await recover_dead_claims(session, now + timedelta(seconds=60))
    assert recovered.released == 2
    assert sorted(user_id for user_id, _ in recovered.interrupted) == [90, 92]
    async with bot.runtime.sessions() as session:
        states = dict((await session.execute(select(Nudge.id, Nudge.state))).all())
    assert [states[i] for i in claimed["one"]] == [NudgeState.MISSED, NudgeState.SCHEDULED]
    assert [states[i] for i in claimed["two"]] == [NudgeState.MISSED, NudgeState.SCHEDULED]
    assert [states[i] for i in claimed["alive"]] == [NudgeState.CLAIMED] * 2


async def test_a_user_left_without_a_next_nudge_gets_one_when_delivery_starts(
    bot: RunningBot,
) -> None:
    """A crash after a send but before scheduling the next leaves a gap; a start closes it."""
    user = await active_user(bot, 77, weekends=True)
    async with bot.runtime.sessions.begin() as session:
        await session.execute(  # as if sent just before the process died
            update(Nudge)
            .where(Nudge.user_id == 77, Nudge.kind == NudgeKind.NUDGE)
            .values(state=NudgeState.SENT, sent_at=bot.clock.now())
        )
    restarted = Dispatcher(bot.application.bot, bot.runtime, name="restarted")
    assert await restarted.reconcile() == 1  # as the job does when the bot starts
    rows = await nudge_rows(bot, 77)
    assert [row.state for row in rows] == [NudgeState.SENT, NudgeState.SCHEDULED]
    await run_clock(bot, bot.clock.now() + timedelta(hours=6), step=timedelta(minutes=10))
    assert nudges_of(user)  # and the nudges keep coming


async def test_the_tick_runs_by_itself_in_a_running_bot(sqlite_url: str, tmp_path: Path) -> None:
    """The JobQueue job, not the test, sends what is due."""
    from bot.app import build_application, start_application, stop_application

    clock = SystemClock()
    telegram = LocalTelegram(clock=clock)
    settings = settings_for_test(sqlite_url, tmp_path).model_copy(update={"tick_seconds": 0.5})
    runtime = Runtime.open(settings, clock)
    application = build_application(
        runtime, request=telegram.request(), get_updates_request=telegram.request()
    )
    await start_application(application, poll_timeout=1)
    try:
        seeding = RunningBot(telegram, application, runtime, clock)  # type: ignore[arg-type]
        user = await active_user(seeding, 77, weekends=True, window=(0, 23 * 60 + 59))
        await make_due(seeding, datetime.now(UTC))
        await user.wait_for(lambda: bool(nudges_of(user)), timeout=10)
    finally:
        await stop_application(application)


async def test_old_update_ids_are_forgotten_after_a_week(bot: RunningBot) -> None:
    user = await active_user(bot, 46)
    await user.send("/help")
    await user.next_reply()
    for _ in range(500):  # a reply that stores nothing has its update id recorded just after
        async with bot.runtime.sessions() as session:
            recorded = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
        if recorded:
            break
        await asyncio.sleep(0.01)
    assert recorded == 1
    bot.clock.advance(timedelta(days=8))
    await bot.dispatcher.tick()
    async with bot.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0
