"""The one place database engines and sessions are made (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from bot.db import onloop
from bot.db.handled import HandledSession

_READ_ONLY = "glutebot_read_only"  # an execution option: see `read_only`

# WAL lets readers work beside the one writer; NORMAL is durable enough with WAL. SQLite's
# own busy wait would stop the event loop: a call that finds the database locked fails at
# once and bot/db/onloop.py tries it again after an asyncio sleep (up to 5 s in all).
_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=0",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
)


def create_engine(
    url: str, *, echo: bool = False, enforce_foreign_keys: bool = True
) -> AsyncEngine:
    """An async engine for a SQLite file (aiosqlite) or a PostgreSQL database (asyncpg).

    On SQLite the file's folder is created, every connection gets WAL, busy_timeout,
    foreign keys and synchronous=NORMAL, and every transaction starts with BEGIN IMMEDIATE.
    SQLite's calls run on the event loop's thread (bot/db/onloop.py); code that runs many
    transactions in a row yields between them.
    `enforce_foreign_keys=False` is for migrations only (see `bot.db.migrate`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed, echo=echo, enforce_foreign_keys=enforce_foreign_keys)
    return create_async_engine(
        parsed,
        echo=echo,
        hide_parameters=True,  # errors and logs leave out bound values: users typed them
        pool_size=5,
        max_overflow=10,
        pool_timeout=30,
        pool_pre_ping=True,  # a connection dropped by a restart or idle timeout is replaced
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": "glutebot"}},
    )


@asynccontextmanager
async def read_only(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads only. On SQLite it takes no write lock: each SELECT runs on
    its own (no BEGIN IMMEDIATE), so it never waits for a writer nor holds one up."""
    async with engine.connect() as connection:
        yield await connection.execution_options(**{_READ_ONLY: True})


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (no lazy reload in async code).

    Their commits also record the Telegram update being handled, if any (bot/db/handled.py).
    """
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=HandledSession)


def _create_sqlite_engine(url: URL, *, echo: bool, enforce_foreign_keys: bool) -> AsyncEngine:
    database = url.database or ""
    if database not in ("", ":memory:") and not url.query.get("uri"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,  # as above
        async_creator=onloop.connector(url),  # no hand-off to aiosqlite's thread
    )
    pragmas = (*_SQLITE_PRAGMAS, f"PRAGMA foreign_keys={'ON' if enforce_foreign_keys else 'OFF'}")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Python < 3.16 sqlite3 begins transactions only before writes (never before a
        # SELECT or DDL), which breaks isolation and transactional DDL. Take BEGIN away
        # from the driver and emit it ourselves in _on_begin (the documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so a transaction that reads and then
        # writes waits (bot/db/onloop.py) for another writer instead of failing with
        # "database is locked" when it tries to upgrade its read lock.
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT" or options.get(_READ_ONLY):
            return  # each statement is its own transaction (see `read_only`)
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
