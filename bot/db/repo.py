"""Reading and writing users and processed updates; every function takes an AsyncSession.

Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.handled import insert_ignoring_duplicates, record_update
from bot.db.models import (
    Decision,
    Nudge,
    ProcessedUpdate,
    Report,
    Screen,
    ScreenAnswer,
    User,
    UserSettings,
    UserState,
)


async def upsert_user(
    session: AsyncSession,
    *,
    user_id: int,
    chat_id: int,
    first_name: str,
    username: str | None,
    language_code: str | None,
    now: datetime,
) -> tuple[User, bool]:
    """The user, created with default settings on first sight (True) or refreshed (False).

    A known user gets the current chat id, names and language, and `last_seen_at = now`;
    their state and settings are left alone. Safe when two updates from a new user race.
    """
    profile = {
        "chat_id": chat_id,
        "first_name": first_name,
        "username": username,
        "language_code": language_code,
    }
    inserted = await session.execute(
        insert_ignoring_duplicates(session, User)
        .values(id=user_id, created_at=now, updated_at=now, last_seen_at=now, **profile)
        .returning(User.id)
    )
    created = inserted.first() is not None
    if created:
        await session.execute(
            insert_ignoring_duplicates(session, UserSettings).values(user_id=user_id)
        )
    else:
        await session.execute(
            update(User)
            .where(User.id == user_id)
            .values(updated_at=now, last_seen_at=now, **profile)
            .execution_options(synchronize_session=False)
        )
    user = await session.get(User, user_id, populate_existing=True)
    assert user is not None  # inserted or updated above, in this transaction
    return user, created


async def seen_user(
    session: AsyncSession,
    known: User | None,
    *,
    user_id: int,
    chat_id: int,
    first_name: str,
    username: str | None,
    language_code: str | None,
    now: datetime,
) -> User:
    """`upsert_user` for a user this session may have loaded already (`known`).

    The row ends the same as after `upsert_user`; a known user is refreshed through the
    session (one UPDATE at flush) instead of three statements.
    """
    if known is None:
        user, _ = await upsert_user(
            session,
            user_id=user_id,
            chat_id=chat_id,
            first_name=first_name,
            username=username,
            language_code=language_code,
            now=now,
        )
        return user
    known.chat_id, known.first_name = chat_id, first_name
    known.username, known.language_code = username, language_code
    known.updated_at = known.last_seen_at = now
    return known


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    """The user with their settings, or None if the bot has never seen them."""
    return await session.get(User, user_id)


async def user_state(session: AsyncSession, user_id: int) -> UserState | None:
    """The user's state alone (no row loaded), or None if the bot has never seen them."""
    state: UserState | None = await session.scalar(select(User.state).where(User.id == user_id))
    return state


async def mark_update_processed(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record a Telegram update id: True the first time, False if it was already recorded.

    Race-safe: of two transactions recording the same id, exactly one gets True once both
    commit (the other waits for the first and then finds the row).
    """
    return await session.run_sync(record_update, update_id, now)


async def prune_processed_updates(session: AsyncSession, older_than: datetime) -> int:
    """Forget update ids processed before `older_than`; returns how many were forgotten."""
    result = await session.execute(
        delete(ProcessedUpdate)
        .where(ProcessedUpdate.processed_at < older_than)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def count_rows_for_user(session: AsyncSession, user_id: int) -> dict[str, int]:
    """How many rows each table holds about the user, by table name.

    Covers every table with personal data; `processed_updates` holds only Telegram update
    ids and times, nothing that names a person.
    """
    counts = {
        User.__tablename__: select(func.count()).where(User.id == user_id),
        UserSettings.__tablename__: select(func.count()).where(UserSettings.user_id == user_id),
        Screen.__tablename__: select(func.count()).where(Screen.user_id == user_id),
        ScreenAnswer.__tablename__: select(func.count())
        .select_from(ScreenAnswer)
        .join(Screen, ScreenAnswer.screen_id == Screen.id)
        .where(Screen.user_id == user_id),
        Nudge.__tablename__: select(func.count()).where(Nudge.user_id == user_id),
        Report.__tablename__: select(func.count()).where(Report.user_id == user_id),
        Decision.__tablename__: select(func.count()).where(Decision.user_id == user_id),
    }
    return {table: (await session.scalar(query)) or 0 for table, query in counts.items()}


async def delete_user(session: AsyncSession, user_id: int) -> bool:
    """Erase the user and, by ON DELETE CASCADE, everything about them; False if unknown."""
    result = await session.execute(delete(User).where(User.id == user_id))
    return _rowcount(result) > 0


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)  # DML results always are
    return result.rowcount
