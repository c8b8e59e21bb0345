"""A synthetic population of active Glutebot users, written to a database in bulk.

Every user is made from their id alone (same id, same person), so the delivery benchmark
and the one-job-per-reminder comparison schedule the same people. Rows go in through
SQLAlchemy Core in large batches; the first nudge of each user is computed with the bot's
own `next_nudge_at` and levelled exactly as `planner.MinuteBook` does, in memory.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.models import Nudge, NudgeKind, NudgeState, User, UserSettings, UserState
from bot.delivery import planner
from bot.delivery.planner import per_minute
from bot.delivery.timing import Rhythm, next_nudge_at, nudges_per_day
from content import Track, load_library

FIRST_USER_ID = 10_000_001
NUDGES_A_DAY = 8
DEFAULT_RATE = 29.0  # Settings.nudges_per_second's default
# Where the users live: Europe-heavy, with every continent and the odd offsets
# (+5:45, +10:30, -3:30) that catch whole-hour assumptions.
ZONES: tuple[tuple[str, int], ...] = (
    ("Europe/Berlin", 14),
    ("Europe/London", 10),
    ("Europe/Paris", 8),
    ("Europe/Madrid", 6),
    ("Europe/Warsaw", 5),
    ("Europe/Kyiv", 3),
    ("Europe/Moscow", 3),
    ("America/New_York", 10),
    ("America/Chicago", 5),
    ("America/Denver", 2),
    ("America/Los_Angeles", 6),
    ("America/Mexico_City", 2),
    ("America/Sao_Paulo", 4),
    ("America/St_Johns", 1),
    ("Asia/Kolkata", 5),
    ("Asia/Kathmandu", 1),
    ("Asia/Dubai", 2),
    ("Asia/Singapore", 2),
    ("Asia/Shanghai", 2),
    ("Asia/Tokyo", 3),
    ("Australia/Adelaide", 1),
    ("Australia/Sydney", 3),
    ("Pacific/Auckland", 1),
    ("Africa/Lagos", 1),
    ("Africa/Johannesburg", 1),
)
WINDOW_STARTS = (7 * 60 + 30, 8 * 60, 8 * 60 + 30, 9 * 60)
WINDOW_ENDS = (17 * 60, 17 * 60 + 30, 18 * 60, 18 * 60 + 30)
ANCHORS = ("standing_up", "kettle", "stairs", "bathroom", "brushing_teeth")
EQUIPMENT = ((), (), ("band",), ("band", "dumbbell"))
FOCUSES = (
    Track.ACTIVATION,
    Track.ACTIVATION,
    Track.HIP_EXTENSION,
    Track.ROTATION_ABDUCTION,
    Track.STRENGTH,
)
BATCH = 5_000
# Sent nudges kept per user: one day holds the picker's last few (RECENT_WINDOW = 4); the
# outbox reads three days back, so --history-days 3 is the steady state, at 2.5x the seed time.
HISTORY_DAYS = 1


@dataclass(frozen=True)
class Person:
    """One synthetic user: who they are and when they want nudges."""

    user_id: int
    timezone: str
    window_start: int
    window_end: int
    every_minutes: int
    weekends: bool
    focus: str
    anchors: tuple[str, ...]
    equipment: tuple[str, ...]

    @property
    def rhythm(self) -> Rhythm:
        """Their nudge rhythm, as the planner builds it from their settings."""
        return Rhythm(
            self.timezone, self.window_start, self.window_end, self.every_minutes, self.weekends
        )


@cache
def every_for(window_start: int, window_end: int) -> int:
    """The gap (whole minutes) whose expected nudges a day come closest to eight."""
    return min(
        range(30, 241),
        key=lambda every: abs(
            nudges_per_day(Rhythm("UTC", window_start, window_end, every, True)) - NUDGES_A_DAY
        ),
    )


def person(user_id: int) -> Person:
    """The synthetic user with this id (always the same one)."""
    rng = random.Random(user_id)
    names, weights = zip(*ZONES, strict=True)
    start, end = rng.choice(WINDOW_STARTS), rng.choice(WINDOW_ENDS)
    return Person(
        user_id=user_id,
        timezone=rng.choices(names, weights)[0],
        window_start=start,
        window_end=end,
        every_minutes=every_for(start, end),
        weekends=rng.random() < 0.3,
        focus=rng.choice(FOCUSES).value,
        anchors=tuple(rng.sample(ANCHORS, rng.randint(1, 2))),
        equipment=rng.choice(EQUIPMENT),
    )


def people(count: int) -> Iterator[Person]:
    """The first `count` synthetic users."""
    return (person(FIRST_USER_ID + n) for n in range(count))


def level_in_memory(due: datetime, load: Counter[datetime], most: int) -> datetime:
    """`planner.MinuteBook.level` against an in-memory minute count, which it then updates."""
    for _ in range(planner.MAX_LEVELLING_MINUTES):
        minute = due.replace(second=0, microsecond=0)
        if load[minute] < most:
            break
        due += timedelta(minutes=1)
    load[due.replace(second=0, microsecond=0)] += 1
    return due


def user_row(someone: Person, now: datetime) -> dict[str, Any]:
    """The users row of someone who finished onboarding and is active."""
    return {
        "id": someone.user_id,
        "chat_id": someone.user_id,
        "first_name": f"User{someone.user_id}",
        "username": None,
        "language_code": "en",
        "state": UserState.ACTIVE,
        "created_at": now,
        "updated_at": now,
        "last_seen_at": now,
    }


def settings_row(someone: Person) -> dict[str, Any]:
    """The settings harness.active_user gives a user who finished the screen."""
    return {
        "user_id": someone.user_id,
        "timezone": someone.timezone,
        "window_start": someone.window_start,
        "window_end": someone.window_end,
        "nudge_interval_minutes": someone.every_minutes,
        "weekends": someone.weekends,
        "paused_until": None,
        "anchors": list(someone.anchors),
        "equipment": list(someone.equipment),
        "focus": someone.focus,
        "levels": {track.value: 1 for track in Track},
        "disclaimer_shown": True,
        "mix": [Track.HIP_FLEXOR_BALANCE.value],
        "gentle_only": False,
        "weaker_side": None,
        "unanswered_streak": 0,
        "editing": None,
    }


def nudge_row(
    user_id: int, due: datetime, kind: NudgeKind, now: datetime, **sent: Any
) -> dict[str, Any]:
    """A nudges row, scheduled unless `sent` says otherwise."""
    row: dict[str, Any] = {
        "user_id": user_id,
        "due_at": due,
        "state": NudgeState.SCHEDULED,
        "kind": kind,
        "exercise_id": None,
        "track": None,
        "text": None,
        "attempts": 0,
        "sent_at": None,
        "target_reps": None,
        "created_at": now,
    }
    row.update(sent)
    return row


def history_rows(someone: Person, now: datetime, days: int) -> list[dict[str, Any]]:
    """Nudges sent to this user on their last `days` allowed days, the way the tick leaves them.

    One every `every_minutes` through the window; the picker and `recent_history` read these.
    """
    library = load_library()
    choices = [e for e in library.exercises.values() if e.track.value == someone.focus]
    rng = random.Random(-someone.user_id)
    zone = ZoneInfo(someone.timezone)
    today = now.astimezone(zone).date()
    rows = []
    for back in range(1, days + 1):
        day: date = today - timedelta(days=back)
        if not someone.rhythm.allows(day):
            continue
        minute = someone.window_start + rng.randint(0, 15)
        while minute < someone.window_end:
            local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
            moment = local.astimezone(UTC)
            exercise = rng.choice(choices)
            rows.append(
                nudge_row(
                    someone.user_id,
                    moment,
                    NudgeKind.NUDGE,
                    moment,
                    state=NudgeState.SENT,
                    exercise_id=exercise.id,
                    track=exercise.track.value,
                    text=f"{exercise.name} ({exercise.dose.describe()}).\n\n"
                    + "\n".join(exercise.cues),
                    attempts=1,
                    sent_at=moment,
                    target_reps=exercise.dose.reps,
                )
            )
            minute += someone.every_minutes
    return rows


@dataclass(frozen=True)
class Seeded:
    """What `seed` wrote."""

    users: int
    nudges_scheduled: int
    history_rows: int
    nudges_a_day: float  # expected, on a day the user takes nudges
    nudges_a_week: float  # expected, weekends off for most
    busiest_minute: int


async def seed(url: str, users: int, now: datetime, history_days: int) -> Seeded:
    """Migrate `url` and add `users` active users, each with their next nudge scheduled.

    Like `planner.start_nudging`: one nudge (levelled for the default rate) and one weekly
    summary per user; plus `history_days` of sent nudges.
    """
    await upgrade(url)
    engine = create_engine(url)
    load: Counter[datetime] = Counter()
    most = per_minute(DEFAULT_RATE)
    history = 0
    daily = weekly = 0.0
    try:
        batch: list[Person] = []
        for someone in people(users):
            batch.append(someone)
            daily += nudges_per_day(someone.rhythm)
            weekly += nudges_per_day(someone.rhythm) * (7 if someone.weekends else 5)
            if len(batch) == BATCH:
                history += await _write(engine, batch, now, load, most, history_days)
                batch = []
        if batch:
            history += await _write(engine, batch, now, load, most, history_days)
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # What autovacuum does within a minute or so of a bulk load: without these
                # statistics the planner scans every scheduled row to cancel one user's nudge.
                await connection.execute(text("ANALYZE"))
            scheduled = await connection.scalar(
                select(func.count()).select_from(Nudge).where(Nudge.state == NudgeState.SCHEDULED)
            )
    finally:
        await engine.dispose()
    users = max(users, 1)
    return Seeded(
        users, int(scheduled or 0), history, daily / users, weekly / users, max(load.values())
    )


async def _write(
    engine: AsyncEngine,
    batch: list[Person],
    now: datetime,
    load: Counter[datetime],
    most: int,
    history_days: int,
) -> int:
    nudges = []
    for someone in batch:
        due = next_nudge_at(someone.rhythm, now, planner.rng_for(someone.user_id, now))
        nudges.append(
            nudge_row(someone.user_id, level_in_memory(due, load, most), NudgeKind.NUDGE, now)
        )
        settings = UserSettings(
            timezone=someone.timezone,
            window_start=someone.window_start,
            window_end=someone.window_end,
        )
        summary = planner.next_weekly_summary_at(
            settings, now, planner.rng_for(someone.user_id, now)
        )
        nudges.append(nudge_row(someone.user_id, summary, NudgeKind.WEEKLY_SUMMARY, now))
    past = [row for someone in batch for row in history_rows(someone, now, history_days)]
    async with engine.begin() as connection:
        await connection.execute(insert(User.__table__), [user_row(p, now) for p in batch])
        await connection.execute(insert(UserSettings.__table__), [settings_row(p) for p in batch])
        await connection.execute(insert(Nudge.__table__), past + nudges)
    return len(past)
