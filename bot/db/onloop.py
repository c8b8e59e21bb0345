"""SQLite on the event loop's own thread: aiosqlite's connection without its worker thread.

aiosqlite runs every call in a thread of its own and wakes the event loop when it is done.
SQLAlchemy makes four such calls per statement (cursor, execute, fetch, close), and each
hand-off costs far more than SQLite's own work: about 30 us against 1 us for a read by key
on this project's machine. Without them an update takes half the CPU (docs/BENCHMARKS.md).
Glutebot's statements are small reads and writes on a local file, done in microseconds,
so here they run at once, on the loop's thread. SQLAlchemy still talks to aiosqlite's API
(the `sqlite+aiosqlite` dialect, unchanged); only the hand-off is gone.

Waiting for the write lock must not stop the loop, since the transaction holding it may
need the loop to finish (SQLAlchemy commits an `async with sessions.begin()` block in a
task of its own). So SQLite's own busy wait is off (busy_timeout=0, set in
bot/db/engine.py) and a call that finds the database locked is tried again after an
asyncio sleep, for up to `BUSY_SECONDS`, then fails with "database is locked" as before.
SQLite reports a busy lock before a statement changes anything, so trying again is safe.

A long statement holds the loop while it runs; code that runs many transactions in a row
yields between them (`await asyncio.sleep(0)`) so that updates go on meanwhile.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL

BUSY_SECONDS = 5.0  # how long a call waits for another writer's lock before it fails
LONG_CALL_SECONDS = 0.01  # after a call this long, other tasks get a turn before the next
_FIRST_WAIT, _LONGEST_WAIT = 0.001, 0.05  # seconds between tries, doubling


class _RunAtOnce:
    """Takes the place of aiosqlite's queue to its thread: runs each call as it comes and
    settles the caller's future before the caller awaits it (so the await does not yield)."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, call = item
        try:
            result = call()
        except BaseException as error:  # the caller's await raises it, as with the thread
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class LoopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread (no worker thread)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # aiosqlite would start its thread here

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run the call now; while another writer holds the lock, sleep and try again."""
        wait, deadline = _FIRST_WAIT, None
        while True:
            began = time.perf_counter()
            try:
                result = await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
            except sqlite3.OperationalError as error:
                if str(error) != "database is locked":
                    raise
                loop = asyncio.get_running_loop()
                deadline = deadline or loop.time() + BUSY_SECONDS
                if loop.time() + wait > deadline:
                    raise
                await asyncio.sleep(wait)
                wait = min(wait * 2, _LONGEST_WAIT)
                continue
            if time.perf_counter() - began > LONG_CALL_SECONDS:
                await asyncio.sleep(0)  # a long query had the loop: let the others have a turn
            return result


def connector(url: URL) -> Callable[[], Awaitable[LoopConnection]]:
    """An `async_creator` for create_async_engine: SQLite connections for `url` that run on
    the loop's thread, opened with the arguments SQLAlchemy's own pysqlite dialect uses."""
    args, options = SQLiteDialect_pysqlite().create_connect_args(url)

    def open_file() -> sqlite3.Connection:
        return sqlite3.connect(*args, **options)  # type: ignore[call-overload,no-any-return]

    async def connect() -> LoopConnection:
        connection = await LoopConnection(open_file)
        assert isinstance(connection, LoopConnection)
        return connection

    return connect
