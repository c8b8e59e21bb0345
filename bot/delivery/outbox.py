"""The outbox: scheduled messages move through explicit states, claimed safely.

scheduled -> claimed -> sent | failed, or scheduled -> missed (too late after downtime),
or cancelled (settings changed, paused, blocked). A claim is a row update, so two
dispatchers never take the same row: PostgreSQL uses FOR UPDATE SKIP LOCKED, and SQLite
has a single writer (transactions begin IMMEDIATE, see bot/db/engine.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Nudge, NudgeKind, NudgeState, User
from content import RecentNudge

HISTORY = timedelta(days=3)  # recent nudges the picker looks at for variety


@dataclass
class Claimed:
    """A claimed message with what rendering it needs."""

    nudge: Nudge
    user: User
    history: list[RecentNudge]


async def release_stale_claims(session: AsyncSession, older_than: datetime) -> int:
    """Put back claims made before `older_than` (their dispatcher died); returns how many."""
    result = await session.execute(
        update(Nudge)
        .where(Nudge.state == NudgeState.CLAIMED, Nudge.claimed_at < older_than)
        .values(state=NudgeState.SCHEDULED, claimed_at=None, claimed_by=None)
        .returning(Nudge.id)
    )
    return len(result.all())


async def expire_overdue(session: AsyncSession, cutoff: datetime) -> list[tuple[int, NudgeKind]]:
    """Mark scheduled messages due before `cutoff` as missed; returns (user id, kind) of each.

    After downtime this turns a backlog into missed rows instead of a burst of stale nudges.
    Broadcasts are never missed: they stay scheduled and go out late (see
    bot/services/broadcast.py, which spaces them out again at start).
    """
    result = await session.execute(
        update(Nudge)
        .where(
            Nudge.state == NudgeState.SCHEDULED,
            Nudge.due_at < cutoff,
            Nudge.kind != NudgeKind.BROADCAST,
        )
        .values(state=NudgeState.MISSED)
        .returning(Nudge.user_id, Nudge.kind)
    )
    return [(user_id, kind) for user_id, kind in result.all()]


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, claimer: str
) -> list[Claimed]:
    """Claim up to `limit` messages that are due, oldest first, with their users."""
    due = (
        select(Nudge.id)
        .where(Nudge.state == NudgeState.SCHEDULED, Nudge.due_at <= now)
        .order_by(Nudge.due_at, Nudge.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = await session.scalars(
        update(Nudge)
        .where(Nudge.id.in_(due.scalar_subquery()))
        .values(state=NudgeState.CLAIMED, claimed_at=now, claimed_by=claimer)
        .returning(Nudge)
        .execution_options(populate_existing=True)
    )
    nudges = sorted(claimed.all(), key=lambda nudge: (nudge.due_at, nudge.id))
    if not nudges:
        return []
    users = {
        user.id: user
        for user in await session.scalars(
            select(User)
            .where(User.id.in_({nudge.user_id for nudge in nudges}))
            .execution_options(populate_existing=True)
        )
    }
    history = await recent_history(session, list(users), now)
    return [
        Claimed(nudge, users[nudge.user_id], history.get(nudge.user_id, [])) for nudge in nudges
    ]


async def recent_history(
    session: AsyncSession, user_ids: list[int], now: datetime
) -> dict[int, list[RecentNudge]]:
    """The exercises each user was nudged with lately, oldest first."""
    rows = await session.execute(
        select(Nudge.user_id, Nudge.exercise_id, Nudge.sent_at)
        .where(
            Nudge.user_id.in_(user_ids),
            Nudge.kind == NudgeKind.NUDGE,
            Nudge.sent_at >= now - HISTORY,
            # Sent lately means due not long before (late ones are missed, not sent); this
            # bound lets the (user_id, due_at) index skip a long history.
            Nudge.due_at >= now - HISTORY - timedelta(days=1),
            Nudge.exercise_id.is_not(None),
        )
        .order_by(Nudge.sent_at)
    )
    history: dict[int, list[RecentNudge]] = defaultdict(list)
    for user_id, exercise_id, sent_at in rows.all():
        if exercise_id is not None and sent_at is not None:
            history[user_id].append(RecentNudge(exercise_id=exercise_id, at=sent_at))
    return history


async def release(session: AsyncSession, nudge_ids: list[int], due_at: datetime | None) -> None:
    """Give claimed messages back, unchanged or due again at `due_at`."""
    if not nudge_ids:
        return
    values: dict[str, object] = {
        "state": NudgeState.SCHEDULED,
        "claimed_at": None,
        "claimed_by": None,
    }
    if due_at is not None:
        values["due_at"] = due_at
    await session.execute(
        update(Nudge)
        .where(Nudge.id.in_(nudge_ids), Nudge.state == NudgeState.CLAIMED)
        .values(**values)
    )
