"""One clock for the whole bot, so tests and the console can run days in seconds.

Every part of Glutebot that needs "now" asks a `Clock`; nothing calls `datetime.now()`
directly. `SystemClock` is the real time, `ScaledClock` runs N times faster from the
moment it was made (the console's `--speed`), and `FakeClock` moves only when told to.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ScaledClock:
    """Real time that passes `speed` times faster, starting from when it was made."""

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._started_monotonic = time.monotonic()

    def now(self) -> datetime:
        elapsed = time.monotonic() - self._started_monotonic
        return self._start + timedelta(seconds=elapsed * self.speed)


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward and return the new time."""
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to a moment (aware)."""
        if moment.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = moment.astimezone(UTC)
