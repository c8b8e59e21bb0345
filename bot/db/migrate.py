"""Apply and inspect schema migrations, from the running bot or from a command line.

Alembic is configured here in code (no alembic.ini), and runs inside the caller's event
loop on a connection handed to `migrations/env.py`, so `await upgrade(url)` works at bot
start-up and `asyncio.run(upgrade(url))` works from a CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from bot.db.engine import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any constant will do: it only has to be the same for every Glutebot process.
_MIGRATION_LOCK_ID = 0x676C757465


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database up to `revision` (all of it or none of it); harmless if already there."""
    await _run(url, command.upgrade, revision)


async def downgrade(url: str, revision: str = "base") -> None:
    """Take the database back down to `revision` (`base`: no tables at all)."""
    await _run(url, command.downgrade, revision)


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None if it has never been migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for Glutebot's migrations; env.py runs on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


async def _run(url: str, step: Callable[[Config, str], None], revision: str) -> None:
    # Foreign keys off on SQLite: a batch migration rebuilds a table by dropping it, and
    # with them on that drop would cascade-delete every row that refers to it.
    engine = create_engine(url, enforce_foreign_keys=False)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, step, revision)
    finally:
        await engine.dispose()


def _migrate(connection: Connection, step: Callable[[Config, str], None], revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # Two processes starting at once take turns instead of both creating tables.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
    step(alembic_config(connection), revision)
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration left rows with dangling foreign keys: {broken}")
