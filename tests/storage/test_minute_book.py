"""Levelling's minute counts: taken from the database once, then kept up to date in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Nudge, NudgeState
from bot.db.repo import upsert_user
from bot.delivery.planner import MinuteBook

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Stopwatch:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


async def _schedule(session: AsyncSession, user_id: int, due: datetime) -> None:
    await upsert_user(
        session,
        user_id=user_id,
        chat_id=user_id,
        first_name="P",
        username=None,
        language_code=None,
        now=NINE,
    )
    session.add(Nudge(user_id=user_id, due_at=due, state=NudgeState.SCHEDULED, created_at=NINE))


async def test_a_full_minute_pushes_to_the_next_and_bookings_are_remembered(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await _schedule(session, 1, NINE + timedelta(seconds=10))
    watch = Stopwatch()
    book = MinuteBook(2, keep_for=60, monotonic=watch)
    due = NINE + timedelta(seconds=30)
    async with sessions() as session:
        # One place left at 09:00 (one row in the database), then 09:01 takes the rest.
        assert await book.level(session, due) == due
        assert await book.level(session, due) == due + timedelta(minutes=1)
        assert await book.level(session, due) == due + timedelta(minutes=1)
        assert await book.level(session, due) == due + timedelta(minutes=2)


async def test_counts_are_taken_again_once_they_are_old(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watch = Stopwatch()
    book = MinuteBook(2, keep_for=60, monotonic=watch)
    async with sessions() as session:
        assert await book.level(session, NINE) == NINE  # counted: empty, now one booked
    async with sessions.begin() as session:  # a handler schedules two others meanwhile
        await _schedule(session, 1, NINE)
        await _schedule(session, 2, NINE + timedelta(seconds=5))
    async with sessions() as session:
        assert await book.level(session, NINE) == NINE  # still believes one place is left
        watch.seconds = 61
        # Counted again: the database holds two, so 09:00 is full.
        assert await book.level(session, NINE) == NINE + timedelta(minutes=1)
