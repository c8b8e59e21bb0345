"""A wake-up call that any number of coroutines can wait for."""

from __future__ import annotations

import asyncio
import contextlib


class Notifier:
    """Lets coroutines sleep until the next `notify()` (bound their wait with asyncio.timeout).

    Holds no event loop between waits, so one notifier serves every loop that uses it.
    """

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        """Wake everyone who is waiting right now."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Return at the next `notify()`."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            with contextlib.suppress(ValueError):  # already removed by notify()
                self._waiters.remove(waiter)
