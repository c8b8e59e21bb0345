"""SQLite connections come configured; transactions really are transactions."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import inspect, text

from bot.db.engine import create_engine


async def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await connection.scalar(text("PRAGMA busy_timeout")) == 5000
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
