"""The send pace: at most so many messages in any one second, never a burst above it.

A moving window (the `limits` library): a send may go when fewer than `rate` went in the
last second. A leaky bucket spacing sends 1/rate apart loses every moment the sender is
late (a batch being claimed, a slow write) and so stays below its rate on a busy morning;
a bucket allowed to burst can put twice the rate into one second. The window does neither.
"""

from __future__ import annotations

import asyncio
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter


class Pace:
    """Waits, when needed, so that sends stay within `rate` a second."""

    def __init__(self, rate: float) -> None:
        # 29.5 a second is 29 in any second; 0.5 a second is 1 in any 2 seconds.
        if rate >= 1:
            self.item = RateLimitItemPerSecond(int(rate), 1)
        else:
            self.item = RateLimitItemPerSecond(1, math.ceil(1 / rate))
        self._window = MovingWindowRateLimiter(MemoryStorage())

    async def wait(self) -> None:
        """Return once one more send fits, and count it."""
        while not await self._window.hit(self.item, "sends"):
            stats = await self._window.get_window_stats(self.item, "sends")
            await asyncio.sleep(max(stats.reset_time - time.time(), 0.001))
