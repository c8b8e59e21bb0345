"""Broadcasts: an admin's message to every active user, previewed, then sent or cancelled.

`/broadcast <text>` stores a draft and shows it exactly as users will see it, with how
many people it reaches and Send / Cancel buttons. Send queues one BROADCAST row per
recipient in the outbox (`nudges`), a batch per short transaction, with due times spread
so broadcasts take at most a third of the send rate and regular nudges keep flowing. The
delivery tick sends them like any other message; unsent rows stay scheduled, so a restart
resumes where it stopped (`resume_after_restart` also finishes an interrupted queueing).
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Broadcast, BroadcastState, Nudge, NudgeKind, NudgeState, User, UserState
from bot.delivery import planner
from bot.messages import Button, Outcome, Screenful

PREFIX = "bc"  # callback data: bc:<broadcast id>:send or bc:<broadcast id>:cancel
MAX_LENGTH = 4096  # Telegram's limit for one text message
SHARE_OF_RATE = 3  # broadcasts take at most 1/3 of NUDGES_PER_SECOND
QUEUE_BATCH = 1000  # recipients per INSERT and per transaction (SQLite's writer stays free)
SHIFT_BATCH = 1000
OVERDUE_AFTER = timedelta(minutes=1)  # broadcast rows this late were held up by downtime

USAGE = (
    "To message everyone who takes nudges, send /broadcast followed by the text, for "
    "example:\n/broadcast We're back after maintenance. Thanks for your patience!\n"
    "You'll see a preview, how many people it reaches, and Send / Cancel buttons first."
)
TOO_LONG = (
    "That message is {length:,} characters long (most emoji count as two); Telegram allows "
    "{limit:,} in one message. Please shorten it by {over:,} and send /broadcast again."
)
NOBODY = "Nobody takes nudges right now, so there's no one to send this to."
PREVIEW = (
    "☝️ That is the broadcast exactly as users will see it (plain text, no formatting).\n\n"
    "It goes to {users} who take nudges right now. Not to anyone who paused or stopped "
    "nudges, blocked the bot, is still taking the screen or was advised to see a clinician.\n"
    "It goes out over {duration}, using at most a third of the send rate, so regular "
    "nudges keep flowing."
)
QUEUED = (
    "📣 Broadcast #{id} is queued for {users}. It goes out over {duration}; send "
    "/broadcast to see how far it got."
)
QUEUEING = "📣 Broadcast #{id}: queueing it for {users}…"
QUEUED_TO_NOBODY = "Broadcast #{id}: nobody takes nudges right now, so nothing was queued."
CANCELLED = "Cancelled: broadcast #{id} was not sent to anyone."
EXPIRED = "That button has expired."


def command_text(message_text: str) -> str:
    """What follows `/broadcast` (or `/broadcast@bot`), line breaks kept."""
    parts = message_text.split(maxsplit=1)
    return parts[1].strip() if len(parts) == 2 else ""


def telegram_length(text: str) -> int:
    """The length as Telegram measures it, in UTF-16 code units (most emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def users(count: int) -> str:
    return f"{count:,} user" if count == 1 else f"{count:,} users"


def duration(count: int, rate: float) -> str:
    """Roughly how long `count` broadcast messages take at a third of `rate` per second."""
    seconds = count * SHARE_OF_RATE / rate
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    hours, minutes = divmod(minutes, 60)
    text = f"about {hours} hour{'s' if hours != 1 else ''}"
    return f"{text} {minutes} minute{'s' if minutes != 1 else ''}" if minutes else text


def buttons(broadcast_id: int, count: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(f"📣 Send to {users(count)}", f"{PREFIX}:{broadcast_id}:send"),
            Button("Cancel", f"{PREFIX}:{broadcast_id}:cancel"),
        ),
    )


async def count_recipients(session: AsyncSession) -> int:
    """How many users take nudges right now (the ones a broadcast goes to)."""
    count = await session.scalar(
        select(func.count()).select_from(User).where(User.state == UserState.ACTIVE)
    )
    return int(count or 0)


async def write(
    session: AsyncSession, admin_id: int, text: str, now: datetime, rate: float
) -> tuple[Screenful, ...]:
    """The answer to `/broadcast <text>`: a draft's preview, a refusal, or the status."""
    if not text:
        return (Screenful(f"{await status(session)}\n\n{USAGE}"),)
    length = telegram_length(text)
    if length > MAX_LENGTH:
        over = length - MAX_LENGTH
        return (Screenful(TOO_LONG.format(length=length, limit=MAX_LENGTH, over=over)),)
    count = await count_recipients(session)
    if count == 0:
        return (Screenful(NOBODY),)
    draft = Broadcast(admin_id=admin_id, text=text, state=BroadcastState.DRAFT, created_at=now)
    session.add(draft)
    await session.flush()
    preview = PREVIEW.format(users=users(count), duration=duration(count, rate))
    # The text alone first, as users get it; then what happens next, with the buttons.
    return Screenful(text), Screenful(preview, buttons(draft.id, count))


