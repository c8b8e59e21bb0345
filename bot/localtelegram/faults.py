"""Failures a test asks for: the next few matching calls fail the way Telegram sometimes does,
or (for soak tests and benchmarks) any call fails now and then, at rates the test sets."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from bot.localtelegram.protocol import ApiError, NoResponse, forbidden, too_many_requests

FaultKind = Literal["server_error", "timeout", "blocked", "flood"]


@dataclass(slots=True)
class Fault:
    """One requested failure and how many more calls it will hit."""

    kind: FaultKind
    chat_id: int | None
    times: int
    retry_after: int

    def matches(self, chat_id: int | None) -> bool:
        """Whether a call into `chat_id` is one this fault hits."""
        return self.chat_id is None or self.chat_id == chat_id

    def error(self) -> ApiError | NoResponse:
        """What the failing call experiences."""
        if self.kind == "server_error":
            return ApiError(500, "Internal Server Error")
        if self.kind == "blocked":
            return forbidden("bot was blocked by the user")
        if self.kind == "flood":
            return too_many_requests(self.retry_after)
        return NoResponse()


class FaultPlan:
    """The failures still to come, by Bot API method: counted ones first, then random ones."""

    def __init__(self) -> None:
        self._by_method: defaultdict[str, list[Fault]] = defaultdict(list)
        self._rates: dict[str, tuple[tuple[Fault, float], ...]] = {}
        self._random = random.Random()

    def add(
        self, method: str, kind: FaultKind, chat_id: int | None, times: int, retry_after: int
    ) -> None:
        """Make the next `times` calls of `method` (into `chat_id`, or any chat) fail."""
        if kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {get_args(FaultKind)}")
        if times < 1 or retry_after < 1:
            raise ValueError("times and retry_after must be at least 1")
        self._by_method[method.lower()].append(Fault(kind, chat_id, times, retry_after))

    def set_rates(
        self,
        method: str,
        rates: Mapping[FaultKind, float],
        retry_after: int,
        seed: int | None = None,
    ) -> None:
        """From now on each call of `method` fails as `kind` with probability `rates[kind]`.

        Empty `rates` stops it. `seed` makes the sequence of failures repeatable.
        """
        for kind, rate in rates.items():
            if kind not in get_args(FaultKind):
                known = get_args(FaultKind)
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {known}")
            if not (math.isfinite(rate) and 0 <= rate <= 1):
                raise ValueError(f"a fault rate is a probability from 0 to 1, got {rate!r}")
        if sum(rates.values()) > 1:
            raise ValueError("the fault rates of one method add up to more than 1")
        if retry_after < 1:
            raise ValueError("retry_after must be at least 1")
        if seed is not None:
            self._random.seed(seed)
        chances = tuple(
            (Fault(kind, None, 1, retry_after), rate) for kind, rate in rates.items() if rate > 0
        )
        if chances:
            self._rates[method.lower()] = chances
        else:
            self._rates.pop(method.lower(), None)

    def take(self, method: str, chat_id: int | None) -> Fault | None:
        """The fault this call runs into, if any, counting it as used."""
        faults = self._by_method.get(method.lower())
        if faults:
            for fault in faults:
                if fault.matches(chat_id):
                    fault.times -= 1
                    if fault.times == 0:
                        faults.remove(fault)
                    return fault
        return self._roll(method)

    def _roll(self, method: str) -> Fault | None:
        chances = self._rates.get(method.lower())
        if not chances:
            return None
        draw = self._random.random()
        for fault, rate in chances:
            if draw < rate:
                return fault
            draw -= rate
        return None
