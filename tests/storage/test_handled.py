"""An update's id is committed with what handling it changed, or not at all (bot/db/handled.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.handled import AlreadyHandled, handling
from bot.db.models import ProcessedUpdate, User
from tests.storage.test_storage_repo import NOW
from tests.storage.test_storage_repo import add_user as add_user_in


async def add_user(sessions: async_sessionmaker[AsyncSession], user_id: int) -> None:
    async with sessions.begin() as session:
        await add_user_in(session, user_id)


async def recorded_ids(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session:
        return list(await session.scalars(select(ProcessedUpdate.update_id)))


async def user_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_the_first_commit_while_handling_records_the_update_with_its_change(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with handling(11, NOW) as current:
        await add_user(sessions, 1)
        assert current.recorded
        await add_user(sessions, 2)  # a second transaction of the same update adds no id
    await add_user(sessions, 3)  # outside any update: nothing recorded
    assert await recorded_ids(sessions) == [11]
    assert await user_count(sessions) == 3


async def test_a_transaction_that_rolls_back_leaves_the_update_to_be_handled_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with handling(12, NOW) as current:
        with pytest.raises(RuntimeError):
            async with sessions.begin() as session:
                session.add(ProcessedUpdate(update_id=999, processed_at=NOW))
                raise RuntimeError("the handler failed before its commit")
        assert not current.recorded
    assert await recorded_ids(sessions) == []
    with handling(12, NOW):  # Telegram delivers it again: it counts now
        await add_user(sessions, 1)
    assert await recorded_ids(sessions) == [12]


async def test_the_same_update_handled_twice_at_once_changes_the_data_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def handle(user_id: int) -> str:
        with handling(13, NOW):
            try:
                await add_user(sessions, user_id)
            except AlreadyHandled:
                return "rolled back"
            return "committed"

    outcomes = await asyncio.gather(handle(1), handle(2))
    assert sorted(outcomes) == ["committed", "rolled back"]
    assert await recorded_ids(sessions) == [13]
    assert await user_count(sessions) == 1  # the loser's user was never stored
