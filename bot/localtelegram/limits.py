"""Telegram's flood control: how many messages a bot may send, overall and into one chat."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `count` messages in any window of `seconds`."""

    count: int
    seconds: float

    def __post_init__(self) -> None:
        if self.count < 1 or self.seconds <= 0:
            raise ValueError("a rate needs count >= 1 and seconds > 0")


class FloodControl:
    """Counts sends in sliding windows and says how long to wait when one would go over.

    Memory stays bounded: chats that have been quiet for a whole window are forgotten in
    occasional sweeps, so a hundred thousand chats cost only what their recent sends cost.
    """

    def __init__(self, overall: Rate, per_chat: Rate, monotonic: Callable[[], float]) -> None:
        self.overall = overall
        self.per_chat = per_chat
        self._monotonic = monotonic
        self._recent: deque[float] = deque()
        self._recent_by_chat: dict[int, deque[float]] = {}
        self._sweep_at = 1024

    def admit(self, chat_id: int) -> int | None:
        """Record a send to `chat_id` and return None, or return the retry_after it must wait."""
        now = self._monotonic()
        chat_recent = self._recent_by_chat.get(chat_id)
        if chat_recent is None:
            self._maybe_sweep(now)
            chat_recent = self._recent_by_chat[chat_id] = deque()
        waits = [_wait(self._recent, self.overall, now), _wait(chat_recent, self.per_chat, now)]
        longest = max(waits)
        if longest > 0:
            return max(1, math.ceil(longest))
        self._recent.append(now)
        chat_recent.append(now)
        return None

    def _maybe_sweep(self, now: float) -> None:
        if len(self._recent_by_chat) < self._sweep_at:
            return
        cutoff = now - self.per_chat.seconds
        self._recent_by_chat = {
            chat_id: sends
            for chat_id, sends in self._recent_by_chat.items()
            if sends and sends[-1] > cutoff
        }
        self._sweep_at = max(1024, 2 * len(self._recent_by_chat))


def _wait(sends: deque[float], rate: Rate, now: float) -> float:
    """Seconds until one more send fits in `rate`, after forgetting sends outside the window."""
    while sends and sends[0] <= now - rate.seconds:
        sends.popleft()
    if len(sends) < rate.count:
        return 0.0
    return sends[0] + rate.seconds - now
