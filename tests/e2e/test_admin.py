"""Operator commands through the local Telegram: /stats and /broadcast, for ADMIN_IDS only."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.commands import help_lines
from bot.db.models import (
    Broadcast,
    BroadcastState,
    Nudge,
    NudgeKind,
    NudgeState,
    User,
    UserState,
)
from bot.db.repo import get_user
from bot.handlers.basics import UNKNOWN_COMMAND
from bot.localtelegram import LocalTelegram, LocalUser
from bot.localtelegram.chat import ChatMessage
from bot.services import broadcast as broadcasting
from tests.e2e.harness import RunningBot, active_user, ask, forged_press, running_bot

# Monday 2 March 2026, 02:00 UTC: 03:00 in Berlin, hours before anyone's nudge window.
NIGHT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
ADMIN = 1
ACTIVE = (11, 12, 13)
TEXT = "Maintenance tonight <b>22:00</b> *UTC*.\nNudges resume by morning. 🙏"


@pytest.fixture
async def bot(sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """Glutebot with one admin, three active users and one each paused, blocked, mid-screen.

    Behaviour runs on SQLite; Send (row locks) and restarts run on both backends.
    """
    async with running_bot(
        sqlite_url, tmp_path, clock=FakeClock(NIGHT), admin_ids=frozenset({ADMIN})
    ) as running:
        await people(running)
        yield running


@pytest.fixture
async def bot_on_each_backend(database_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The same, on SQLite and on PostgreSQL."""
    async with running_bot(
        database_url, tmp_path, clock=FakeClock(NIGHT), admin_ids=frozenset({ADMIN})
    ) as running:
        await people(running)
        yield running


async def people(bot: RunningBot) -> None:
    for user_id in ACTIVE:
        await active_user(bot, user_id)
    paused = await active_user(bot, 14)
    assert (await ask(paused, "/pause 3")).text.startswith("Nudges paused until")
    blocked = await active_user(bot, 15)
    blocked.block()
    onboarding = bot.telegram.user(16, "New")
    await onboarding.send("/start")
    await onboarding.replies(2)
    for _ in range(50):
        async with bot.runtime.sessions() as session:
            user = await get_user(session, 15)
        if user is not None and user.state is UserState.BLOCKED:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the block never reached the bot")


def unknown(command: str) -> str:
    return UNKNOWN_COMMAND.format(command=command, commands=help_lines())


async def broadcast_rows(bot: RunningBot) -> list[Nudge]:
    async with bot.runtime.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(Nudge).where(Nudge.kind == NudgeKind.BROADCAST).order_by(Nudge.id)
                )
            ).all()
        )


async def snapshot(bot: RunningBot) -> list[tuple[object, ...]]:
    """Every user's state and every outbox row's user, kind, state and due time."""
    async with bot.runtime.sessions() as session:
        users = await session.execute(select(User.id, User.state).order_by(User.id))
        rows = await session.execute(
            select(Nudge.user_id, Nudge.kind, Nudge.state, Nudge.due_at).order_by(Nudge.id)
        )
        return [tuple(row) for row in (*users.all(), *rows.all())]


async def broadcasts(bot: RunningBot) -> list[Broadcast]:
    async with bot.runtime.sessions() as session:
        return list((await session.scalars(select(Broadcast).order_by(Broadcast.id))).all())


def received(user: LocalUser, text: str = TEXT) -> int:
    return sum(1 for message in user.messages if message.text == text)


async def deliver(bot: RunningBot, seconds: float = 2.0) -> None:
    """Let the broadcast's due times pass and run the delivery tick."""
    bot.clock.advance(timedelta(seconds=seconds))
    await bot.dispatcher.tick()


async def preview(bot: RunningBot, text: str = TEXT) -> tuple[LocalUser, list[ChatMessage]]:
    admin = bot.telegram.user(ADMIN, "Op")
    seen = len(admin.messages)
    await admin.send(f"/broadcast {text}")
    await admin.wait_for(lambda: len(admin.messages) >= seen + 2, what="the preview")
    return admin, admin.messages[seen : seen + 2]


async def send(admin: LocalUser, offer: ChatMessage) -> ChatMessage:
    """Tap Send on the preview and wait until every recipient is queued."""
    await admin.tap(offer.buttons[0][0], message=offer)
    return await queued(admin)


async def queued(admin: LocalUser) -> ChatMessage:
    """The preview once it says the broadcast is queued."""
    await admin.wait_for(
        lambda: " is queued for " in (admin.messages[-1].text or ""),
        what="the broadcast to be queued",
    )
    return admin.messages[-1]


async def test_non_admins_get_the_unknown_command_answer_and_change_nothing(
    bot: RunningBot,
) -> None:
    stranger = bot.telegram.user(ACTIVE[0])
    before = await snapshot(bot)
    assert (await ask(stranger, "/frobnicate")).text == unknown("/frobnicate")
    assert (await ask(stranger, "/stats")).text == unknown("/stats")
    assert (await ask(stranger, "/broadcast")).text == unknown("/broadcast")
    assert (await ask(stranger, f"/broadcast {TEXT}")).text == unknown("/broadcast")
    assert (await ask(stranger, "/broadcast@glutebot hi")).text == unknown("/broadcast")
    assert await broadcasts(bot) == []
    assert await snapshot(bot) == before
    # Not in the menu or in /help either.
    menu = {command["command"] for command in bot.telegram.commands}
    assert menu and not menu & {"stats", "broadcast"}
    assert "/broadcast" not in help_lines() and "/stats" not in help_lines()


