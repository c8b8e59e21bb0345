"""The nudge window a user picks during the screen: shown, adjusted with buttons, or typed.

Pure. Times are minutes after local midnight, as stored in `user_settings`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from bot.onboarding.questions import Reask, normalize

INTERVALS = (30, 45, 60, 75, 90, 120, 180, 240)  # minutes between nudges, as offered
EARLIEST, LATEST = 5 * 60, 23 * 60  # a window inside 05:00-23:00
SHORTEST_WINDOW = 2 * 60


@dataclass(frozen=True)
class Schedule:
    start: int = 9 * 60
    end: int = 18 * 60
    every: int = 75
    weekends: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "every": self.every,
            "weekends": self.weekends,
        }

    @classmethod
    def from_json(cls, data: Any, default_every: int = 75) -> Schedule:
        if not isinstance(data, dict):
            return cls(every=default_every)
        return cls(int(data["start"]), int(data["end"]), int(data["every"]), bool(data["weekends"]))

    def describe(self) -> str:
        """E.g. "weekdays, 09:00-18:00 your time, about every 75 minutes"."""
        days = "every day" if self.weekends else "weekdays"
        return (
            f"{days}, {clock(self.start)}-{clock(self.end)} your time, "
            f"about every {every_words(self.every)}"
        )

    def adjusted(self, change: str) -> Schedule:
        """The schedule after one button press; unchanged when the change would not fit."""
        if change == "earlier_start":
            candidate = replace(self, start=self.start - 60)
        elif change == "later_start":
            candidate = replace(self, start=self.start + 60)
        elif change == "earlier_end":
            candidate = replace(self, end=self.end - 60)
        elif change == "later_end":
            candidate = replace(self, end=self.end + 60)
        elif change == "more_often":
            candidate = replace(self, every=_step_interval(self.every, -1))
        elif change == "less_often":
            candidate = replace(self, every=_step_interval(self.every, +1))
        elif change == "weekends":
            candidate = replace(self, weekends=not self.weekends)
        else:
            return self
        return candidate if candidate.fits() else self

    def fits(self) -> bool:
        return (
            self.start >= EARLIEST
            and self.end <= LATEST
            and self.end - self.start >= SHORTEST_WINDOW
            and self.every in INTERVALS
        )


CHANGES = (
    "earlier_start",
    "later_start",
    "earlier_end",
    "later_end",
    "more_often",
    "less_often",
    "weekends",
)


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def every_words(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


def _step_interval(current: int, direction: int) -> int:
    index = INTERVALS.index(current) if current in INTERVALS else INTERVALS.index(75)
    return INTERVALS[min(max(index + direction, 0), len(INTERVALS) - 1)]


ACCEPT_WORDS = ("ok", "okay", "yes", "sounds good", "good", "fine", "perfect", "great", "y")
_TIME = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?"


def _minutes(hour: str, minute: str | None, half: str | None) -> int:
    h, m = int(hour), int(minute or 0)
    if half == "pm" and h < 12:
        h += 12
    if half == "am" and h == 12:
        h = 0
    if not (0 <= h <= 24 and 0 <= m < 60):
        raise Reask("Those hours don't look right. Try something like 8-17 or 08:30-17:30.")
    return h * 60 + m


def read_schedule(typed: str, current: Schedule) -> tuple[Schedule, bool]:
    """Apply a typed change; returns the new schedule and whether the user accepted it."""
    text = normalize(typed)
    if text in ACCEPT_WORDS:
        return current, True
    schedule, understood = current, False
    window = re.search(rf"{_TIME}\s*(?:-|to|until|till)\s*{_TIME}", text)
    if window:
        start = _minutes(*window.group(1, 2, 3))
        end = _minutes(*window.group(4, 5, 6))
        if window.group(6) is None and end <= start and end + 12 * 60 > start:
            end += 12 * 60  # "9-5" means 09:00-17:00
        schedule, understood = replace(schedule, start=start, end=end), True
    every = re.search(r"every\s+(\d+|an|a|one)?\s*(h|hours?|hrs?|min|mins|minutes?)\b", text)
    if every:
        amount = every.group(1)
        number = 1 if amount in (None, "an", "a", "one") else int(amount)
        minutes = number * 60 if every.group(2).startswith("h") else number
        if minutes not in INTERVALS:
            offered = ", ".join(every_words(m) for m in INTERVALS)
            raise Reask(f"I can nudge you every {offered}. Which suits you?")
        schedule, understood = replace(schedule, every=minutes), True
    if re.search(r"\b(no weekends?|weekdays? only|not on weekends?|weekends? off)\b", text):
        schedule, understood = replace(schedule, weekends=False), True
    elif re.search(r"\bweekends?\b", text):
        schedule, understood = replace(schedule, weekends=True), True
    if not understood:
        raise Reask(
            'Tell me hours like "8-17", a rhythm like "every 60 minutes", or "weekends too". '
            "Or tap Sounds good."
        )
    if not schedule.fits():
        raise Reask(
            "I can nudge between 05:00 and 23:00, in a window of at least two hours. "
            "Try something like 8-17."
        )
    return schedule, False
