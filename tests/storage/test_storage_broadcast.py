"""Broadcast due times: at most a third of the send rate, around what is already scheduled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Nudge, NudgeKind, NudgeState, User, UserState
from bot.services.broadcast import spread

MINUTE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def test_spread_takes_a_third_of_the_rate_and_skips_busy_minutes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # 0.3 messages a second: 18 a minute in all, 6 of them for broadcasts.
    async with sessions.begin() as session:
        session.add(
            User(
                id=7,
                chat_id=7,
                first_name="P",
                state=UserState.ACTIVE,
                created_at=MINUTE,
                updated_at=MINUTE,
                last_seen_at=MINUTE,
            )
        )
        await session.flush()
        regular = [(MINUTE, 15), (MINUTE + timedelta(minutes=1), 18)]  # room for 3, then none
        for minute, count in regular:
            for n in range(count):
                session.add(
                    Nudge(
                        user_id=7,
                        due_at=minute + timedelta(seconds=n),
                        state=NudgeState.SCHEDULED,
                        kind=NudgeKind.NUDGE,
                        created_at=MINUTE,
                    )
                )
        session.add(  # a broadcast already queued in the third minute
            Nudge(
                user_id=7,
                due_at=MINUTE + timedelta(minutes=2),
                state=NudgeState.SCHEDULED,
                kind=NudgeKind.BROADCAST,
                created_at=MINUTE,
            )
        )
    async with sessions() as session:
        times, after = await spread(session, MINUTE, 10, rate=0.3)
    seconds = [(t - MINUTE).total_seconds() for t in times]
    assert seconds == [0, 20, 40, 120, 132, 144, 156, 168, 180, 190]
    assert (after - MINUTE).total_seconds() == 200
