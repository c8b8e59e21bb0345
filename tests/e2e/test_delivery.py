"""Nudges through the day, on a fake clock, through the local Telegram: what users receive."""

from __future__ import annotations

import collections
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.db.models import Nudge, NudgeKind, NudgeState, Report, UserState
from bot.db.repo import get_user
from bot.localtelegram import LocalUser
from bot.localtelegram.chat import ChatMessage
from tests.e2e.harness import RunningBot, active_user, forged_press, run_clock, running_bot
from tests.e2e.test_onboarding import TO_THE_MOMENTS, begin, finish_screen, tap_through

# Monday 2 March 2026, 06:00 UTC = 07:00 in Berlin.
MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def local_times(user: LocalUser, zone: str) -> list[datetime]:
    """When each bot message reached the user, in their local time."""
    return [datetime.fromtimestamp(message.date, ZoneInfo(zone)) for message in user.messages]


async def tap_through_on(user: LocalUser, message: ChatMessage, labels: list[str]) -> ChatMessage:
    for label in labels:
        message = await user.tap(label, message=message)
    return message


def nudges_of(user: LocalUser) -> list[ChatMessage]:
    """The nudges the user received (each carries its cues as bullet points)."""
    return [m for m in user.messages if "\n• " in (m.text or "")]


@pytest.fixture
async def monday_bot(sqlite_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Behaviour tests run on SQLite; claims and storage run on both backends elsewhere."""
    async with running_bot(sqlite_url, tmp_path, clock=FakeClock(MONDAY)) as bot:
        yield bot


async def test_a_confirmed_screen_leads_to_nudges_in_the_window(
    database_url: str, tmp_path: Path
) -> None:
    async with running_bot(database_url, tmp_path, clock=FakeClock(MONDAY)) as bot:
        await _screen_then_nudges(bot)


async def _screen_then_nudges(bot: RunningBot) -> None:
    user = await begin(bot)
    await tap_through(user, TO_THE_MOMENTS)
    await finish_screen(user)  # Berlin, 09:00-18:00, every hour (about 9 hours sitting)
    before = len(user.messages)
    await run_clock(bot, MONDAY + timedelta(hours=13), step=timedelta(minutes=2), engaged=user)
    arrived = user.messages[before:]
    times = [datetime.fromtimestamp(m.date, ZoneInfo("Europe/Berlin")) for m in arrived]
    assert 7 <= len(arrived) <= 11, [t.time() for t in times]
    assert all(9 <= t.hour < 18 for t in times)
    for message in arrived:
        first_line = message.edits[0].text if message.edits else message.text
        assert "•" in first_line  # the cues come with the action
        assert message.text.endswith("No problem. I'll catch you at the next one.")


async def test_window_frequency_and_weekends(monday_bot: RunningBot) -> None:
    bot = monday_bot
    user = await active_user(bot, 11, window=(8 * 60, 12 * 60), every=30, weekends=False)
    await run_clock(
        bot, MONDAY + timedelta(days=7, hours=4), step=timedelta(minutes=10), engaged=user
    )
    nudges = [datetime.fromtimestamp(m.date, ZoneInfo("Europe/Berlin")) for m in nudges_of(user)]
    assert {t.weekday() for t in nudges} <= {0, 1, 2, 3, 4}  # weekends off
    # Due inside 08:00-12:00; sent at the next 10-minute tick of this test.
    assert all(8 * 60 <= t.hour * 60 + t.minute <= 12 * 60 + 10 for t in nudges)
    per_day = [sum(1 for t in nudges if t.day == day) for day in range(2, 7)]  # 2-6 March
    assert all(6 <= count <= 9 for count in per_day), per_day  # 4 hours every ~30 minutes
    summary = [m for m in user.messages if (m.caption or "").startswith("Your week")]
    assert len(summary) == 1


@pytest.mark.parametrize(
    ("zone", "night", "real_hours"),
    [
        ("Europe/Berlin", datetime(2026, 3, 29), 2.0),  # 02:00 -> 03:00
        ("Europe/Berlin", datetime(2026, 10, 25), 4.0),  # 03:00 -> 02:00
        ("America/New_York", datetime(2026, 3, 8), 2.0),
        ("America/New_York", datetime(2026, 11, 1), 4.0),
        ("Australia/Lord_Howe", datetime(2026, 4, 5), 3.5),  # 02:00 -> 01:30
        ("Australia/Lord_Howe", datetime(2026, 10, 4), 2.5),  # 02:00 -> 02:30
        ("Asia/Kolkata", datetime(2026, 3, 29), 3.0),  # no DST
    ],
)
async def test_a_night_window_across_a_dst_change(
    sqlite_url: str, tmp_path: Path, zone: str, night: datetime, real_hours: float
) -> None:
    tz = ZoneInfo(zone)
    start = night.replace(tzinfo=tz) - timedelta(hours=1)  # 23:00 the evening before
    async with running_bot(sqlite_url, tmp_path, clock=FakeClock(start.astimezone(UTC))) as bot:
        user = await active_user(
            bot, 21, timezone=zone, window=(60, 4 * 60), every=30, weekends=True
        )
        until = (night + timedelta(hours=7)).replace(tzinfo=tz).astimezone(UTC)
        await run_clock(bot, until, engaged=user)
        moments = [datetime.fromtimestamp(m.date, UTC) for m in nudges_of(user)]
    local = [m.astimezone(tz) for m in moments]
    assert all(m.date() == night.date() for m in local)
    assert all(1 <= m.hour < 4 for m in local)  # never in the window's missing or extra hour
    assert moments == sorted(set(moments))  # strictly in order, none twice
    # A 01:00-04:00 window lasts 3 hours on a normal night and longer or shorter across a
    # change; the nudges follow the real length (about every 30 minutes).
    expected = real_hours * 2
    assert expected - 2 <= len(moments) <= expected + 1, [m.time() for m in local]


async def test_snooze_brings_the_same_nudge_back_later(monday_bot: RunningBot) -> None:
    bot = monday_bot
    user = await active_user(bot, 31)
    await run_clock(bot, MONDAY + timedelta(hours=5))  # 12:00 Berlin
    nudge = nudges_of(user)[-1]
    snoozed = await user.tap("⏰ 30 min", message=nudge)
    assert "⏰ Snoozed: I'll remind you in 30 min." in snoozed.text
    assert snoozed.buttons == []
    count = len(user.messages)
    await run_clock(bot, bot.clock.now() + timedelta(minutes=29))
    assert len(user.messages) == count
    await run_clock(bot, bot.clock.now() + timedelta(minutes=2))
    reminder = user.messages[-1]
    assert reminder.text.startswith("Reminder: " + nudge.text.split("\n")[0])
    assert reminder.buttons[0][0].startswith("✅ Done")
    # It is the same nudge: what it asked for is still on record (reports and /why use it).
    async with bot.runtime.sessions() as session:
        row = await session.scalar(
            select(Nudge).where(Nudge.telegram_message_id == reminder.message_id)
        )
    assert row is not None and row.exercise_id is not None
    assert row.text is not None and nudge.text.startswith(row.text.split("\n")[0])


async def test_skip_and_not_now_are_acknowledged_and_the_rhythm_goes_on(
    monday_bot: RunningBot,
) -> None:
    bot = monday_bot
    user = await active_user(bot, 32)
    await run_clock(bot, MONDAY + timedelta(hours=5))
    skipped = await user.tap("Skip this one", message=nudges_of(user)[-1])
    assert "Skipped. I'll pick something different next time." in skipped.text
    await run_clock(bot, bot.clock.now() + timedelta(hours=2))
    target = nudges_of(user)[-1]
    not_now = target.button_data[3][0]
    later = await user.tap("Not now", message=target)
    assert "No problem. I'll catch you at the next one." in later.text
    assert not_now is not None
    await forged_press(bot.telegram, user, not_now)  # the same button again, from a stale copy
    assert user.toasts[-1] == "Already noted."
    await run_clock(bot, bot.clock.now() + timedelta(hours=2))
    assert len(nudges_of(user)) >= 4


async def test_pause_for_days_then_nudges_return_by_themselves(monday_bot: RunningBot) -> None:
    bot = monday_bot
    user = await active_user(bot, 33, weekends=True)
    await user.send("/pause 2")
    assert (await user.next_reply()).text.startswith("Nudges paused until Wednesday 04 March")
    await run_clock(bot, MONDAY + timedelta(days=2), step=timedelta(minutes=10))
    assert nudges_of(user) == []
    await run_clock(bot, MONDAY + timedelta(days=2, hours=12), step=timedelta(minutes=10))
    assert nudges_of(user)
    assert local_times(user, "Europe/Berlin")[-1].day == 4
    async with bot.runtime.sessions() as session:
        stored = await get_user(session, 33)
    assert stored is not None and stored.state is UserState.ACTIVE


async def test_pause_until_resume(monday_bot: RunningBot) -> None:
    bot = monday_bot
    user = await active_user(bot, 34, weekends=True)
    await user.send("/pause")
    assert (await user.next_reply()).text.startswith("How long shall I pause?")
    await user.send("/pause next year sometime")
    assert (await user.next_reply()).text.startswith("Tell me how long")
    await user.send("/pause forever")
    assert (await user.next_reply()).text.startswith("Nudges paused until you send /resume")
    await run_clock(bot, MONDAY + timedelta(days=3), step=timedelta(minutes=15))
    assert nudges_of(user) == []
    await user.send("/resume")
    assert (await user.next_reply()).text == "Welcome back! Nudges are on again."
    await run_clock(bot, bot.clock.now() + timedelta(days=1), step=timedelta(minutes=10))
    assert nudges_of(user)


async def test_the_fatigue_guard_spaces_nudges_out_and_comes_back(monday_bot: RunningBot) -> None:
    bot = monday_bot
    user = await active_user(bot, 35, every=60, window=(8 * 60, 22 * 60))
    await run_clock(bot, MONDAY + timedelta(hours=6))  # 3 unanswered by 13:00 local
    nudges = nudges_of(user)
    assert len(nudges) >= 3
    assert "I'll nudge you less often" in nudges[2].text
    assert all("less often" not in n.text for n in nudges[:2])
    sent_before = len(nudges)
    await run_clock(bot, bot.clock.now() + timedelta(hours=4))
    spaced = nudges_of(user)[sent_before - 1 :]
    gaps = [b.date - a.date for a, b in itertools.pairwise(spaced)]
    assert gaps and all(gap >= 100 * 60 for gap in gaps)  # about every 2 hours now
    back = await user.tap("Not now", message=nudges_of(user)[-1])
    assert "back to your usual rhythm" in back.text
    last = nudges_of(user)[-1].date
    await run_clock(bot, bot.clock.now() + timedelta(minutes=75))
    assert nudges_of(user)[-1].date > last  # within about an hour again


async def test_done_and_pain_are_stored_and_tomorrow_morning_asks_again(
    monday_bot: RunningBot,
) -> None:
    bot = monday_bot
    user = await active_user(bot, 36)
    await run_clock(bot, MONDAY + timedelta(hours=4))
    nudge = nudges_of(user)[-1]
    reps_button = nudge.buttons[1][0]  # "Did N"
    logged = await user.tap(reps_button, message=nudge)
    assert "✅ Logged:" in logged.text and "Did it hurt?" in logged.text
    assert logged.buttons[0][:3] == ["0", "1", "2"]
    felt = await user.tap("3", message=logged)
    assert "pain 3/10" in felt.text and "tomorrow morning" in felt.text
    async with bot.runtime.sessions() as session:
        report = await session.scalar(select(Report).where(Report.user_id == 36))
    assert report is not None
    assert (report.reps, report.pain_during) == (int(reps_button.split()[1]), 3)

    await run_clock(bot, MONDAY + timedelta(days=1, hours=3, minutes=30), step=timedelta(minutes=5))
    check = next(m for m in user.messages if (m.text or "").startswith("Good morning!"))
    assert datetime.fromtimestamp(check.date, ZoneInfo("Europe/Berlin")).hour == 9
    answered = await user.tap("5", message=check)
    assert "more than the 3/10" in answered.text
    async with bot.runtime.sessions() as session:
        report = await session.scalar(select(Report).where(Report.user_id == 36))
    assert report is not None and report.pain_next_morning == 5


async def test_buttons_of_someone_elses_nudge_do_nothing(monday_bot: RunningBot) -> None:
    bot = monday_bot
    owner = await active_user(bot, 37)
    other = await active_user(bot, 38)
    await run_clock(bot, MONDAY + timedelta(hours=4))
    data = nudges_of(owner)[-1].button_data[0][0]
    assert data is not None
    query_id = bot.telegram.open_callback_query(other.chat, other.last)
    bot.telegram.push_update(
        "callback_query",
        {
            "id": query_id,
            "from": other.chat.user.as_user(),
            "message": other.last.to_api(),
            "chat_instance": "x",
            "data": data,
        },
    )
    await other.wait_for(lambda: bot.telegram.is_answered(query_id))
    assert other.toasts[-1] == "That button has expired."
    async with bot.runtime.sessions() as session:
        reports = await session.scalar(select(func.count()).select_from(Report))
    assert reports == 0


async def test_a_week_ends_with_a_summary(monday_bot: RunningBot) -> None:
    bot = monday_bot
    user = await active_user(bot, 39)
    await run_clock(bot, MONDAY + timedelta(hours=4))
    await user.tap(
        "✅ Done, all " + nudges_of(user)[-1].buttons[0][0].split()[-1], message=nudges_of(user)[-1]
    )
    await run_clock(bot, MONDAY + timedelta(days=7, hours=4), step=timedelta(minutes=10))
    summary = next(m for m in user.messages if (m.caption or "").startswith("Your week"))
    assert summary.caption is not None and summary.caption.startswith("Your week, Alex: 1 of ")
    assert "in a row" in summary.caption or "This week" in summary.caption  # the streak line
    assert summary.photo is not None and summary.photo.startswith(b"\x89PNG")  # the chart
    assert datetime.fromtimestamp(summary.date, ZoneInfo("Europe/Berlin")).weekday() == 0
    async with bot.runtime.sessions() as session:
        pending = await session.scalar(
            select(func.count())
            .select_from(Nudge)
            .where(
                Nudge.user_id == 39,
                Nudge.kind == NudgeKind.WEEKLY_SUMMARY,
                Nudge.state == NudgeState.SCHEDULED,
            )
        )
    assert pending == 1  # and the next one is on its way


async def test_settings_change_the_schedule_at_once(monday_bot: RunningBot) -> None:
    bot = monday_bot
    user = await active_user(bot, 90, window=(9 * 60, 18 * 60), every=60)
    await user.send("/settings")
    overview = await user.next_reply()
    assert "• Nudges: weekdays, 09:00-18:00 your time, about every hour" in overview.text
    assert "• Next nudge: today around 09:" in overview.text

    hours = await user.tap("Hours and rhythm", message=overview)
    hours = await tap_through_on(user, hours, ["Start later", "Start later", "Less often"])
    assert "weekdays, 11:00-18:00 your time, about every 75 minutes" in hours.text
    await user.send("12-20 every 2 hours weekends too")
    typed = await user.next_reply()
    assert "every day, 12:00-20:00 your time, about every 2 hours" in typed.text
    back = await user.tap("« Back", message=typed)
    assert "• Next nudge: today around 12:" in back.text  # the pending nudge moved with it

    zone = await user.tap("Time zone", message=back)
    assert zone.text.startswith("Type your city")
    await user.send("Lisbon")
    choices = await user.next_reply()
    assert choices.buttons[0][0].startswith("Lisbon, Portugal · ")
    saved = await user.tap(choices.buttons[0][0], message=choices)
    assert saved.text.startswith("Time zone saved: Europe/Lisbon.")

    moments = await user.tap("Moments", message=saved)
    moments = await user.tap("Taking the stairs", message=moments)
    assert ["✅ Taking the stairs"] in moments.buttons
    done = await user.tap("Done", message=moments)
    assert "• Moments: getting up from my chair, taking the stairs" in done.text
    await user.tap("Done", message=done)

    async with bot.runtime.sessions() as session:
        stored = await get_user(session, 90)
        due = await session.scalar(
            select(Nudge.due_at).where(
                Nudge.user_id == 90,
                Nudge.kind == NudgeKind.NUDGE,
                Nudge.state == NudgeState.SCHEDULED,
            )
        )
    assert stored is not None and due is not None
    settings = stored.settings
    assert (settings.timezone, settings.window_start, settings.window_end) == (
        "Europe/Lisbon",
        12 * 60,
        20 * 60,
    )
    assert (settings.nudge_interval_minutes, settings.weekends) == (120, True)
    assert settings.anchors == ["standing_up", "stairs"]
    assert 12 <= due.astimezone(ZoneInfo("Europe/Lisbon")).hour < 20
    await user.send("/settings nonsense")  # a stray argument changes nothing
    assert (await user.next_reply()).text.startswith("Your settings:")


async def test_settings_wait_for_a_programme(monday_bot: RunningBot) -> None:
    user = monday_bot.telegram.user(91, "New")
    await user.send("/settings")
    assert (await user.next_reply()).text.startswith("Settings come once your programme")


async def test_levelling_keeps_every_minute_within_the_send_rate(monday_bot: RunningBot) -> None:
    """A crowd whose windows all open at 09:00 is spread so no minute is over capacity."""
    bot = monday_bot
    from bot.db.repo import upsert_user
    from bot.delivery import planner

    now = bot.clock.now()
    async with bot.runtime.sessions.begin() as session:
        for n in range(60):
            user, _ = await upsert_user(
                session,
                user_id=3000 + n,
                chat_id=3000 + n,
                first_name="P",
                username=None,
                language_code=None,
                now=now,
            )
            user.settings.focus = "activation"
            user.settings.timezone = "Europe/Berlin"
            user.state = UserState.ACTIVE
            await planner.schedule_next_nudge(session, user, now, now, per_minute=5)
    async with bot.runtime.sessions() as session:
        dues = (await session.scalars(select(Nudge.due_at))).all()
    per_minute = collections.Counter(due.replace(second=0, microsecond=0) for due in dues)
    assert max(per_minute.values()) <= 5
    assert len(dues) == 60