async def status(session: AsyncSession) -> str:
    """How the latest confirmed broadcast is doing: sent, waiting, not sent, failed."""
    latest = await session.scalar(
        select(Broadcast)
        .where(Broadcast.state.in_((BroadcastState.QUEUEING, BroadcastState.QUEUED)))
        .order_by(Broadcast.id.desc())
        .limit(1)
    )
    if latest is None:
        return "No broadcast has been sent yet."
    rows = await session.execute(
        select(Nudge.state, func.count())
        .where(Nudge.broadcast_id == latest.id)
        .group_by(Nudge.state)
    )
    counts = {state: int(count) for state, count in rows.all()}
    sent = counts.pop(NudgeState.SENT, 0)
    waiting = counts.pop(NudgeState.SCHEDULED, 0) + counts.pop(NudgeState.CLAIMED, 0)
    failed = counts.pop(NudgeState.FAILED, 0)
    # A broadcast is never missed for being late: only when a crash cut its send short.
    interrupted = counts.pop(NudgeState.MISSED, 0)
    dropped = sum(counts.values())  # cancelled: paused, stopped or blocked since it was queued
    when = f"{latest.queued_at:%d %b %H:%M} UTC" if latest.queued_at else "earlier"
    excerpt = latest.text if len(latest.text) <= 60 else latest.text[:59] + "…"
    if latest.state is BroadcastState.QUEUEING:
        progress = f"still being queued ({users(latest.recipients)} so far)"
    elif waiting:
        progress = "on its way"
    else:
        progress = "finished"
    return (
        f"📣 Last broadcast, #{latest.id}, confirmed {when} for {users(latest.recipients)}: "
        f"{progress}.\n"
        f"• sent: {sent:,}\n"
        f"• waiting to go out: {waiting:,}\n"
        f"• not sent, no longer taking nudges: {dropped:,}\n"
        f"• failed: {failed:,}\n"
        + (f"• cut short by a restart, may have arrived: {interrupted:,}\n" if interrupted else "")
        + f"It says: “{excerpt}”"
    )


async def press(session: AsyncSession, data: str, now: datetime) -> tuple[Outcome, int | None]:
    """Send or Cancel on a preview (bc:<broadcast id>:send|cancel); decides, does not queue.

    Returns what to show and, after a first Send, the broadcast id to `queue_all` next:
    the tap is answered at once, however many recipients there are to queue.
    """
    parts = data.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in ("send", "cancel"):
        return Outcome(toast=EXPIRED), None
    broadcast_id, action = int(parts[1]), parts[2]
    # Locked (PostgreSQL) or alone (SQLite's one writer): a double press sees the new state.
    draft = await session.get(Broadcast, broadcast_id, with_for_update=True)
    if draft is None:
        return Outcome(toast=EXPIRED), None
    if draft.state in (BroadcastState.QUEUEING, BroadcastState.QUEUED):
        return Outcome(toast="Already queued: it's on its way."), None
    if draft.state is BroadcastState.CANCELLED:
        return Outcome(toast="This broadcast was cancelled."), None
    if action == "cancel":
        draft.state = BroadcastState.CANCELLED
        return Outcome(show=Screenful(CANCELLED.format(id=broadcast_id)), toast="Cancelled."), None
    draft.state = BroadcastState.QUEUEING
    draft.queued_at = draft.next_due_at = now
    count = await count_recipients(session)
    queueing = QUEUEING.format(id=broadcast_id, users=users(count))
    return Outcome(show=Screenful(queueing), toast="Confirmed: queueing now."), broadcast_id


async def queue_all(
    sessions: async_sessionmaker[AsyncSession], broadcast_id: int, now: datetime, rate: float
) -> Screenful:
    """Queue a confirmed broadcast for every recipient; the message saying it is on its way."""
    count = await queue(sessions, broadcast_id, now, rate)
    if count == 0:
        return Screenful(QUEUED_TO_NOBODY.format(id=broadcast_id))
    return Screenful(
        QUEUED.format(id=broadcast_id, users=users(count), duration=duration(count, rate))
    )


async def queue(
    sessions: async_sessionmaker[AsyncSession], broadcast_id: int, now: datetime, rate: float
) -> int:
    """Add every remaining recipient's row, a batch per transaction; returns how many in all."""
    while True:
        async with sessions.begin() as session:
            broadcast = await session.get(
                Broadcast, broadcast_id, with_for_update=True, populate_existing=True
            )
            if broadcast is None:
                return 0
            if broadcast.state is not BroadcastState.QUEUEING:
                return broadcast.recipients
            await _queue_batch(session, broadcast, now, rate)
        await asyncio.sleep(0)  # SQLite runs on the loop's thread: let updates in between


