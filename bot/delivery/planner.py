"""Keeping each active user's next nudge in the outbox, and their weekly summary.

The database is the source of truth: every active user has exactly one scheduled nudge
row (their next one) and one scheduled weekly summary. When a nudge is sent, skipped or
missed, the next one is computed from the user's rhythm; when settings change, the
pending one is replaced at once. Work therefore grows with what is due, not with users.
"""

from __future__ import annotations

import random
import time as timer
from collections.abc import Callable, Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Nudge, NudgeKind, NudgeState, Report, User, UserSettings, UserState
from bot.delivery.outbox import Preferences, Recipient
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


def rhythm_of(settings: UserSettings | Preferences) -> Rhythm:
    """The user's nudge rhythm from their settings."""
    return Rhythm(
        timezone=settings.timezone,
        window_start=settings.window_start,
        window_end=settings.window_end,
        every_minutes=settings.nudge_interval_minutes,
        weekends=settings.weekends,
        paused_until=settings.paused_until,
    )


def schedulable(user: User | Recipient) -> bool:
    """Active users get nudges; paused ones too, from the end of a dated pause."""
    if user.state is UserState.PAUSED:
        return user.settings.paused_until is not None
    return user.state is UserState.ACTIVE


def may_send(user: User | Recipient, now: datetime) -> bool:
    """Whether a message may go to this user right now (checked again just before sending)."""
    if user.state is UserState.PAUSED:
        until = user.settings.paused_until
        return until is not None and until <= now
    return user.state is UserState.ACTIVE


def fatigued(settings: UserSettings | Preferences) -> bool:
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


class MinuteBook:
    """How full each minute of the schedule is: counted in the database, then kept in memory.

    The dispatcher reschedules up to the whole send rate every minute; counting a minute's
    load again for every nudge would cost a query a message. A count older than `keep_for`
    seconds is taken again, so what handlers and other dispatchers scheduled meanwhile is
    seen; `keep_for=0` counts every time.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        keep_for: float = 60.0,
        monotonic: Callable[[], float] = timer.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.keep_for = keep_for
        self._monotonic = monotonic
        self._counts: dict[datetime, tuple[int, float]] = {}

    async def level(self, session: AsyncSession, due: datetime) -> datetime:
        """`due`, or the same second of the first later minute with room; books the place."""
        for _ in range(MAX_LEVELLING_MINUTES):
            minute = due.replace(second=0, microsecond=0)
            count, counted_at = await self._count(session, minute)
            if count < self.per_minute:
                self._counts[minute] = (count + 1, counted_at)
                return due
            due += timedelta(minutes=1)
        return due

    async def _count(self, session: AsyncSession, minute: datetime) -> tuple[int, float]:
        now = self._monotonic()
        known = self._counts.get(minute)
        if known is None or now - known[1] >= self.keep_for:
            if len(self._counts) > 10_000:  # forget what is too old to be used again
                self._counts = {m: c for m, c in self._counts.items() if now - c[1] < self.keep_for}
            known = (await minute_load(session, minute), now)
            self._counts[minute] = known
        return known


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
    session: AsyncSession,
    user: User,
    after: datetime,
    now: datetime,
    per_minute: int,
    book: MinuteBook | None = None,
) -> Nudge | None:
    """Replace the user's pending nudge with the next one after `after`; None if inactive."""
    await cancel_pending(session, user.id, (NudgeKind.NUDGE,))
    return await _add_next_nudge(
        session, user, after, now, book or MinuteBook(per_minute, keep_for=0)
    )


async def schedule_next_nudges(
    session: AsyncSession,
    moments: dict[int, tuple[Recipient, datetime]],
    now: datetime,
    book: MinuteBook,
    *,
    unanswered: Collection[int] = (),
) -> None:
    """Schedule the next nudge of each user who has none waiting: {user id: (user, after)}.

    For the dispatcher after a batch, with the users as it claimed them: someone a handler
    rescheduled meanwhile keeps that newer nudge, and a deleted user gets nothing. Users in
    `unanswered` were just sent a nudge: the fatigue guard counts it already.
    """
    skip = await _waiting_or_not_taking(session, moments, NudgeKind.NUDGE)
    rows = []
    for user, after in moments.values():
        if user.id in skip:
            continue
        streak = user.settings.unanswered_streak + (user.id in unanswered)
        due = next_due(user, after, streak)
        if due is not None:
            rows.append(
                {
                    "user_id": user.id,
                    "due_at": await book.level(session, due),
                    "state": NudgeState.SCHEDULED,
                    "kind": NudgeKind.NUDGE,
                    "created_at": now,
                    "attempts": 0,
                }
            )
    if rows:  # one statement; the new rows' ids are not needed
        await session.execute(insert(Nudge), rows)


