"""When a user's next nudge is due: their window, their days, their time zone, and jitter.

Pure schedule math: no I/O, no clock reads (callers pass the moment in) and no hidden
randomness (callers pass a `random.Random`). Every moment that goes in must be aware; every
moment that comes out is aware UTC.

The window is wall-clock time: a moment is inside when its local weekday is allowed and
window_start <= local time of day < window_end. Daylight saving time follows from that:

- A window start that does not exist locally (the spring-forward gap) opens at the first
  real local time after it, the transition itself: 02:30 on Berlin's change night opens at
  03:00 CEST. (zoneinfo, asked for the nonexistent 02:30 with fold=0, applies the old
  offset and lands on 03:30 CEST, an hour late; this module does not use that answer.)
- A repeated local time (fall-back) opens the window once, at its first occurrence. If the
  repeated hour then turns the clock back to before window_start, nudges pause until the
  wall clock reaches window_start again, exactly as the user's own clock shows it.
- Gaps are added in absolute time, so the answer is always later than `after`.
"""

from __future__ import annotations

import math
import random
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from itertools import pairwise

__all__ = [
    "JITTER",
    "MAX_EVERY_MINUTES",
    "MAX_START_JITTER",
    "MIN_EVERY_MINUTES",
    "Rhythm",
    "is_inside_window",
    "local_moment",
    "next_nudge_at",
    "nudges_per_day",
]

MIN_EVERY_MINUTES = 30
MAX_EVERY_MINUTES = 240
MINUTES_PER_DAY = 24 * 60
JITTER = 0.15  # the gap varies by up to this fraction either way, so nudges feel less robotic
MAX_START_JITTER = timedelta(minutes=15)  # a window opening moves by at most this much

# Real UTC offsets stay within about ±15 hours, so a local day's moments all lie within this
# margin of its wall-clock times read as UTC.
_OFFSET_MARGIN = timedelta(hours=16)
# Offset changes are hours apart, so sampling this often finds each one on its own.
_SAMPLE_STEP = timedelta(hours=4)
# A weekend-free window comes round within three days; the slack covers odd calendars.
_DAYS_TO_SEARCH = 14


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone for an IANA name; ValueError when the name is not one."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def _require_aware(name: str, moment: object) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}")


def _is_whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Rhythm:
    """When a user wants nudges, in their own time zone.

    Construction checks the values and raises ValueError for nonsense, so every function
    here can trust a Rhythm it is given.
    """

    timezone: str  # IANA name, e.g. "Europe/Berlin"
    window_start: int  # minutes after local midnight, e.g. 540 = 09:00
    window_end: int  # minutes after local midnight, > window_start (no windows across midnight)
    every_minutes: int  # 30..240, the usual gap between nudges
    weekends: bool  # False: no nudges on Saturday and Sunday (local)
    paused_until: datetime | None = None  # aware UTC; no nudge before it

    def __post_init__(self) -> None:
        if not isinstance(self.timezone, str):
            raise ValueError(f"timezone must be an IANA name, got {self.timezone!r}")
        _zone(self.timezone)
        if not (_is_whole_number(self.window_start) and _is_whole_number(self.window_end)):
            raise ValueError("window_start and window_end must be whole minutes")
        if not 0 <= self.window_start < self.window_end <= MINUTES_PER_DAY:
            raise ValueError(
                "need 0 <= window_start < window_end <= 1440, got "
                f"{self.window_start}..{self.window_end}"
            )
        if not _is_whole_number(self.every_minutes) or not (
            MIN_EVERY_MINUTES <= self.every_minutes <= MAX_EVERY_MINUTES
        ):
            raise ValueError(
                f"every_minutes must be {MIN_EVERY_MINUTES}..{MAX_EVERY_MINUTES}, "
                f"got {self.every_minutes!r}"
            )
        if not isinstance(self.weekends, bool):
            raise ValueError(f"weekends must be True or False, got {self.weekends!r}")
        if self.paused_until is not None:
            _require_aware("paused_until", self.paused_until)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The user's time zone."""
        return _zone(self.timezone)

    def allows(self, day: date) -> bool:
        """True when nudges may come on this local date."""
        return self.weekends or day.weekday() < 5


def local_moment(rhythm: Rhythm, moment: datetime) -> datetime:
    """`moment` (aware) as the user's wall-clock time, in their zone."""
    _require_aware("moment", moment)
    return moment.astimezone(rhythm.zone)


def is_inside_window(rhythm: Rhythm, moment: datetime) -> bool:
    """True when `moment` falls on an allowed local day inside the local window.

    Inside means window_start <= local time of day < window_end, read off the wall clock.
    """
    local = local_moment(rhythm, moment)
    if not rhythm.allows(local.date()):
        return False
    time_of_day = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        timedelta(minutes=rhythm.window_start) <= time_of_day < timedelta(minutes=rhythm.window_end)
    )


def nudges_per_day(rhythm: Rhythm, *, spacing: float = 1.0) -> float:
    """Roughly how many nudges one allowed day's window holds (for docs and benchmarks).

    An expectation, not a count: the first nudge comes at the opening plus half the start
    jitter on average, then one per gap, and the last gap is cut short by the window's
    end half a gap on average. Never below one, because every window is entered once.
    Daylight saving days run an hour longer or shorter than this.
    """
    gap = rhythm.every_minutes * _checked_spacing(spacing)
    length = rhythm.window_end - rhythm.window_start
    mean_start_jitter = min(length, MAX_START_JITTER.total_seconds() / 60, gap / 2) / 2
    return max(1.0, 0.5 + (length - mean_start_jitter) / gap)


