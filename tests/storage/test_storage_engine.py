"""SQLite connections come configured; transactions really are transactions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError

from bot.db import onloop
from bot.db.engine import create_engine


async def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            # SQLite's own busy wait would stop the event loop: bot/db/onloop.py waits instead.
            assert await connection.scalar(text("PRAGMA busy_timeout")) == 0
            assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
            assert await connection.scalar(text("PRAGMA synchronous")) == 1  # NORMAL
        assert path.exists()

        # The driver alone would run DDL outside any transaction, so it would survive this.
        async with engine.connect() as connection:
            await connection.execute(text("CREATE TABLE scratch (id INTEGER)"))
            await connection.rollback()
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            assert "scratch" not in tables
    finally:
        await engine.dispose()


async def test_sqlite_read_then_write_transactions_take_turns(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE visits (n INTEGER)"))

        async def count_then_add() -> None:
            async with engine.begin() as connection:
                seen = await connection.scalar(text("SELECT count(*) FROM visits"))
                await connection.execute(text("INSERT INTO visits VALUES (:n)"), {"n": seen})

        # Deferred transactions would fail here with "database is locked": each holds a
        # read snapshot the other's write makes stale.
        await asyncio.gather(*(count_then_add() for _ in range(4)))
        async with engine.connect() as connection:
            numbers = (await connection.scalars(text("SELECT n FROM visits ORDER BY n"))).all()
        assert numbers == [0, 1, 2, 3]
    finally:
        await engine.dispose()


async def test_a_writer_waits_for_the_lock_while_the_loop_goes_on(sqlite_url: str) -> None:
    """SQLite runs on the loop's thread; waiting for another writer must not stop the loop,
    or the transaction holding the lock (here, one that sleeps) could never finish."""
    engine = create_engine(sqlite_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE visits (n INTEGER)"))
        ticks = 0
        holding = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def slow_writer() -> None:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO visits VALUES (1)"))
                holding.set()
                await asyncio.sleep(0.3)  # the lock is held across a real wait

        async def second_writer() -> int:
            await holding.wait()
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO visits VALUES (2)"))
                return ticks

        ticking = asyncio.create_task(ticker())
        _, ticks_when_written = await asyncio.gather(slow_writer(), second_writer())
        ticking.cancel()
        assert ticks_when_written >= 10  # the loop kept running while the second one waited
        async with engine.connect() as connection:
            numbers = (await connection.scalars(text("SELECT n FROM visits ORDER BY n"))).all()
        assert numbers == [1, 2]
    finally:
        await engine.dispose()


async def test_a_writer_gives_up_when_the_lock_is_never_released(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onloop, "BUSY_SECONDS", 0.2)
    engine = create_engine(sqlite_url)
    other = create_engine(sqlite_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE visits (n INTEGER)"))
        async with other.begin() as holder:
            await holder.execute(text("INSERT INTO visits VALUES (1)"))
            began = asyncio.get_running_loop().time()
            with pytest.raises(OperationalError, match="database is locked"):
                async with engine.begin() as connection:
                    await connection.execute(text("INSERT INTO visits VALUES (2)"))
            assert asyncio.get_running_loop().time() - began >= 0.15
        async with engine.connect() as connection:
            numbers = (await connection.scalars(text("SELECT n FROM visits"))).all()
        assert numbers == [1]  # the holder's write, nothing of the one that gave up
    finally:
        await other.dispose()
        await engine.dispose()
