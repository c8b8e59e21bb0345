"""Broadcast due times: at most a third of the send rate, around what is already scheduled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Broadcast, BroadcastState, Nudge, NudgeKind, NudgeState, User, UserState
from bot.services.broadcast import spread, status

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


async def test_status_counts_a_message_a_crash_cut_short_apart_from_those_not_sent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        for user_id in (1, 2, 3):
            session.add(
                User(
                    id=user_id,
                    chat_id=user_id,
                    first_name="P",
                    state=UserState.ACTIVE,
                    created_at=MINUTE,
                    updated_at=MINUTE,
                    last_seen_at=MINUTE,
                )
            )
        broadcast = Broadcast(
            admin_id=9,
            text="Hello all",
            state=BroadcastState.QUEUED,
            recipients=3,
            created_at=MINUTE,
            queued_at=MINUTE,
        )
        session.add(broadcast)
        await session.flush()
        for user_id, state in (
            (1, NudgeState.SENT),
            (2, NudgeState.MISSED),
            (3, NudgeState.CANCELLED),
        ):
            session.add(
                Nudge(
                    user_id=user_id,
                    due_at=MINUTE,
                    state=state,
                    kind=NudgeKind.BROADCAST,
                    broadcast_id=broadcast.id,
                    created_at=MINUTE,
                )
            )
    async with sessions() as session:
        text = await status(session)
    assert "• sent: 1\n" in text
    assert "• not sent, no longer taking nudges: 1\n" in text
    assert "• cut short by a restart, may have arrived: 1\n" in text