async def _queue_batch(
    session: AsyncSession, broadcast: Broadcast, now: datetime, rate: float
) -> None:
    """The next batch of active users (by id) gets the broadcast; the last one ends queueing."""
    query = select(User.id).where(User.state == UserState.ACTIVE)
    if broadcast.queued_up_to is not None:
        query = query.where(User.id > broadcast.queued_up_to)
    user_ids = list((await session.scalars(query.order_by(User.id).limit(QUEUE_BATCH))).all())
    if user_ids:
        start = max(broadcast.next_due_at or now, now)
        due_times, next_due = await spread(session, start, len(user_ids), rate)
        await session.execute(
            insert(Nudge),
            [
                {
                    "user_id": user_id,
                    "due_at": due,
                    "state": NudgeState.SCHEDULED,
                    "kind": NudgeKind.BROADCAST,
                    "text": broadcast.text,
                    "broadcast_id": broadcast.id,
                    "attempts": 0,
                    "created_at": now,
                }
                for user_id, due in zip(user_ids, due_times, strict=True)
            ],
        )
        broadcast.queued_up_to = user_ids[-1]
        broadcast.recipients += len(user_ids)
        broadcast.next_due_at = next_due
    if len(user_ids) < QUEUE_BATCH:
        broadcast.state = BroadcastState.QUEUED


async def spread(
    session: AsyncSession, start: datetime, count: int, rate: float
) -> tuple[list[datetime], datetime]:
    """`count` due times from `start`, and the next free one after them.

    Each minute holds at most a third of the send rate in broadcasts (counting those
    already queued) and no more than it has room for beside regular nudges; a full minute
    is skipped. Never closer together than a third of the rate allows; what a minute still
    has room for is spread evenly over what is left of it.
    """
    capacity = planner.per_minute(rate)
    share = max(1, math.floor(rate * 60 / SHARE_OF_RATE))
    closest = timedelta(seconds=60 / share)
    times: list[datetime] = []
    at = start
    while len(times) < count:
        minute = at.replace(second=0, microsecond=0)
        end = minute + timedelta(minutes=1)
        total, broadcasts = await _minute_load(session, minute)
        slots = min(share - broadcasts, capacity - total)
        if slots >= 1:
            step = max(closest, (end - at) / slots)
            for _ in range(min(slots, count - len(times))):
                if at >= end:
                    break
                times.append(at)
                at += step
        at = max(at, end) if len(times) < count else at
    return times, at


async def _minute_load(session: AsyncSession, minute: datetime) -> tuple[int, int]:
    """Messages already scheduled in the minute starting at `minute`: all, and broadcasts."""
    is_broadcast = case((Nudge.kind == NudgeKind.BROADCAST, 1), else_=0)
    total, broadcasts = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(is_broadcast), 0)).where(
                Nudge.state == NudgeState.SCHEDULED,
                Nudge.due_at >= minute,
                Nudge.due_at < minute + timedelta(minutes=1),
            )
        )
    ).one()
    return int(total), int(broadcasts)


async def resume_after_restart(
    sessions: async_sessionmaker[AsyncSession], now: datetime, rate: float
) -> None:
    """At start: move broadcasts held up by downtime to now, and finish any queueing.

    Unsent rows were never expired (a broadcast is not a timely nudge); shifting them
    keeps their spacing, so they do not go out in one burst that holds up regular nudges.
    """
    async with sessions.begin() as session:
        await shift_overdue(session, now)
        unfinished = (
            await session.scalars(
                select(Broadcast.id).where(Broadcast.state == BroadcastState.QUEUEING)
            )
        ).all()
    for broadcast_id in unfinished:
        await queue(sessions, broadcast_id, now, rate)


async def shift_overdue(session: AsyncSession, now: datetime) -> int:
    """Push every unsent broadcast row later by how late the oldest is; returns how many."""
    pending = (Nudge.kind == NudgeKind.BROADCAST, Nudge.state == NudgeState.SCHEDULED)
    oldest = await session.scalar(select(func.min(Nudge.due_at)).where(*pending))
    if oldest is None or oldest > now - OVERDUE_AFTER:
        return 0
    late = now - oldest
    rows = (await session.execute(select(Nudge.id, Nudge.due_at).where(*pending))).all()
    for start in range(0, len(rows), SHIFT_BATCH):
        batch = rows[start : start + SHIFT_BATCH]
        await session.execute(
            update(Nudge), [{"id": nudge_id, "due_at": due + late} for nudge_id, due in batch]
        )
    queueing = await session.scalars(
        select(Broadcast).where(Broadcast.state == BroadcastState.QUEUEING)
    )
    for broadcast in queueing:
        if broadcast.next_due_at is not None:
            broadcast.next_due_at += late
    return len(rows)
