"""What follows a batch is planned from the users as claimed, but never for someone who has
stopped taking nudges since the claim (bot/delivery/planner.py `schedule_next_nudges`)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Nudge, User, UserSettings, UserState
from bot.delivery import planner
from bot.delivery.outbox import recipients
from tests.storage.test_storage_repo import NOW, add_user


@pytest.mark.parametrize(
    ("state", "paused_until", "scheduled"),
    [
        (UserState.ACTIVE, None, 1),
        (UserState.PAUSED, NOW, 1),  # a dated pause: the next nudge waits for its end
        (UserState.PAUSED, None, 0),  # /pause forever while the nudge was being sent
        (UserState.STOPPED, None, 0),
        (UserState.REFERRED, None, 0),
    ],
)
async def test_the_next_nudge_is_planned_only_for_users_still_taking_nudges(
    sessions: async_sessionmaker[AsyncSession],
    state: UserState,
    paused_until: object,
    scheduled: int,
) -> None:
    async with sessions.begin() as session:
        await add_user(session, 5)
        await session.execute(update(User).where(User.id == 5).values(state=UserState.ACTIVE))
    async with sessions() as session:
        claimed = (await recipients(session, [5]))[5]  # active when its nudge was claimed
    async with sessions.begin() as session:  # a handler, while the nudge was being sent
        await session.execute(update(User).where(User.id == 5).values(state=state))
        await session.execute(
            update(UserSettings).where(UserSettings.user_id == 5).values(paused_until=paused_until)
        )
    async with sessions.begin() as session:
        book = planner.MinuteBook(planner.per_minute(29.0))
        await planner.schedule_next_nudges(session, {5: (claimed, NOW)}, NOW, book)
    async with sessions() as session:
        assert len((await session.scalars(select(Nudge).where(Nudge.user_id == 5))).all()) == (
            scheduled
        )
