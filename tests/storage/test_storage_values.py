"""Values come back as they went in: aware UTC datetimes and JSON documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Nudge, Screen, ScreenAnswer
from bot.db.repo import get_user, upsert_user

KOLKATA = timezone(timedelta(hours=5, minutes=30))


async def test_datetimes_and_json_round_trip(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    local = datetime(2026, 3, 2, 14, 30, 15, 123456, tzinfo=KOLKATA)
    async with sessions.begin() as session:
        new_user, _ = await upsert_user(
            session,
            user_id=1,
            chat_id=1,
            first_name="Ada",
            username=None,
            language_code=None,
            now=local,
        )
        new_user.settings.paused_until = local + timedelta(days=1)
        new_user.settings.anchors = ["coffee", "stand-up call"]
        new_user.settings.levels = {"bridge": 2, "hinge": 0}
        screen = Screen(
            user_id=1,
            started_at=local,
            current_step="pain",
            result={"red_flags": [], "score": 3.5, "note": "ünïcode"},
        )
        screen.answers.append(ScreenAnswer(step="pain", answer=["back", 4], answered_at=local))
        session.add(screen)

    async with sessions.begin() as session:
        user = await get_user(session, 1)
        assert user is not None
        for moment in (user.created_at, user.last_seen_at):
            assert moment == local
            assert moment.tzinfo is UTC
        assert user.settings.paused_until == local + timedelta(days=1)
        assert user.settings.paused_until.tzinfo is UTC
        assert user.settings.anchors == ["coffee", "stand-up call"]
        assert user.settings.equipment == []
        # An in-place change is noticed and saved, not silently dropped.
        user.settings.levels["bridge"] = 3

    async with sessions() as session:
        user = await get_user(session, 1)
        assert user is not None
        assert user.settings.levels == {"bridge": 3, "hinge": 0}
        reread = await session.get(Screen, screen.id)
        assert reread is not None
        assert reread.result == {"red_flags": [], "score": 3.5, "note": "ünïcode"}
        assert [(a.step, a.answer) for a in reread.answers] == [("pain", ["back", 4])]
        assert reread.answers[0].answered_at.tzinfo is UTC

    async with sessions() as session:
        session.add(Nudge(user_id=1, due_at=datetime(2026, 3, 2, 9, 0), created_at=local))
        with pytest.raises(StatementError, match="naive datetime"):
            await session.flush()
