"""When the next nudge is due: windows, weekdays, pauses, spacing, jitter and DST nights."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.timing import (
    Rhythm,
    is_inside_window,
    local_moment,
    next_nudge_at,
    nudges_per_day,
)

START_JITTER = timedelta(minutes=15)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)  # gaps are whole seconds, so bounds get a second of slack


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def wall(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local wall-clock moment in `zone` (the first, if the time is repeated)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def rhythm(
    zone: str = "Europe/Berlin",
    start: str = "09:00",
    end: str = "17:00",
    every: int = 60,
    weekends: bool = True,
    paused_until: datetime | None = None,
) -> Rhythm:
    def minutes(text: str) -> int:
        hours, mins = text.split(":")
        return int(hours) * 60 + int(mins)

    return Rhythm(zone, minutes(start), minutes(end), every, weekends, paused_until)


def nudges(
    r: Rhythm, after: datetime, *, until: datetime, seed: int = 7, spacing: float = 1.0
) -> list[datetime]:
    """The chain of nudges the bot would schedule from `after`, up to `until`."""
    rng = random.Random(seed)
    found: list[datetime] = []
    while True:
        after = next_nudge_at(r, after, rng, spacing=spacing)
        if after >= until:
            return found
        found.append(after)


# --- input checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: rhythm(zone="Mars/Olympus_Mons"), id="unknown-zone"),
        pytest.param(lambda: rhythm(zone=""), id="empty-zone"),
        pytest.param(lambda: rhythm(zone="../etc/passwd"), id="path-as-zone"),
        pytest.param(lambda: rhythm(start="17:00", end="17:00"), id="empty-window"),
        pytest.param(lambda: rhythm(start="18:00", end="09:00"), id="window-across-midnight"),
        pytest.param(lambda: Rhythm("UTC", -10, 600, 60, True), id="start-before-midnight"),
        pytest.param(lambda: Rhythm("UTC", 600, 1441, 60, True), id="end-after-midnight"),
        pytest.param(lambda: Rhythm("UTC", 540.5, 600, 60, True), id="fractional-minute"),  # type: ignore[arg-type]
        pytest.param(lambda: rhythm(every=29), id="too-often"),
        pytest.param(lambda: rhythm(every=241), id="too-rare"),
        pytest.param(
            lambda: rhythm(paused_until=datetime(2026, 5, 1, 12, 0)), id="naive-paused-until"
        ),
    ],
)
def test_nonsense_rhythm_is_refused(make: Callable[[], Rhythm]) -> None:
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize(
    ("after", "spacing"),
    [
        pytest.param(datetime(2026, 5, 1, 12, 0), 1.0, id="naive-after"),
        pytest.param(utc(2026, 5, 1, 12, 0), 0.5, id="spacing-below-one"),
        pytest.param(utc(2026, 5, 1, 12, 0), float("nan"), id="spacing-nan"),
        pytest.param(utc(2026, 5, 1, 12, 0), float("inf"), id="spacing-infinite"),
    ],
)
def test_nonsense_call_is_refused(after: datetime, spacing: float) -> None:
    with pytest.raises(ValueError):
        next_nudge_at(rhythm(), after, random.Random(1), spacing=spacing)


def test_naive_moment_is_refused_everywhere() -> None:
    naive = datetime(2026, 5, 1, 12, 0)
    with pytest.raises(ValueError):
        is_inside_window(rhythm(), naive)
    with pytest.raises(ValueError):
        local_moment(rhythm(), naive)


def test_spacing_is_refused_by_the_estimate_too() -> None:
    with pytest.raises(ValueError):
        nudges_per_day(rhythm(), spacing=0.9)


# --- the window itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "moment", "inside"),
    [
        # Berlin, Wednesday 2026-06-10, CEST (UTC+2): the start is in, the end is out
        (rhythm(), utc(2026, 6, 10, 7, 0), True),
        (rhythm(), utc(2026, 6, 10, 6, 59, 59), False),
        (rhythm(), utc(2026, 6, 10, 14, 59, 59), True),
        (rhythm(), utc(2026, 6, 10, 15, 0), False),
        # a window up to midnight includes the last second of the day
        (rhythm(start="20:00", end="24:00"), utc(2026, 6, 10, 21, 59, 59), True),
        (rhythm(start="20:00", end="24:00"), utc(2026, 6, 10, 22, 0), False),
        # Friday 22:00 UTC is Saturday 10:00 in Auckland (UTC+12): a weekend there
        (rhythm("Pacific/Auckland", weekends=False), utc(2026, 6, 12, 22, 0), False),
        (rhythm("Pacific/Auckland", weekends=True), utc(2026, 6, 12, 22, 0), True),
        # Saturday 02:00 UTC is Friday 16:00 in Honolulu (UTC-10): still a weekday there
        (rhythm("Pacific/Honolulu", weekends=False), utc(2026, 6, 13, 2, 0), True),
        # Monday 09:30 in Auckland is Sunday 21:30 UTC
        (rhythm("Pacific/Auckland", weekends=False), utc(2026, 6, 14, 21, 30), True),
        # the repeated hour of a fall-back: both 02:45s are 02:45 on the wall clock
        (rhythm(start="02:30", end="03:00"), utc(2026, 10, 25, 0, 45), True),
        (rhythm(start="02:30", end="03:00"), utc(2026, 10, 25, 1, 45), True),
        (rhythm(start="02:30", end="03:00"), utc(2026, 10, 25, 1, 15), False),  # 02:15 CET
    ],
)
def test_is_inside_window(r: Rhythm, moment: datetime, inside: bool) -> None:
    assert is_inside_window(r, moment) is inside


def test_local_moment_is_the_users_wall_clock() -> None:
    local = local_moment(rhythm("Asia/Kathmandu"), utc(2026, 1, 1, 0, 0))
    assert (local.hour, local.minute) == (5, 45)
    assert local.utcoffset() == timedelta(hours=5, minutes=45)
    assert local == utc(2026, 1, 1, 0, 0)


# --- daylight saving time --------------------------------------------------------------------

# (zone, window, after, where the window must open): the nudge is there or up to 15 min later
OPENINGS = [
    pytest.param(
        "Europe/Berlin", "02:30", "05:00", utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 1, 0),
        id="berlin-spring-forward-02:30-opens-03:00-CEST",
    ),
    pytest.param(
        "Europe/Berlin", "02:30", "05:00", utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 0, 30),
        id="berlin-fall-back-02:30-opens-at-first-02:30-CEST",
    ),
    pytest.param(
        "Europe/Berlin", "02:10", "02:40", utc(2026, 3, 28, 21, 0), utc(2026, 3, 30, 0, 10),
        id="berlin-window-wholly-in-the-gap-skips-that-night",
    ),
    pytest.param(
        "America/New_York", "02:30", "06:00", utc(2026, 3, 8, 3, 0), utc(2026, 3, 8, 7, 0),
        id="new-york-spring-forward-02:30-opens-03:00-EDT",
    ),
    pytest.param(
        "America/New_York", "01:30", "06:00", utc(2026, 11, 1, 2, 0), utc(2026, 11, 1, 5, 30),
        id="new-york-fall-back-01:30-opens-at-first-01:30-EDT",
    ),
    pytest.param(
        "Australia/Lord_Howe", "02:15", "06:00", utc(2026, 10, 3, 10, 0),
        utc(2026, 10, 3, 15, 30),
        id="lord-howe-spring-forward-02:15-opens-02:30-+11",
    ),
    pytest.param(
        "Australia/Lord_Howe", "01:45", "06:00", utc(2026, 4, 4, 9, 0), utc(2026, 4, 4, 14, 45),
        id="lord-howe-fall-back-01:45-opens-at-first-01:45-+11",
    ),
    pytest.param(
        "Asia/Kolkata", "09:00", "17:00", utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 3, 30),
        id="kolkata-no-dst",
    ),
    pytest.param(
        "Asia/Tokyo", "02:30", "05:00", utc(2026, 3, 28, 15, 0), utc(2026, 3, 28, 17, 30),
        id="tokyo-no-dst-02:30-exists",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("zone", "start", "end", "after", "opening"), OPENINGS)
def test_window_opens_at_the_first_real_local_moment(
    zone: str, start: str, end: str, after: datetime, opening: datetime
) -> None:
    r = rhythm(zone, start, end, every=60, weekends=True)
    results = {next_nudge_at(r, after, random.Random(seed)) for seed in range(40)}
    for result in results:
        assert result.tzinfo is UTC
        assert opening <= result <= opening + START_JITTER
        assert is_inside_window(r, result)
    assert len(results) > 20  # the opening is jittered, not the same second for everyone


def test_zoneinfo_puts_a_nonexistent_time_an_hour_late_so_it_is_not_used() -> None:
    # zoneinfo reads 02:30 on Berlin's spring-forward night with the old offset (+01:00),
    # which is 03:30 CEST; the window rule asks for the first real time after, 03:00 CEST.
    gap_time = wall("Europe/Berlin", 2026, 3, 29, 2, 30)
    assert gap_time.astimezone(UTC) == utc(2026, 3, 29, 1, 30)
    assert gap_time.astimezone(UTC).astimezone(ZoneInfo("Europe/Berlin")).hour == 3
    r = rhythm(start="02:30", end="05:00")
    result = next_nudge_at(r, utc(2026, 3, 28, 21, 0), random.Random(3))
    assert utc(2026, 3, 29, 1, 0) <= result < utc(2026, 3, 29, 1, 16)
    assert local_moment(r, result).utcoffset() == timedelta(hours=2)


FALL_BACK_NIGHTS = [
    # (zone, the local date of the fall-back, the absolute length of a 00:30-03:30 window)
    pytest.param("Europe/Berlin", date(2026, 10, 25), timedelta(hours=4), id="berlin"),
    pytest.param("America/New_York", date(2026, 11, 1), timedelta(hours=4), id="new-york"),
    pytest.param(
        "Australia/Lord_Howe", date(2026, 4, 5), timedelta(hours=3, minutes=30), id="lord-howe"
    ),
]


@pytest.mark.parametrize(("zone", "night", "length"), FALL_BACK_NIGHTS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fall_back_night_runs_forward_without_repeats(
    zone: str, night: date, length: timedelta, seed: int
) -> None:
    r = rhythm(zone, "00:30", "03:30", every=30, weekends=True)
    evening = wall(zone, night.year, night.month, night.day) - timedelta(hours=2)
    morning = wall(zone, night.year, night.month, night.day, 12)
    chain = nudges(r, evening, until=morning, seed=seed)

    assert chain == sorted(set(chain))  # strictly increasing, so no duplicates
    assert all(is_inside_window(r, moment) for moment in chain)
    assert all(local_moment(r, moment).date() == night for moment in chain)
    assert chain[0] - wall(zone, night.year, night.month, night.day, 0, 30) <= START_JITTER
    for earlier, later in pairwise(chain):
        assert timedelta(minutes=25.5) - SECOND <= later - earlier <= timedelta(minutes=34.5)
    # the repeated hour makes the night's window longer, and the nudges fill all of it
    assert abs(len(chain) - length / timedelta(minutes=30)) <= 1.5
    assert chain[-1] > wall(zone, night.year, night.month, night.day, 3, 30) - timedelta(hours=1)


def test_fall_back_that_turns_the_clock_back_before_the_start_resumes_at_the_start() -> None:
    # Window 02:30-06:00 in Berlin on 2026-10-25: it opens at 02:30 CEST (00:30 UTC); at
    # 03:00 CEST the clock shows 02:00 CET, before the window, until 02:30 CET (01:30 UTC).
    r = rhythm(start="02:30", end="06:00", every=30)
    for seed in range(10):
        chain = nudges(r, utc(2026, 10, 24, 20, 0), until=utc(2026, 10, 25, 12, 0), seed=seed)
        assert utc(2026, 10, 25, 0, 30) <= chain[0] <= utc(2026, 10, 25, 0, 45)
        assert not [m for m in chain if utc(2026, 10, 25, 1, 0) <= m < utc(2026, 10, 25, 1, 30)]
        resumed = next(m for m in chain if m >= utc(2026, 10, 25, 1, 30))
        assert resumed <= utc(2026, 10, 25, 1, 45)
        assert chain == sorted(set(chain))
        assert all(is_inside_window(r, m) for m in chain)
        assert chain[-1] < utc(2026, 10, 25, 5, 0)  # 06:00 CET


@pytest.mark.parametrize(
    ("start", "end", "paused_until"),
    [
        # 02:59 CEST on the fall-back night; the clock then shows 02:00 CET, still inside
        pytest.param("00:30", "03:30", utc(2026, 10, 25, 0, 59), id="fall-back"),
        # 01:59 CET on the spring-forward night; the clock then shows 03:00 CEST, still inside
        pytest.param("01:00", "04:00", utc(2026, 3, 29, 0, 59), id="spring-forward"),
    ],
)
def test_a_clock_change_inside_the_window_is_not_its_end(
    start: str, end: str, paused_until: datetime
) -> None:
    r = rhythm(start=start, end=end, paused_until=paused_until)
    after = paused_until - timedelta(hours=5)
    results = [next_nudge_at(r, after, random.Random(seed)) for seed in range(30)]
    assert all(paused_until <= m <= paused_until + START_JITTER for m in results)
    assert all(is_inside_window(r, m) for m in results)
    # the start jitter has its full room, across the change
    assert max(results) > paused_until + timedelta(minutes=5)


def test_a_clock_going_back_to_yesterday_reopens_yesterdays_window() -> None:
    # Goose Bay fell back at 00:01 ADT to 23:01 AST of the day before (tz data up to 2010):
    # on 2005-10-30 the wall clock went from Oct 30 00:01 back to Oct 29 23:01 (03:01 UTC).
    r = rhythm("America/Goose_Bay", "23:00", "24:00", paused_until=utc(2005, 10, 30, 3, 0, 30))
    assert local_moment(r, utc(2005, 10, 30, 3, 0, 30)).date() == date(2005, 10, 30)
    assert local_moment(r, utc(2005, 10, 30, 3, 1)).date() == date(2005, 10, 29)
    for seed in range(10):
        result = next_nudge_at(r, utc(2005, 10, 29, 20, 0), random.Random(seed))
        assert utc(2005, 10, 30, 3, 1) <= result <= utc(2005, 10, 30, 3, 16)
        assert local_moment(r, result).strftime("%d %H") == "29 23"


@pytest.mark.parametrize(
    ("zone", "night"),
    [
        pytest.param("Europe/Berlin", date(2026, 3, 29), id="berlin"),
        pytest.param("America/New_York", date(2026, 3, 8), id="new-york"),
        pytest.param("Australia/Lord_Howe", date(2026, 10, 4), id="lord-howe"),
    ],
)
def test_spring_forward_night_keeps_real_gaps(zone: str, night: date) -> None:
    # Gaps are absolute time: across the jump an hour's gap is an hour, not an hour plus the jump.
    r = rhythm(zone, "00:00", "06:00", every=60, weekends=True)
    start = wall(zone, night.year, night.month, night.day) - timedelta(minutes=1)
    chain = nudges(r, start, until=wall(zone, night.year, night.month, night.day, 12))
    assert all(is_inside_window(r, m) for m in chain)
    for earlier, later in pairwise(chain):
        assert timedelta(minutes=51) - SECOND <= later - earlier <= timedelta(minutes=69) + SECOND


# --- window and frequency --------------------------------------------------------------------

DAYS = [
    pytest.param("Europe/Berlin", "09:00", "17:00", 60, date(2026, 6, 10), id="berlin-hourly"),
    pytest.param("Asia/Kathmandu", "07:00", "21:00", 90, date(2026, 2, 3), id="kathmandu"),
    pytest.param("Pacific/Chatham", "08:00", "12:00", 30, date(2026, 7, 1), id="chatham"),
    pytest.param("America/New_York", "10:00", "18:30", 45, date(2026, 1, 14), id="new-york"),
    pytest.param("Asia/Tokyo", "06:00", "23:00", 240, date(2026, 9, 9), id="tokyo-rare"),
    pytest.param("Asia/Kolkata", "09:30", "10:15", 240, date(2026, 5, 5), id="short-window"),
]


@pytest.mark.parametrize(("zone", "start", "end", "every", "day"), DAYS)
@pytest.mark.parametrize("seed", [11, 12])
def test_a_day_of_nudges_fills_the_window(
    zone: str, start: str, end: str, every: int, day: date, seed: int
) -> None:
    r = rhythm(zone, start, end, every=every, weekends=True)
    midnight = wall(zone, day.year, day.month, day.day)
    chain = nudges(r, midnight, until=midnight + timedelta(days=2), seed=seed)
    today = [m for m in chain if local_moment(r, m).date() == day]
    tomorrow = [m for m in chain if local_moment(r, m).date() == day + timedelta(days=1)]

    assert all(is_inside_window(r, m) for m in chain)
    opening = midnight + timedelta(minutes=r.window_start)
    assert opening <= today[0] <= opening + START_JITTER
    window = timedelta(minutes=r.window_end - r.window_start)
    assert abs(len(today) - max(1.0, window / timedelta(minutes=every))) <= 1.5
    assert abs(len(today) - nudges_per_day(r)) <= 1.5
    for earlier, later in pairwise(today):
        gap = later - earlier
        assert timedelta(minutes=every * 0.85) - SECOND <= gap <= timedelta(minutes=every * 1.15)
    # overnight the chain jumps to the next window's opening
    assert tomorrow[0] - (opening + timedelta(days=1)) <= START_JITTER
    assert tomorrow[0] >= opening + timedelta(days=1)


def test_nudges_per_day_matches_a_long_run() -> None:
    # Tokyo has no DST, so every day of the run has the same window
    for start, end, every in [
        ("09:00", "17:00", 60),
        ("08:00", "20:00", 75),
        ("12:00", "13:00", 30),
    ]:
        r = rhythm("Asia/Tokyo", start, end, every=every)
        chain = nudges(r, utc(2026, 1, 1), until=utc(2026, 5, 1), seed=5)
        per_day = Counter(local_moment(r, m).date() for m in chain)
        mean = sum(per_day.values()) / len(per_day)
        assert abs(mean - nudges_per_day(r)) <= 0.25, (start, end, every, mean)


def test_nudges_per_day_examples() -> None:
    assert nudges_per_day(rhythm(start="09:00", end="17:00", every=60)) == pytest.approx(8.375)
    assert nudges_per_day(rhythm(start="09:00", end="17:00", every=60), spacing=2) == (
        pytest.approx(0.5 + 472.5 / 120)
    )
    assert nudges_per_day(rhythm(start="09:00", end="09:10", every=240)) == 1.0


# --- weekends --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "friday_evening", "monday_opening"),
    [
        # Monday 09:00 NZST is still Sunday in UTC
        pytest.param(
            "Pacific/Auckland", utc(2026, 6, 12, 4, 30), utc(2026, 6, 14, 21, 0), id="auckland"
        ),
        # Friday 16:30 HST is already Saturday in UTC
        pytest.param(
            "Pacific/Honolulu", utc(2026, 6, 13, 2, 30), utc(2026, 6, 15, 19, 0), id="honolulu"
        ),
    ],
)
def test_weekends_off_skips_the_local_weekend(
    zone: str, friday_evening: datetime, monday_opening: datetime
) -> None:
    r = rhythm(zone, "09:00", "17:00", every=60, weekends=False)
    assert local_moment(r, friday_evening).strftime("%a %H:%M") == "Fri 16:30"
    for seed in range(10):
        result = next_nudge_at(r, friday_evening, random.Random(seed))
        assert local_moment(r, result).strftime("%a") == "Mon"
        assert monday_opening <= result <= monday_opening + START_JITTER
    # the same Friday evening with weekends on gets a Saturday morning nudge
    weekend_on = rhythm(zone, "09:00", "17:00", every=60, weekends=True)
    saturday = next_nudge_at(weekend_on, friday_evening, random.Random(1))
    assert local_moment(weekend_on, saturday).strftime("%a") == "Sat"


def test_a_week_with_weekends_off_has_no_local_weekend_nudges() -> None:
    r = rhythm("Pacific/Auckland", "07:00", "19:00", every=45, weekends=False)
    chain = nudges(r, utc(2026, 6, 7), until=utc(2026, 6, 21))
    local_days = {local_moment(r, m).strftime("%a") for m in chain}
    utc_days = {m.strftime("%a") for m in chain}
    assert local_days == {"Mon", "Tue", "Wed", "Thu", "Fri"}
    assert "Sun" in utc_days  # Monday morning in Auckland: the local date is what counts


# --- pause -----------------------------------------------------------------------------------

WEDNESDAY_10 = utc(2026, 6, 10, 8, 0)  # Berlin, CEST


@pytest.mark.parametrize(
    ("paused_until", "earliest"),
    [
        # ends inside the window: the first nudge is then, plus the start jitter
        pytest.param(utc(2026, 6, 10, 11, 20), utc(2026, 6, 10, 11, 20), id="inside-window"),
        # ends in the evening: Thursday's window opening
        pytest.param(utc(2026, 6, 10, 18, 0), utc(2026, 6, 11, 7, 0), id="evening"),
        # ends exactly when the window closes: the end is not inside
        pytest.param(utc(2026, 6, 10, 15, 0), utc(2026, 6, 11, 7, 0), id="at-window-end"),
        # ends on Saturday with weekends off: Monday
        pytest.param(utc(2026, 6, 13, 9, 0), utc(2026, 6, 15, 7, 0), id="into-weekend"),
        # given in another zone: same instant
        pytest.param(
            wall("America/New_York", 2026, 6, 10, 7, 20), utc(2026, 6, 10, 11, 20), id="other-zone"
        ),
    ],
)
def test_no_nudge_before_the_pause_ends(paused_until: datetime, earliest: datetime) -> None:
    r = rhythm(weekends=False, paused_until=paused_until)
    for seed in range(10):
        result = next_nudge_at(r, WEDNESDAY_10, random.Random(seed))
        assert earliest <= result <= earliest + START_JITTER
        assert result >= paused_until
        assert is_inside_window(r, result)


def test_a_pause_that_is_over_changes_nothing() -> None:
    for seed in range(10):
        paused = rhythm(paused_until=WEDNESDAY_10 - timedelta(days=1))
        ends_in_the_gap = rhythm(paused_until=WEDNESDAY_10 + timedelta(minutes=50))
        unpaused = rhythm()
        expected = next_nudge_at(unpaused, WEDNESDAY_10, random.Random(seed))
        assert next_nudge_at(paused, WEDNESDAY_10, random.Random(seed)) == expected
        # the shortest gap is 51 minutes, so a pause ending at 50 is over by then
        assert next_nudge_at(ends_in_the_gap, WEDNESDAY_10, random.Random(seed)) == expected


# --- spacing ---------------------------------------------------------------------------------


def test_spacing_two_roughly_halves_the_nudges() -> None:
    r = rhythm(start="08:00", end="20:00", every=45)
    usual = nudges(r, utc(2026, 6, 1), until=utc(2026, 6, 15))
    spaced = nudges(r, utc(2026, 6, 1), until=utc(2026, 6, 15), spacing=2.0)
    assert 0.4 <= len(spaced) / len(usual) <= 0.6
    ratio = nudges_per_day(r, spacing=2.0) / nudges_per_day(r)
    assert 0.4 <= ratio <= 0.6
    same_day = [(a, b) for a, b in pairwise(spaced) if b - a < timedelta(hours=6)]
    assert same_day
    for earlier, later in same_day:
        assert timedelta(minutes=76.5) - SECOND <= later - earlier <= timedelta(minutes=103.5)


# --- properties ------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",
    "America/Santiago",  # changes at midnight: 24:00 -> 23:00 and 00:00 -> 01:00
    "America/Sao_Paulo",
    "Africa/Casablanca",  # leaves its usual offset for Ramadan
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Honolulu",
    "Pacific/Kiritimati",
]


@cache
def offset_changes_2026(zone: str) -> tuple[datetime, ...]:
    """Every hour of 2026 whose offset differs from the hour before (near each DST change)."""
    tz = ZoneInfo(zone)
    hours = [utc(2026, 1, 1) + timedelta(hours=h) for h in range(-24, 366 * 24)]
    return tuple(
        later
        for earlier, later in pairwise(hours)
        if earlier.astimezone(tz).utcoffset() != later.astimezone(tz).utcoffset()
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[Rhythm, datetime, float]:
    zone = draw(st.sampled_from(ZONES))
    start = draw(st.integers(0, 24 * 60 - 1))
    length = draw(
        st.one_of(st.integers(1, 24 * 60 - start), st.integers(1, min(90, 24 * 60 - start)))
    )
    every = draw(st.integers(30, 240))
    spacing = draw(st.one_of(st.just(1.0), st.just(2.0), st.floats(1.0, 3.0)))
    anywhere = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC))
    near_change = st.builds(
        lambda moment, shift: moment + shift,
        st.sampled_from(offset_changes_2026(zone) or (utc(2026, 6, 1),)),
        st.timedeltas(-timedelta(days=1), timedelta(days=1)),
    )
    after = draw(st.one_of(anywhere, near_change))
    pause_shift = st.timedeltas(-timedelta(hours=6), timedelta(days=3))
    paused_until = draw(st.one_of(st.none(), pause_shift.map(lambda shift: after + shift)))
    r = Rhythm(zone, start, start + length, every, draw(st.booleans()), paused_until)
    return r, after, spacing


def first_inside(r: Rhythm, start: datetime, end: datetime) -> datetime | None:
    """The first moment on a one-minute grid in [start, end) that is inside the window.

    Window edges and tz transitions fall on whole UTC minutes, so no stretch of window slips
    between two grid points.
    """
    moment = start
    while moment < end:
        if is_inside_window(r, moment):
            return moment
        moment += MINUTE
    return None


@settings(max_examples=300, deadline=None)
@given(case=cases(), seed=st.integers(0, 2**32))
def test_next_nudge_is_later_inside_and_repeatable(
    case: tuple[Rhythm, datetime, float], seed: int
) -> None:
    r, after, spacing = case
    result = next_nudge_at(r, after, random.Random(seed), spacing=spacing)

    assert result.tzinfo is UTC
    assert result > after
    assert is_inside_window(r, result)
    assert next_nudge_at(r, after, random.Random(seed), spacing=spacing) == result

    gap = timedelta(minutes=r.every_minutes * spacing)
    earliest = after + gap * 0.85 - SECOND
    latest_candidate = after + gap * 1.15 + SECOND
    assert result >= earliest
    lower = latest_candidate
    if r.paused_until is not None and r.paused_until > latest_candidate:
        assert result >= r.paused_until
        lower = r.paused_until
    # Nothing skipped: no window time between the latest possible candidate (or the pause's
    # end) and the nudge, beyond the start jitter.
    assert first_inside(r, lower, result - START_JITTER - SECOND) is None


@settings(max_examples=60, deadline=None)
@given(case=cases(), seed=st.integers(0, 2**32))
def test_a_chain_of_nudges_only_moves_forward(
    case: tuple[Rhythm, datetime, float], seed: int
) -> None:
    r, after, spacing = case
    rng = random.Random(seed)
    shortest = timedelta(minutes=r.every_minutes * spacing * 0.85) - SECOND
    for _ in range(25):
        result = next_nudge_at(r, after, rng, spacing=spacing)
        assert result - after >= shortest
        assert is_inside_window(r, result)
        after = result


def test_answers_depend_only_on_the_inputs() -> None:
    r = rhythm("Pacific/Chatham", "06:15", "22:45", every=50, weekends=False)
    chains = [nudges(r, utc(2026, 3, 1), until=utc(2026, 5, 1), seed=9) for _ in "ab"]
    assert chains[0] == chains[1]
    assert chains[0] != nudges(r, utc(2026, 3, 1), until=utc(2026, 5, 1), seed=10)
