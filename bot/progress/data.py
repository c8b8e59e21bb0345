"""The facts the progress renderers draw from: plain frozen dataclasses the caller fills.

Nothing here reads the database or the clock. Datetimes are aware (UTC from the database);
a naive one is read as UTC. Days (`DayTotals.day`, `ProgressData.today`) are already in the
user's local time zone; the helpers below turn datetimes into local days the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from content.vocabulary import Track

# The chart and the weekly streak look back four weeks.
WINDOW_DAYS = 28

# English names, not strftime's %a/%b: those follow the process locale.
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class DayTotals:
    """One local day: reps and sessions summed, pain averaged over that day's reports."""

    day: date
    reps: int
    sessions: int
    pain_during: float | None = None  # 0-10, None when no report said
    pain_next_morning: float | None = None  # 0-10


@dataclass(frozen=True)
class LevelChange:
    """The progression engine moved a track from one level to another, and why."""

    at: datetime
    track: str  # a `Track` value; unknown values are shown as they are
    level_from: int
    level_to: int
    action: str  # advance, regress, hold, refer (content.progression.Action)
    reason: str  # the engine's plain-words reason
    # Stored beside each decision; the export carries them, the renderers do not need them.
    id: int | None = None
    exercise_id: str | None = None  # the exercise to do next on this track
    report_id: int | None = None  # the report that led to the decision


@dataclass(frozen=True)
class ReportLine:
    """One report for /history, with the exercise already named in plain words."""

    at: datetime
    exercise: str
    track: str | None = None
    reps: int | None = None
    sets: int | None = None
    pain_during: int | None = None
    pain_next_morning: int | None = None


@dataclass(frozen=True)
class ProgressData:
    """What the chart, /history and the physio report show about one user.

    `days` may be sparse (days without reports are left out) and may reach further back
    than four weeks; each renderer picks its own window. `level_changes` may be the whole
    history: the chart marks those in its window, the physio report lists the latest.
    """

    first_name: str
    today: date  # the user's local date
    days: Sequence[DayTotals] = ()
    levels: Mapping[str, int] = field(default_factory=dict)  # track -> current level
    level_changes: Sequence[LevelChange] = ()
    focus: str | None = None  # a `Track` value
    timezone: str = "UTC"  # IANA name, for turning `LevelChange.at` into a local day


@dataclass(frozen=True)
class ScreenSummary:
    """The latest onboarding screen: raw answers by step key, and the programme it chose."""

    answers: Mapping[str, Any]  # as stored in screen_answers (step -> JSON answer)
    result: Mapping[str, Any] | None = None  # bot.onboarding.summary.programme_record
    completed_at: datetime | None = None
    status: str = "completed"


def track_label(track: str | None) -> str:
    """A track's name in plain words; unknown values are shown readably, not dropped."""
    if not track:
        return "no track"
    try:
        return Track(track).label
    except ValueError:
        return track.replace("_", " ")


def zone(name: str) -> tzinfo:
    """The user's time zone, or UTC when the name is unknown (never fail a render on it)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_time(at: datetime, timezone: str) -> datetime:
    """`at` in the user's time zone (naive datetimes are taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone(timezone))


def local_date(at: datetime, timezone: str) -> date:
    """The user's local day on which `at` happened."""
    return local_time(at, timezone).date()


def window_days(today: date, days: int = WINDOW_DAYS) -> list[date]:
    """The `days` days ending with `today`, oldest first."""
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def week_start(day: date) -> date:
    """The Monday of the ISO week `day` falls in."""
    return day - timedelta(days=day.weekday())


def day_words(day: date) -> str:
    """Like "Tue 3 Mar"."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def pain_words(value: float | None) -> str:
    """A 0-10 pain score as "2" or "2.5"; "-" when unknown."""
    if value is None:
        return "-"
    return f"{value:.1f}".removesuffix(".0")


def direction_arrow(change: LevelChange) -> str:
    """Up, down or sideways, from the levels themselves (the action word may be "hold")."""
    if change.level_to > change.level_from:
        return "↑"
    if change.level_to < change.level_from:
        return "↓"
    return "→"


def mean(values: Sequence[float]) -> float | None:
    """The average, or None for no values."""
    return sum(values) / len(values) if values else None
