"""A forgiving weekly streak: weeks in a row with enough active days, not days in a row.

COACHING.md: one missed day does not matter and habits take a median of 66 days to form, so
a rest day never breaks the streak; only a finished ISO week (Monday to Sunday) below the
target does. The week in progress counts once it meets the target and never breaks it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.progress.data import week_start

DEFAULT_TARGET = 3


@dataclass(frozen=True)
class Streak:
    """Weeks in a row meeting the target, and how this week is going."""

    weeks: int
    this_week_days: int
    target: int

    @property
    def this_week_met(self) -> bool:
        return self.this_week_days >= self.target


def weekly_streak(
    active_days: Iterable[date], today: date, *, target_days_per_week: int = DEFAULT_TARGET
) -> Streak:
    """The streak as of `today` (the user's local date); days after `today` are ignored."""
    if not 1 <= target_days_per_week <= 7:
        raise ValueError("target_days_per_week must be 1-7")
    per_week = Counter(week_start(day) for day in set(active_days) if day <= today)
    this_week = week_start(today)
    weeks = 1 if per_week[this_week] >= target_days_per_week else 0
    # Walk back finished weeks until one falls short; bounded by the weeks that have days.
    week = this_week - timedelta(weeks=1)
    while per_week[week] >= target_days_per_week:
        weeks += 1
        week -= timedelta(weeks=1)
    return Streak(weeks=weeks, this_week_days=per_week[this_week], target=target_days_per_week)


def streak_line(streak: Streak) -> str:
    """One plain line, e.g. "3 weeks in a row with at least 3 active days. This week: 2 of 3."."""
    days = f"{streak.target} active day{'s' * (streak.target != 1)}"
    if streak.weeks:
        weeks = f"{streak.weeks} week{'s' * (streak.weeks != 1)}"
        head = f"{weeks} in a row with at least {days}."
    else:
        head = f"No streak yet: aim for at least {days} a week."
    if streak.this_week_met:
        done = streak.this_week_days
        return f"{head} This week: {done} active day{'s' * (done != 1)}, target met."
    return f"{head} This week: {streak.this_week_days} of {streak.target}."