async def test_a_forged_broadcast_button_from_a_non_admin_changes_nothing(bot: RunningBot) -> None:
    _, (_, offer) = await preview(bot)
    stranger = bot.telegram.user(ACTIVE[1])
    await ask(stranger, "/help")
    before = await snapshot(bot)
    for action in ("send", "cancel"):
        await forged_press(bot.telegram, stranger, f"bc:1:{action}")
    assert stranger.toasts == []  # answered quietly
    [draft] = await broadcasts(bot)
    assert draft.state is BroadcastState.DRAFT
    assert await snapshot(bot) == before
    await deliver(bot)
    assert await broadcast_rows(bot) == []
    assert all(received(bot.telegram.user(user_id)) == 0 for user_id in ACTIVE)
    assert offer.buttons == [["📣 Send to 3 users", "Cancel"]]  # the admin's is untouched


async def test_an_admin_sees_the_stats(bot: RunningBot) -> None:
    admin = bot.telegram.user(ADMIN, "Op")
    answer = await ask(admin, "/stats")
    assert answer.text.startswith("Glutebot at 2026-03-02 02:00 UTC")
    assert "Users: 6 (3 active, 1 paused, 1 onboarding, 1 blocked)" in answer.text
    assert "Nudges sent: 0 today" in answer.text


