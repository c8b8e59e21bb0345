"""Receipts: what became of each claimed message, written the moment it is known.

One UPDATE per message, committed on its own, is what leaves after a crash at most one
message in doubt, the one in flight (bot/delivery/outbox.py marks it missed). It is the
hottest statement in the bot (one per nudge sent), so it goes to the database driver
directly: SQLAlchemy's async adaptation costs about three times what SQLite needs to run
the statement itself (measured: 0.23 ms against 0.07 ms).
Everything else goes through SQLAlchemy as usual.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import NudgeState

# What a sent nudge records besides its state: the picked exercise and its words.
SENT_DETAILS = ("exercise_id", "track", "anchor", "text", "target_reps", "telegram_message_id")


def _statement(columns: tuple[str, ...], *, numbered: bool) -> str:
    """The receipt as SQL, with `?` (SQLite) or `$1..` (PostgreSQL) for the values in order:
    the state, `columns`, then the nudge id and the claimer (it must still be our claim).

    A NULL for one of `columns` keeps what the row holds: a snoozed nudge sent again
    keeps the exercise and words it was first sent with.
    """
    names = ("state", *columns)
    count = len(names) + 2
    marks = [f"${n}" for n in range(1, count + 1)] if numbered else ["?"] * count
    sets = ", ".join(
        f"{name} = {mark}" if name == "state" else f"{name} = COALESCE({mark}, {name})"
        for name, mark in zip(names, marks, strict=False)
    )
    return (
        f"UPDATE nudges SET {sets}, attempts = attempts + 1, claimed_by = NULL "
        f"WHERE id = {marks[-2]} AND state = '{NudgeState.CLAIMED.value}' "
        f"AND claimed_by = {marks[-1]} RETURNING id"
    )


class Receipts:
    """Writes receipts on one connection of its own, outside any transaction."""

    def __init__(self, driver: Any, dialect: str) -> None:
        self._driver = driver
        self._postgres = dialect == "postgresql"
        self._sent = _statement(("sent_at", *SENT_DETAILS), numbered=self._postgres)
        self._other = _statement(("last_error",), numbered=self._postgres)

    @classmethod
    @asynccontextmanager
    async def open(cls, engine: AsyncEngine) -> AsyncIterator[Receipts]:
        """Receipts on a connection borrowed from the engine's pool for the while."""
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            yield cls(raw.driver_connection, engine.dialect.name)

    async def sent(
        self, nudge_id: int, claimer: str, at: datetime, details: Mapping[str, object]
    ) -> bool:
        """Record a delivered message; False if the claim was no longer ours."""
        values = [self._moment(at), *(details.get(column) for column in SENT_DETAILS)]
        return await self._write(self._sent, NudgeState.SENT, values, nudge_id, claimer)

    async def other(
        self, nudge_id: int, claimer: str, state: NudgeState, error: str | None = None
    ) -> bool:
        """Record a message that was skipped, cancelled or failed for good."""
        return await self._write(self._other, state, [error], nudge_id, claimer)

    async def _write(
        self, sql: str, state: NudgeState, values: list[object], nudge_id: int, claimer: str
    ) -> bool:
        arguments = [state.value, *values, nudge_id, claimer]
        if self._postgres:
            return await self._driver.fetchval(sql, *arguments) is not None
        # One trip to aiosqlite's thread (execute, then close the cursor, would be two).
        return len(await self._driver.execute_fetchall(sql, arguments)) == 1

    def _moment(self, at: datetime) -> object:
        # As bot.db.types.UTCDateTime stores it: timestamptz, or naive UTC text on SQLite
        # (SQLAlchemy's format, microseconds always written, so text order is time order).
        utc = at.astimezone(UTC)
        return utc if self._postgres else utc.strftime("%Y-%m-%d %H:%M:%S.%f")
