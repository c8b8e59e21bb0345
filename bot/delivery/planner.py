"""Keeping each active user's next nudge in the outbox, and their weekly summary.

The database is the source of truth: every active user has exactly one scheduled nudge
row (their next one) and one scheduled weekly summary. When a nudge is sent, skipped or
missed, the next one is computed from the user's rhythm; when settings change, the
pending one is replaced at once. Work therefore grows with what is due, not with users.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Nudge, NudgeKind, NudgeState, Report, User, UserSettings, UserState
from bot.delivery.timing import Rhythm, next_nudge_at

# Unanswered nudges in a row before the fatigue guard spaces nudges out, and by how much.
FATIGUE_AFTER = 3
FATIGUE_SPACING = 2.0
# How far levelling may push a nudge when its minute is full.
MAX_LEVELLING_MINUTES = 120
MORNING_CHECK_LOOKS_BACK = timedelta(days=2)
WEEKLY_SUMMARY_DAY = 0  # Monday, local
WEEKLY_SUMMARY_DELAY = timedelta(minutes=5)  # after the window opens


def per_minute(rate: float) -> int:
    """How many messages a minute the schedule may hold (a little under the send rate)."""
    return max(1, int(rate * 60))


def rhythm_of(settings: UserSettings) -> Rhythm:
    """The user's nudge rhythm from their settings."""
    return Rhythm(
        timezone=settings.timezone,
        window_start=settings.window_start,
        window_end=settings.window_end,
        every_minutes=settings.nudge_interval_minutes,
        weekends=settings.weekends,
        paused_until=settings.paused_until,
    )


def schedulable(user: User) -> bool:
    """Active users get nudges; paused ones too, from the end of a dated pause."""
    if user.state is UserState.PAUSED:
        return user.settings.paused_until is not None
    return user.state is UserState.ACTIVE


def may_send(user: User, now: datetime) -> bool:
    """Whether a message may go to this user right now (checked again just before sending)."""
    if user.state is UserState.PAUSED:
        until = user.settings.paused_until
        return until is not None and until <= now
    return user.state is UserState.ACTIVE


def fatigued(settings: UserSettings) -> bool:
    """True while the fatigue guard is spacing this user's nudges out."""
    return settings.unanswered_streak >= FATIGUE_AFTER


def rng_for(user_id: int, moment: datetime) -> random.Random:
    """Jitter that is random across users but repeatable for one user and moment."""
    return random.Random(f"{user_id}:{moment.isoformat()}")


async def minute_load(session: AsyncSession, minute: datetime) -> int:
    """How many messages are already scheduled in the minute starting at `minute`."""
    count = await session.scalar(
        select(func.count())
        .select_from(Nudge)
        .where(
            Nudge.state == NudgeState.SCHEDULED,
            Nudge.due_at >= minute,
            Nudge.due_at < minute + timedelta(minutes=1),
        )
    )
    return int(count or 0)


async def level(session: AsyncSession, due: datetime, per_minute: int) -> datetime:
    """`due`, or the same second of a later minute when its minute is already full.

    Keeps every minute within what the bot may send, so a crowd of users whose windows
    open at 09:00 is spread out instead of queueing behind the rate limit.
    """
    for _ in range(MAX_LEVELLING_MINUTES):
        minute = due.replace(second=0, microsecond=0)
        if await minute_load(session, minute) < per_minute:
            return due
        due += timedelta(minutes=1)
    return due


async def cancel_pending(
    session: AsyncSession, user_id: int, kinds: tuple[NudgeKind, ...] = tuple(NudgeKind)
) -> None:
    """Cancel the user's scheduled messages of these kinds (sent ones stay as they are)."""
    await session.execute(
        update(Nudge)
        .where(
            Nudge.user_id == user_id,
            Nudge.state == NudgeState.SCHEDULED,
            Nudge.kind.in_(kinds),
        )
        .values(state=NudgeState.CANCELLED)
        .execution_options(synchronize_session=False)
    )