async def test_preview_send_and_each_active_user_gets_it_exactly_once(
    bot_on_each_backend: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = bot_on_each_backend
    monkeypatch.setattr(broadcasting, "QUEUE_BATCH", 2)  # three users: two batches
    admin, (shown, offer) = await preview(bot)
    assert shown.text == TEXT and not shown.entities and shown.buttons == []
    assert offer.text.startswith("☝️ That is the broadcast exactly as users will see it")
    assert "It goes to 3 users who take nudges right now." in offer.text
    assert "less than a minute, using at most a third of the send rate" in offer.text
    assert offer.buttons == [["📣 Send to 3 users", "Cancel"]]
    assert await broadcast_rows(bot) == []  # nothing is queued before Send

    # A double press: both taps arrive before the first is answered.
    first = await admin.press("📣 Send to 3 users", message=offer)
    second = await admin.press("📣 Send to 3 users", message=offer)
    for update in (first, second):
        query_id = update["callback_query"]["id"]
        await admin.wait_for(lambda query_id=query_id: bot.telegram.is_answered(query_id))
    assert sorted(admin.toasts) == ["Already queued: it's on its way.", "Confirmed: queueing now."]
    assert (await queued(admin)).text == (
        "📣 Broadcast #1 is queued for 3 users. It goes out over less than a minute; "
        "send /broadcast to see how far it got."
    )
    # The tap was answered at once with "queueing", before the rows were added.
    assert [version.text for version in offer.edits][1:] == [
        "📣 Broadcast #1: queueing it for 3 users…"
    ]
    assert admin.messages[-1].buttons == []
    rows = await broadcast_rows(bot)
    assert sorted(row.user_id for row in rows) == list(ACTIVE)
    gaps = [(b.due_at - a.due_at).total_seconds() for a, b in itertools.pairwise(rows)]
    assert all(gap >= 3 / 29 - 1e-6 for gap in gaps)  # at most a third of 29 a second

    await deliver(bot)
    await deliver(bot)
    for user_id in ACTIVE:
        assert received(bot.telegram.user(user_id)) == 1
        assert not bot.telegram.user(user_id).messages[-1].entities  # plain text
    for user_id in (14, 15, 16):  # paused, blocked, mid-screen
        assert received(bot.telegram.user(user_id)) == 0

    status = await ask(admin, "/broadcast")
    assert status.text.startswith(
        "📣 Last broadcast, #1, confirmed 02 Mar 02:00 UTC for 3 users: finished.\n"
        "• sent: 3\n• waiting to go out: 0\n• not sent, no longer taking nudges: 0\n"
        "• failed: 0\n"
    )
    assert status.text.endswith(broadcasting.USAGE)


async def test_users_who_stop_taking_nudges_after_send_do_not_get_it(bot: RunningBot) -> None:
    admin, (_, offer) = await preview(bot)
    await send(admin, offer)
    leaver = bot.telegram.user(ACTIVE[2])
    assert (await ask(leaver, "/pause 2")).text.startswith("Nudges paused until")
    await deliver(bot)
    assert [received(bot.telegram.user(user_id)) for user_id in ACTIVE] == [1, 1, 0]
    status = await ask(admin, "/broadcast")
    assert "• sent: 2\n" in status.text and "• not sent, no longer taking nudges: 1\n" in (
        status.text
    )


async def test_cancel_queues_nothing(bot: RunningBot) -> None:
    admin, (_, offer) = await preview(bot)
    cancelled = await admin.tap("Cancel", message=offer)
    assert cancelled.text == "Cancelled: broadcast #1 was not sent to anyone."
    assert cancelled.buttons == []
    await forged_press(bot.telegram, admin, "bc:1:send")  # a stale Send after Cancel
    assert admin.toasts == ["Cancelled.", "This broadcast was cancelled."]
    await deliver(bot)
    assert await broadcast_rows(bot) == []
    assert all(received(bot.telegram.user(user_id)) == 0 for user_id in ACTIVE)
    status = await ask(admin, "/broadcast")
    assert status.text == f"No broadcast has been sent yet.\n\n{broadcasting.USAGE}"


async def test_too_long_is_refused_and_the_limit_itself_is_fine(bot: RunningBot) -> None:
    admin = bot.telegram.user(ADMIN, "Op")
    refusal = await ask(admin, "/broadcast " + "a" * 4095 + "🙏")  # 4,096 code points
    assert refusal.text == (
        "That message is 4,097 characters long (most emoji count as two); Telegram allows "
        "4,096 in one message. Please shorten it by 1 and send /broadcast again."
    )
    assert await broadcasts(bot) == []
    _, (shown, offer) = await preview(bot, "b" * 4096)
    assert shown.text == "b" * 4096
    assert offer.buttons == [["📣 Send to 3 users", "Cancel"]]


async def test_a_restart_after_downtime_sends_the_rest_once(
    database_url: str, tmp_path: Path
) -> None:
    clock = FakeClock(NIGHT)
    telegram = LocalTelegram(clock=clock)
    admins = frozenset({ADMIN})
    everyone = (*ACTIVE, 17, 18, 19)
    async with running_bot(
        database_url, tmp_path, telegram=telegram, clock=clock, admin_ids=admins
    ) as bot:
        for user_id in everyone[3:]:
            await active_user(bot, user_id)
        for user_id in ACTIVE:
            await active_user(bot, user_id)
        admin, (_, offer) = await preview(bot)
        assert offer.buttons[0][0] == "📣 Send to 6 users"
        await send(admin, offer)
        await deliver(bot, 0.25)  # due at +0, +0.10 and +0.21 s: the first three
        counts = [received(telegram.user(user_id)) for user_id in sorted(everyone)]
        assert counts == [1, 1, 1, 0, 0, 0]
    clock.advance(timedelta(hours=2))  # down for two hours
    async with running_bot(
        database_url, tmp_path, telegram=telegram, clock=clock, admin_ids=admins
    ) as bot:
        rows = await broadcast_rows(bot)
        assert all(row.state is not NudgeState.MISSED for row in rows)
        waiting = [row.due_at for row in rows if row.state is NudgeState.SCHEDULED]
        assert len(waiting) == 3 and min(waiting) == clock.now()  # moved up, spacing kept
        await deliver(bot)
        await deliver(bot)
        assert [received(telegram.user(user_id)) for user_id in everyone] == [1] * 6
        async with bot.runtime.sessions() as session:
            states = await session.execute(
                select(Nudge.state, func.count())
                .where(Nudge.kind == NudgeKind.BROADCAST)
                .group_by(Nudge.state)
            )
            assert dict(states.all()) == {NudgeState.SENT: 6}


async def test_an_interrupted_send_finishes_queueing_at_the_next_start(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(NIGHT)
    telegram = LocalTelegram(clock=clock)
    admins = frozenset({ADMIN})
    monkeypatch.setattr(broadcasting, "QUEUE_BATCH", 2)
    async with running_bot(
        database_url, tmp_path, telegram=telegram, clock=clock, admin_ids=admins
    ) as bot:
        for user_id in (*ACTIVE, 17, 18):
            await active_user(bot, user_id)
        admin, _ = await preview(bot)
        # Send, as if the process died after the first batch of two.
        now = clock.now()
        async with bot.runtime.sessions.begin() as session:
            draft = await session.get(Broadcast, 1)
            assert draft is not None
            draft.state, draft.queued_at, draft.next_due_at = BroadcastState.QUEUEING, now, now
            await broadcasting._queue_batch(session, draft, now, 29.0)
        assert len(await broadcast_rows(bot)) == 2
    async with running_bot(
        database_url, tmp_path, telegram=telegram, clock=clock, admin_ids=admins
    ) as bot:
        [finished] = await broadcasts(bot)
        assert (finished.state, finished.recipients) == (BroadcastState.QUEUED, 5)
        rows = await broadcast_rows(bot)
        assert sorted(row.user_id for row in rows) == sorted((*ACTIVE, 17, 18))
        assert [row.due_at for row in rows] == sorted(row.due_at for row in rows)
        await forged_press(telegram, admin, "bc:1:send")  # its old Send button
        assert admin.toasts[-1] == "Already queued: it's on its way."
        await deliver(bot)
        assert [received(telegram.user(u)) for u in (*ACTIVE, 17, 18)] == [1] * 5