def next_nudge_at(
    rhythm: Rhythm, after: datetime, rng: random.Random, *, spacing: float = 1.0
) -> datetime:
    """The next moment to nudge, strictly after `after` (aware; returned in UTC).

    The gap is every_minutes * spacing, varied uniformly by ±15 % and added in absolute
    time. A result that lands inside the window on an allowed day is returned as it is.
    Otherwise the answer is the next moment the window opens (see the module notes for
    DST) plus a start jitter of 0 to min(15 minutes, half the drawn gap), kept inside that
    window. When paused_until is later than after + gap, the answer is instead the first
    window moment at or after paused_until, with the same start jitter. Same inputs and the
    same rng state give the same answer.
    """
    _require_aware("after", after)
    gap_seconds = rhythm.every_minutes * 60 * _checked_spacing(spacing)
    gap = timedelta(seconds=round(gap_seconds * rng.uniform(1 - JITTER, 1 + JITTER)))
    candidate = after.astimezone(UTC) + gap
    max_start_jitter = min(MAX_START_JITTER, gap / 2)

    paused_until = rhythm.paused_until
    if paused_until is not None and paused_until.astimezone(UTC) > candidate:
        opening, closing = _window_from(rhythm, paused_until.astimezone(UTC))
        return opening + _start_jitter(rng, max_start_jitter, closing - opening)

    if is_inside_window(rhythm, candidate):
        return candidate
    opening, closing = _window_from(rhythm, candidate)
    return opening + _start_jitter(rng, max_start_jitter, closing - opening)


def _checked_spacing(spacing: float) -> float:
    if not (isinstance(spacing, int | float) and math.isfinite(spacing) and spacing >= 1):
        raise ValueError(f"spacing must be a finite number >= 1, got {spacing!r}")
    return float(spacing)


def _start_jitter(rng: random.Random, most: timedelta, room: timedelta) -> timedelta:
    """Whole seconds from 0 to `most`, and always less than `room` so the nudge stays inside."""
    room_seconds = math.ceil(room.total_seconds()) - 1
    return timedelta(seconds=rng.randint(0, max(0, min(int(most.total_seconds()), room_seconds))))


def _window_from(rhythm: Rhythm, moment: datetime) -> tuple[datetime, datetime]:
    """The first stretch of window time at or after `moment`: (its start, its end), UTC.

    The start is `moment` itself when it is inside a window, else the next opening.
    """
    first_day = moment.astimezone(rhythm.zone).date()
    best: tuple[datetime, datetime] | None = None
    found_on: date | None = None
    # Start a day early: a fall-back just after midnight (Goose Bay did so until 2010) turns
    # the clock back to yesterday's date.
    for offset in range(-1, _DAYS_TO_SEARCH):
        day = first_day + timedelta(days=offset)
        # Local dates run in order except across such a midnight, so the day after the first
        # hit is the last one that could still hold an earlier stretch.
        if found_on is not None and day > found_on + timedelta(days=1):
            break
        if not rhythm.allows(day):
            continue
        for start, end in _window_stretches(
            rhythm.timezone, rhythm.window_start, rhythm.window_end, day
        ):
            if end <= moment:
                continue
            stretch = (max(start, moment), end)
            if best is None or stretch[0] < best[0]:
                best, found_on = stretch, day
    if best is None:  # cannot happen for a valid Rhythm: every real day has the window's times
        raise ValueError(f"no window moment within {_DAYS_TO_SEARCH} days of {moment}")
    return best


# Many users share a zone and a window, and a user's next nudges fall on the same few days.
@lru_cache(maxsize=8192)
def _window_stretches(
    timezone: str, window_start: int, window_end: int, day: date
) -> tuple[tuple[datetime, datetime], ...]:
    """The spans of absolute time (UTC, half-open, in order) inside the window on local `day`.

    Usually one span. A spring-forward gap clips it (an opening in the gap becomes the
    transition); a fall-back can split it in two when the clock returns to before the start.
    Spans that meet at an offset change are joined, so a transition inside the window is
    not a new opening.
    """
    zone = _zone(timezone)
    midnight = datetime.combine(day, time())
    wall_start = midnight + timedelta(minutes=window_start)
    wall_end = midnight + timedelta(minutes=window_end)
    span_start = (wall_start - _OFFSET_MARGIN).replace(tzinfo=UTC)
    span_end = (wall_end + _OFFSET_MARGIN).replace(tzinfo=UTC)
    bounds = [span_start, *_offset_changes(zone, span_start, span_end), span_end]

    stretches: list[tuple[datetime, datetime]] = []
    for period_start, period_end in pairwise(bounds):
        offset = _offset_at(zone, period_start)
        # While this offset holds, the wall clock shows wall_start at wall_start - offset.
        start = max((wall_start - offset).replace(tzinfo=UTC), period_start)
        end = min((wall_end - offset).replace(tzinfo=UTC), period_end)
        if start >= end:
            continue
        if stretches and stretches[-1][1] == start:
            stretches[-1] = (stretches[-1][0], end)
        else:
            stretches.append((start, end))
    return tuple(stretches)


def _offset_at(zone: zoneinfo.ZoneInfo, moment: datetime) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset for an aware moment
    return offset


def _offset_changes(zone: zoneinfo.ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The UTC moments in (start, end] where the zone's UTC offset changes, in order.

    Found by sampling and then bisecting to the second; tz data changes on whole seconds.
    """
    changes: list[datetime] = []
    before, before_offset = start, _offset_at(zone, start)
    while before < end:
        after = min(before + _SAMPLE_STEP, end)
        after_offset = _offset_at(zone, after)
        if after_offset != before_offset:
            low, high = before, after  # low has the old offset, high the new one
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if _offset_at(zone, middle) == before_offset:
                    low = middle
                else:
                    high = middle
            changes.append(high)
        before, before_offset = after, after_offset
    return changes
