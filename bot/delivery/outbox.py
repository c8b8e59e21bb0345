"""The outbox: scheduled messages move through explicit states, claimed safely.

scheduled -> claimed -> sent | failed, or scheduled -> missed (too late after downtime),
or cancelled (settings changed, paused, blocked). A claim is a row update, so two
dispatchers never take the same row: PostgreSQL uses FOR UPDATE SKIP LOCKED, and SQLite
has a single writer (transactions begin IMMEDIATE, see bot/db/engine.py).

A message is sent at most once. The dispatcher sends a claimed batch strictly in (due_at,
id) order and every message it attempts leaves the claimed state at once (its receipt, a
retry later, a flood requeue, a block), so of a dead dispatcher's claims only the first in
that order may have been in flight: `recover_dead_claims` marks it claimed -> missed (it
may or may not have reached the user; it is not sent again) and puts the rest back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Nudge, NudgeKind, NudgeState, User, UserSettings, UserState
from content import RecentNudge

HISTORY = timedelta(days=3)  # recent nudges the picker looks at for variety


# What delivery reads of a claimed message and its user: plain rows in frozen dataclasses,
# not ORM objects (loading those was a fifth of the time a nudge took to send).


@dataclass(frozen=True)
class Preferences:
    """A user's settings as delivery needs them (the fields of UserSettings of these names)."""

    timezone: str
    window_start: int
    window_end: int
    nudge_interval_minutes: int
    weekends: bool
    paused_until: datetime | None
    unanswered_streak: int
    focus: str | None
    equipment: Sequence[str]
    anchors: Sequence[str]
    mix: Sequence[str]
    levels: Mapping[str, int]
    gentle_only: bool
    weaker_side: str | None


@dataclass(frozen=True)
class Recipient:
    """A user as delivery needs them: who, which chat, whether they take nudges, settings."""

    id: int
    chat_id: int
    first_name: str
    state: UserState
    settings: Preferences


@dataclass(frozen=True)
class OutboxRow:
    """A claimed message as delivery needs it (the fields of Nudge of these names)."""

    id: int
    user_id: int
    kind: NudgeKind
    due_at: datetime
    text: str | None  # a snoozed nudge's words, or a broadcast's
    target_reps: int | None
    attempts: int


_PREFERENCES = [getattr(UserSettings, field.name) for field in fields(Preferences)]
_OUTBOX_ROW = [getattr(Nudge, field.name) for field in fields(OutboxRow)]


@dataclass
class Claimed:
    """A claimed message with what rendering it needs."""

    nudge: OutboxRow
    user: Recipient
    history: list[RecentNudge]


async def recipients(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, Recipient]:
    """These users (those that still exist) with their settings, by id."""
    rows = await session.execute(
        select(User.id, User.chat_id, User.first_name, User.state, *_PREFERENCES)
        .join(UserSettings, UserSettings.user_id == User.id)
        .where(User.id.in_(user_ids))
    )
    return {
        row[0]: Recipient(row[0], row[1], row[2], row[3], Preferences(*row[4:]))
        for row in rows.all()
    }


INTERRUPTED = "interrupted by a restart: it may or may not have reached the user"


@dataclass(frozen=True)
class Recovered:
    """What `recover_dead_claims` did."""

    released: int  # claims put back, never attempted: they go out as usual
    interrupted: list[tuple[int, NudgeKind]]  # (user id, kind) of each message marked missed


async def recover_dead_claims(session: AsyncSession, older_than: datetime) -> Recovered:
    """Settle claims made before `older_than` (their dispatcher died), each claimer apart.

    Of one claimer's claims, the first in (due_at, id) order may have been in flight when it
    died: it is marked missed with the INTERRUPTED note, never sent again (a repeated nudge
    is worse than a lost one). The others were never attempted and go back to scheduled.
    Each update is conditional on the claim being unchanged, so two dispatchers recovering
    the same dead claims at once (PostgreSQL) do it once between them.
    """
    stale = await session.execute(
        select(Nudge.id, Nudge.claimed_by)
        .where(Nudge.state == NudgeState.CLAIMED, Nudge.claimed_at < older_than)
        .order_by(Nudge.claimed_by, Nudge.due_at, Nudge.id)
    )
    in_flight: dict[str | None, int] = {}
    rest: dict[str | None, list[int]] = defaultdict(list)
    for nudge_id, claimer in stale.all():
        if claimer in in_flight:
            rest[claimer].append(nudge_id)
        else:
            in_flight[claimer] = nudge_id
    interrupted: list[tuple[int, NudgeKind]] = []
    released = 0
    for claimer, nudge_id in in_flight.items():
        still_ours = (Nudge.state == NudgeState.CLAIMED, Nudge.claimed_by == claimer)
        missed = await session.execute(
            update(Nudge)
            .where(Nudge.id == nudge_id, *still_ours)
            .values(state=NudgeState.MISSED, claimed_by=None, last_error=INTERRUPTED)
            .returning(Nudge.user_id, Nudge.kind)
            .execution_options(synchronize_session=False)
        )
        interrupted += [(user_id, kind) for user_id, kind in missed.all()]
        if rest[claimer]:
            back = await session.execute(
                update(Nudge)
                .where(Nudge.id.in_(rest[claimer]), *still_ours)
                .values(state=NudgeState.SCHEDULED, claimed_at=None, claimed_by=None)
                .returning(Nudge.id)
                .execution_options(synchronize_session=False)
            )
            released += len(back.all())
    return Recovered(released, interrupted)


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
    claimed = await session.execute(
        update(Nudge)
        .where(Nudge.id.in_(due.scalar_subquery()))
        .values(state=NudgeState.CLAIMED, claimed_at=now, claimed_by=claimer)
        .returning(*_OUTBOX_ROW)
        .execution_options(synchronize_session=False)
    )
    # Sent in this order: recover_dead_claims relies on it.
    nudges = sorted((OutboxRow(*row) for row in claimed.all()), key=lambda n: (n.due_at, n.id))
    if not nudges:
        return []
    users = await recipients(session, list({nudge.user_id for nudge in nudges}))
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