async def schedule_next_nudge(
    session: AsyncSession, user: User, after: datetime, now: datetime, per_minute: int
) -> Nudge | None:
    """Replace the user's pending nudge with the next one after `after`; None if inactive."""
    await cancel_pending(session, user.id, (NudgeKind.NUDGE,))
    if not schedulable(user):
        return None
    settings = user.settings
    spacing = FATIGUE_SPACING if fatigued(settings) else 1.0
    due = next_nudge_at(rhythm_of(settings), after, rng_for(user.id, after), spacing=spacing)
    nudge = Nudge(
        user_id=user.id,
        due_at=await level(session, due, per_minute),
        state=NudgeState.SCHEDULED,
        kind=NudgeKind.NUDGE,
        created_at=now,
    )
    session.add(nudge)
    return nudge


def next_weekly_summary_at(
    settings: UserSettings, after: datetime, rng: random.Random | None = None
) -> datetime:
    """The next Monday (local), somewhere in the nudge window.

    Spread over the window (with `rng`) so a crowd's summaries, each with a chart to draw,
    do not all fall due in the same second.
    """
    zone = ZoneInfo(settings.timezone)
    local = after.astimezone(zone)
    days = (WEEKLY_SUMMARY_DAY - local.weekday()) % 7 or 7
    day: date = local.date() + timedelta(days=days)
    opens = time(settings.window_start // 60, settings.window_start % 60)
    length = max(settings.window_end - settings.window_start, 1)
    spread = timedelta(minutes=rng.uniform(0, length * 0.8)) if rng else timedelta(0)
    moment = datetime.combine(day, opens, tzinfo=zone) + WEEKLY_SUMMARY_DELAY + spread
    return moment.astimezone(ZoneInfo("UTC"))


async def schedule_weekly_summary(
    session: AsyncSession, user: User, after: datetime, now: datetime
) -> None:
    """Make sure the user has their next weekly summary scheduled."""
    await cancel_pending(session, user.id, (NudgeKind.WEEKLY_SUMMARY,))
    if not schedulable(user):
        return
    session.add(
        Nudge(
            user_id=user.id,
            due_at=next_weekly_summary_at(user.settings, after, rng_for(user.id, after)),
            state=NudgeState.SCHEDULED,
            kind=NudgeKind.WEEKLY_SUMMARY,
            created_at=now,
        )
    )


def next_morning_at(settings: UserSettings, after: datetime) -> datetime:
    """The next local morning, when the user's window opens (weekends too)."""
    zone = ZoneInfo(settings.timezone)
    day = after.astimezone(zone).date() + timedelta(days=1)
    opens = time(settings.window_start // 60, settings.window_start % 60)
    return datetime.combine(day, opens, tzinfo=zone).astimezone(ZoneInfo("UTC"))


async def schedule_morning_check(session: AsyncSession, user: User, now: datetime) -> None:
    """Ask tomorrow morning how the spot that hurt feels (once, however many reports)."""
    pending = await session.scalar(
        select(Nudge.id).where(
            Nudge.user_id == user.id,
            Nudge.kind == NudgeKind.MORNING_CHECK,
            Nudge.state == NudgeState.SCHEDULED,
        )
    )
    if pending is not None or not schedulable(user):
        return
    session.add(
        Nudge(
            user_id=user.id,
            due_at=next_morning_at(user.settings, now),
            state=NudgeState.SCHEDULED,
            kind=NudgeKind.MORNING_CHECK,
            created_at=now,
        )
    )


async def awaiting_morning_check(
    session: AsyncSession, user_id: int, now: datetime
) -> Report | None:
    """The latest report of the last two days that hurt and has no morning score yet."""
    return await session.scalar(
        select(Report)
        .where(
            Report.user_id == user_id,
            Report.pain_during > 0,
            Report.pain_next_morning.is_(None),
            Report.created_at >= now - MORNING_CHECK_LOOKS_BACK,
        )
        .order_by(Report.created_at.desc())
        .limit(1)
    )


async def start_nudging(session: AsyncSession, user: User, now: datetime, per_minute: int) -> None:
    """Schedule the first nudge and weekly summary for a user who just became active."""
    await schedule_next_nudge(session, user, now, now, per_minute)
    await schedule_weekly_summary(session, user, now, now)


async def stop_nudging(session: AsyncSession, user: User) -> None:
    """Cancel everything scheduled for the user."""
    await cancel_pending(session, user.id)
