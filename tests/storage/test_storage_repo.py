"""Users, processed updates, deleting a user, and the nudge queue's index."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import (
    Base,
    Decision,
    Nudge,
    NudgeState,
    ProcessedUpdate,
    Report,
    ReportSource,
    Screen,
    ScreenAnswer,
    UserState,
)
from bot.db.repo import (
    count_rows_for_user,
    delete_user,
    get_user,
    mark_update_processed,
    prune_processed_updates,
    upsert_user,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def add_user(session: AsyncSession, user_id: int, now: datetime = NOW) -> None:
    await upsert_user(
        session,
        user_id=user_id,
        chat_id=user_id,
        first_name=f"User {user_id}",
        username=None,
        language_code="en",
        now=now,
    )


async def test_upsert_user_creates_once_then_refreshes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        user, created = await upsert_user(
            session,
            user_id=5_000_000_001,  # Telegram ids outgrow 32 bits
            chat_id=5_000_000_001,
            first_name="Ada",
            username="ada",
            language_code="en",
            now=NOW,
        )
        assert created
        assert user.state is UserState.NEW
        assert (user.settings.timezone, user.settings.window_start) == ("UTC", 540)
        user.state = UserState.ACTIVE
        user.settings.timezone = "Europe/Berlin"

    later = NOW + timedelta(hours=3)
    async with sessions.begin() as session:
        user, created = await upsert_user(
            session,
            user_id=5_000_000_001,
            chat_id=42,
            first_name="Ada L.",
            username=None,
            language_code="de",
            now=later,
        )
        assert not created

    async with sessions() as session:
        stored = await get_user(session, 5_000_000_001)
        assert stored is not None
        assert (stored.chat_id, stored.first_name, stored.username, stored.language_code) == (
            42,
            "Ada L.",
            None,
            "de",
        )
        assert (stored.created_at, stored.last_seen_at, stored.updated_at) == (NOW, later, later)
        assert stored.state is UserState.ACTIVE
        assert stored.settings.timezone == "Europe/Berlin"
        assert await get_user(session, 7) is None


async def test_update_is_processed_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async def record(update_id: int, now: datetime = NOW) -> bool:
        async with sessions.begin() as session:
            return await mark_update_processed(session, update_id, now)

    assert await record(1)
    assert not await record(1)
    # Redeliveries racing in separate transactions: exactly one of them wins.
    assert sorted(await asyncio.gather(*(record(2) for _ in range(5)))) == [False] * 4 + [True]

    assert await record(3, NOW + timedelta(days=2))
    async with sessions.begin() as session:
        assert await prune_processed_updates(session, NOW + timedelta(days=1)) == 2
    async with sessions() as session:
        assert (await session.scalars(select(ProcessedUpdate.update_id))).all() == [3]


async def _add_history(session: AsyncSession, user_id: int) -> None:
    """Give the user a row in every table that holds something about them."""
    await add_user(session, user_id)
    screen = Screen(user_id=user_id, started_at=NOW, current_step="done")
    screen.answers.append(ScreenAnswer(step="pain", answer=2, answered_at=NOW))
    nudge = Nudge(user_id=user_id, due_at=NOW, created_at=NOW)
    session.add_all([screen, nudge])
    await session.flush()
    report = Report(
        user_id=user_id,
        nudge_id=nudge.id,
        reps=10,
        pain_during=1,
        source=ReportSource.BUTTON,
        created_at=NOW,
    )
    session.add(report)
    await session.flush()
    session.add(
        Decision(
            user_id=user_id,
            report_id=report.id,
            track="activation",
            action="hold",
            level_from=1,
            level_to=1,
            reason="No change yet.",
            created_at=NOW,
        )
    )


async def test_deleting_a_user_erases_everything_about_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await _add_history(session, 1)
        await _add_history(session, 2)

    async with sessions.begin() as session:
        counts = await count_rows_for_user(session, 1)
        # Every table is about someone but processed_updates (update ids only) and
        # broadcasts (an operator's message; each user's copy is a row in nudges).
        assert set(counts) == set(Base.metadata.tables) - {"processed_updates", "broadcasts"}
        assert set(counts.values()) == {1}
        assert await delete_user(session, 1)
        assert not await delete_user(session, 1)

    async with sessions() as session:
        assert set((await count_rows_for_user(session, 1)).values()) == {0}
        assert set((await count_rows_for_user(session, 2)).values()) == {1}


async def test_due_nudges_are_found_through_the_state_due_at_index(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await add_user(session, 1)
        for minutes, state in [
            (-30, NudgeState.SCHEDULED),
            (-10, NudgeState.SENT),
            (-5, NudgeState.SCHEDULED),
            (0, NudgeState.SCHEDULED),
            (20, NudgeState.SCHEDULED),
        ]:
            session.add(
                Nudge(
                    user_id=1,
                    due_at=NOW + timedelta(minutes=minutes),
                    state=state,
                    created_at=NOW,
                    text=f"{minutes}",
                )
            )

    due = (
        select(Nudge)
        .where(Nudge.state == NudgeState.SCHEDULED, Nudge.due_at <= NOW)
        .order_by(Nudge.due_at)
    )
    async with sessions.begin() as session:
        assert [n.text for n in (await session.scalars(due)).all()] == ["-30", "-5", "0"]

        # Ask the planner how it would run the query (tables this small would otherwise
        # tempt PostgreSQL into a sequential scan).
        compiled = due.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = (await session.execute(text(f"EXPLAIN {compiled}"))).scalars().all()
        else:
            plan = [
                row[-1] for row in await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            ]
        assert "ix_nudges_state_due_at" in " ".join(plan)


async def test_one_users_pending_messages_are_found_through_their_own_index(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Rescheduling cancels a user's pending nudge; it must not read every scheduled row."""
    from bot.db.models import NudgeKind
    from bot.delivery.planner import cancel_pending

    async with sessions.begin() as session:
        for user_id in (1, 2):
            await add_user(session, user_id)
            for kind in (NudgeKind.NUDGE, NudgeKind.WEEKLY_SUMMARY):
                session.add(
                    Nudge(
                        user_id=user_id,
                        due_at=NOW,
                        state=NudgeState.SCHEDULED,
                        kind=kind,
                        created_at=NOW,
                    )
                )
    async with sessions.begin() as session:
        await cancel_pending(session, 1, (NudgeKind.NUDGE,))
    async with sessions() as session:
        rows = (await session.execute(select(Nudge.user_id, Nudge.kind, Nudge.state))).all()
    cancelled = {(user, kind) for user, kind, state in rows if state is NudgeState.CANCELLED}
    assert cancelled == {(1, NudgeKind.NUDGE)}

    # SQLite keeps no statistics by itself, so the index has to win on its shape alone.
    # (PostgreSQL's autovacuum keeps statistics; on a table this small it rightly scans.)
    pending = select(Nudge.id).where(
        Nudge.user_id.in_([1, 2]),
        Nudge.state == NudgeState.SCHEDULED,
        Nudge.kind.in_([NudgeKind.NUDGE]),
    )
    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            return
        compiled = pending.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
        assert "ix_nudges_user_id_state_kind" in " ".join(plan)