async def _waiting_or_not_taking(
    session: AsyncSession, moments: dict[int, tuple[Recipient, datetime]], kind: NudgeKind
) -> set[int]:
    """Of these users, those who have a message of this kind waiting, or who no longer take
    messages: deleted, or since the claim paused without a date, stopped, referred, blocked
    (`schedulable`, read now: the users in `moments` are as they were claimed)."""
    if not moments:
        return set()
    waiting = await session.scalars(
        select(Nudge.user_id).where(
            Nudge.user_id.in_(moments), Nudge.state == NudgeState.SCHEDULED, Nudge.kind == kind
        )
    )
    taking = await session.scalars(
        select(User.id)
        .join(UserSettings, UserSettings.user_id == User.id)
        .where(
            User.id.in_(moments),
            or_(
                User.state == UserState.ACTIVE,
                and_(User.state == UserState.PAUSED, UserSettings.paused_until.is_not(None)),
            ),
        )
    )
    return set(waiting) | (set(moments) - set(taking))


async def record_sent(session: AsyncSession, nudge_ids: list[int], users: list[Recipient]) -> None:
    """After sending: one more unanswered nudge each (unless answered already), pauses end."""
    if nudge_ids:
        unanswered = select(Nudge.user_id).where(
            Nudge.id.in_(nudge_ids),
            Nudge.kind == NudgeKind.NUDGE,
            Nudge.responded_at.is_(None),
        )
        await session.execute(
            update(UserSettings)
            .where(UserSettings.user_id.in_(unanswered))
            .values(unanswered_streak=UserSettings.unanswered_streak + 1)
            .execution_options(synchronize_session=False)
        )
    # The first message after a dated pause ends it.
    paused = [user.id for user in users if user.state is UserState.PAUSED]
    if paused:
        still_paused = select(User.id).where(User.id.in_(paused), User.state == UserState.PAUSED)
        await session.execute(
            update(UserSettings)
            .where(UserSettings.user_id.in_(still_paused))
            .values(paused_until=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(User)
            .where(User.id.in_(paused), User.state == UserState.PAUSED)
            .values(state=UserState.ACTIVE)
            .execution_options(synchronize_session=False)
        )


def next_due(
    user: User | Recipient, after: datetime, unanswered: int | None = None
) -> datetime | None:
    """When the user's next nudge after `after` falls (before levelling); None if inactive.

    `unanswered` overrides the stored count of unanswered nudges in a row.
    """
    if not schedulable(user):
        return None
    settings = user.settings
    streak = settings.unanswered_streak if unanswered is None else unanswered
    spacing = FATIGUE_SPACING if streak >= FATIGUE_AFTER else 1.0
    return next_nudge_at(rhythm_of(settings), after, rng_for(user.id, after), spacing=spacing)


async def _add_next_nudge(
    session: AsyncSession, user: User, after: datetime, now: datetime, book: MinuteBook
) -> Nudge | None:
    due = next_due(user, after)
    if due is None:
        return None
    nudge = Nudge(
        user_id=user.id,
        due_at=await book.level(session, due),
        state=NudgeState.SCHEDULED,
        kind=NudgeKind.NUDGE,
        created_at=now,
    )
    session.add(nudge)
    return nudge


def next_weekly_summary_at(
    settings: UserSettings | Preferences, after: datetime, rng: random.Random | None = None
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
    """Make sure the user has their next weekly summary scheduled (replacing any pending)."""
    await cancel_pending(session, user.id, (NudgeKind.WEEKLY_SUMMARY,))
    if schedulable(user):
        session.add(_weekly_summary(user, after, now))


async def schedule_weekly_summaries(
    session: AsyncSession, moments: dict[int, tuple[Recipient, datetime]], now: datetime
) -> None:
    """Schedule the next weekly summary of each user who has none waiting (see above)."""
    skip = await _waiting_or_not_taking(session, moments, NudgeKind.WEEKLY_SUMMARY)
    session.add_all(
        _weekly_summary(user, after, now)
        for user, after in moments.values()
        if user.id not in skip and schedulable(user)
    )


def _weekly_summary(user: User | Recipient, after: datetime, now: datetime) -> Nudge:
    return Nudge(
        user_id=user.id,
        due_at=next_weekly_summary_at(user.settings, after, rng_for(user.id, after)),
        state=NudgeState.SCHEDULED,
        kind=NudgeKind.WEEKLY_SUMMARY,
        created_at=now,
    )


async def unscheduled_users(session: AsyncSession, kind: NudgeKind) -> list[int]:
    """Users who should have a message of this kind in the outbox and have none.

    Only a crash between sending a message and scheduling the user's next one leaves such
    a gap; the dispatcher closes it when it starts and then now and again.
    """
    pending = select(Nudge.user_id).where(
        Nudge.state.in_((NudgeState.SCHEDULED, NudgeState.CLAIMED)), Nudge.kind == kind
    )
    query = (
        select(User.id)
        .join(UserSettings, UserSettings.user_id == User.id)
        .where(
            or_(
                User.state == UserState.ACTIVE,
                and_(User.state == UserState.PAUSED, UserSettings.paused_until.is_not(None)),
            ),
            User.id.not_in(pending),
        )
    )
    return list((await session.scalars(query)).all())


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
