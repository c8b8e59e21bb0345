"""The delivery tick: claim what is due, render it, send it within the rate limit, record it.

One periodic job (PTB's JobQueue) runs `tick`. Each message is recorded in its own
transaction right after its send, so a crash at any moment repeats at most the message
that was in flight. Faults: 429 waits `retry_after` and requeues (the rest of the batch
goes back unchanged, keeping each chat's order); 5xx and time-outs retry with backoff;
403 (blocked) marks the user blocked and cancels what is scheduled for them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiolimiter import AsyncLimiter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.db.models import Nudge, NudgeKind, NudgeState, Report, User, UserState
from bot.db.repo import prune_processed_updates
from bot.delivery import compose, planner
from bot.delivery.outbox import Claimed, claim_due, expire_overdue, release, release_stale_claims
from bot.delivery.timing import local_moment
from bot.messages import Screenful, keyboard
from bot.progress.data import ProgressData
from bot.progress.streak import streak_line
from bot.runtime import Runtime
from bot.services.progress import progress_data, streak_of
from content import (
    Anchor,
    Equipment,
    PickContext,
    Profile,
    Side,
    Track,
    load_library,
    pick_nudge,
    quick_reply_counts,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
PROCESSED_UPDATES_KEPT = timedelta(days=7)
RESCHEDULE_BATCH = 100  # users rescheduled per transaction after downtime
BACKOFF_BASE = timedelta(seconds=15)
BACKOFF_CAP = timedelta(minutes=10)


@dataclass
class TickReport:
    """What one tick did."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    missed: int = 0
    released: int = 0
    blocked: int = 0
    skipped: int = 0
    flood_wait: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.sent or self.failed or self.retried or self.missed or self.skipped)


class FloodWait(Exception):
    """Telegram said to slow down: stop sending for `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:g} s")
        self.seconds = seconds


def retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def profile_of(user: User) -> Profile:
    """What the picker needs to know about this user."""
    settings = user.settings
    return Profile(
        focus=Track(settings.focus or Track.ACTIVATION),
        equipment=frozenset(Equipment(e) for e in settings.equipment),
        anchors=frozenset(Anchor(a) for a in settings.anchors),
        mix=tuple(Track(t) for t in settings.mix),
        gentle_only=settings.gentle_only,
        weaker_side=Side(settings.weaker_side) if settings.weaker_side else None,
    )


def pick_context(user: User, moment: datetime) -> PickContext:
    """The user's local moment: at the desk during their window on weekdays, else at home."""
    rhythm = planner.rhythm_of(user.settings)
    local = local_moment(rhythm, moment)
    minutes = local.hour * 60 + local.minute
    # Weekends are home time even for users who take nudges on weekends.
    working = local.weekday() < 5 and rhythm.window_start <= minutes < rhythm.window_end
    return PickContext(local_time=local.time(), weekday=local.weekday(), in_work_hours=working)


class Dispatcher:
    """Sends what is due; several may run against one PostgreSQL database."""

    def __init__(
        self,
        bot: Bot,
        runtime: Runtime,
        *,
        name: str | None = None,
        batch_size: int = 100,
        max_tick_seconds: float = 240.0,
    ) -> None:
        self.bot = bot
        self.runtime = runtime
        self.name = name or f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        self.max_tick_seconds = max_tick_seconds
        rate = runtime.settings.nudges_per_second
        # One token at a time, evenly spaced: never a burst above the rate in any second.
        self.limiter = AsyncLimiter(1, 1 / rate)
        self.per_minute = max(1, int(rate * 60 * 0.95))
        self._lock = asyncio.Lock()
        self.library = load_library()
        self.draining = False
        # When the last tick started (clock time): the health check reports the lag.
        self.last_tick_at: datetime | None = None

    def drain(self) -> None:
        """Stop taking work: the message in flight is finished, the rest handed back."""
        self.draining = True

    async def run_job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The JobQueue callback."""
        await self.tick()

    async def tick(self) -> TickReport:
        """Expire what is too late, then send what is due until done or out of time."""
        report = TickReport()
        if self.draining:
            return report
        async with self._lock:  # one tick at a time per dispatcher
            self.last_tick_at = self.runtime.clock.now()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.max_tick_seconds
            await self._housekeeping(report)
            while loop.time() < deadline and not self.draining:
                now = self.runtime.clock.now()
                async with self.runtime.sessions.begin() as session:
                    batch = await claim_due(session, now, self.batch_size, self.name)
                if not batch:
                    break
                try:
                    for index, item in enumerate(batch):
                        if self.draining:  # shutting down: hand back what is not sent yet
                            await self._release_unsent(batch[index:])
                            return report
                        try:
                            await self._deliver(item, report)
                        except FloodWait as wait:
                            rest = [claimed.nudge.id for claimed in batch[index:]]
                            await self._requeue_after_flood(rest, wait.seconds, report)
                            return report
                except BaseException:
                    # Cancelled or crashed mid-batch: hand back what was not sent yet.
                    await self._release_unsent(batch)
                    raise
        return report

    async def _housekeeping(self, report: TickReport) -> None:
        now = self.runtime.clock.now()
        cutoff = now - timedelta(minutes=self.runtime.settings.missed_after_minutes)
        async with self.runtime.sessions.begin() as session:
            stale = now - timedelta(seconds=self.runtime.settings.claim_timeout_seconds)
            report.released = await release_stale_claims(session, stale)
            # Telegram redelivers within hours at most; a week of update ids is plenty.
            await prune_processed_updates(session, now - PROCESSED_UPDATES_KEPT)
            missed = await expire_overdue(session, cutoff)
        report.missed = len(missed)
        if not missed:
            return
        log.info("Marked %d overdue messages as missed", report.missed)
        # Rescheduling after downtime can touch many users: short transactions, so handlers
        # (and SQLite's single writer) are never kept waiting for long.
        users = sorted({(user_id, kind) for user_id, kind in missed})
        for start in range(0, len(users), RESCHEDULE_BATCH):
            async with self.runtime.sessions.begin() as session:
                for user_id, kind in users[start : start + RESCHEDULE_BATCH]:
                    user = await session.get(User, user_id)
                    if user is None:
                        continue
                    if kind is NudgeKind.NUDGE:
                        await planner.schedule_next_nudge(session, user, now, now, self.per_minute)
                    elif kind is NudgeKind.WEEKLY_SUMMARY:
                        await planner.schedule_weekly_summary(session, user, now, now)

    async def _release_unsent(self, batch: list[Claimed]) -> None:
        async with self.runtime.sessions.begin() as session:
            await release(session, [claimed.nudge.id for claimed in batch], None)

    async def _requeue_after_flood(
        self, nudge_ids: list[int], seconds: float, report: TickReport
    ) -> None:
        report.flood_wait = seconds
        due = self.runtime.clock.now() + timedelta(seconds=seconds)
        async with self.runtime.sessions.begin() as session:
            await release(session, nudge_ids[:1], due)  # the one Telegram refused
            await release(session, nudge_ids[1:], None)  # the rest keep their order
        log.warning("Telegram asked to wait %.0f s; %d messages requeued", seconds, len(nudge_ids))
        await asyncio.sleep(seconds)

    # ---- one message -------------------------------------------------------------------------

    async def _deliver(self, item: Claimed, report: TickReport) -> None:
        nudge, user = item.nudge, item.user
        now = self.runtime.clock.now()
        if not planner.may_send(user, now):  # paused, referred or blocked since scheduling
            async with self.runtime.sessions.begin() as session:
                await self._finish(session, nudge.id, user.id, NudgeState.CANCELLED, now, None)
            report.skipped += 1
            return
        rendered = await self._render(item, now)
        if rendered is None:
            async with self.runtime.sessions.begin() as session:
                await self._finish(session, nudge.id, user.id, NudgeState.SKIPPED, now, None)
            report.skipped += 1
            return
        screenful, details = rendered
        async with self.limiter:
            try:
                if screenful.photo is not None:
                    sent = await self.bot.send_photo(
                        user.chat_id,
                        InputFile(screenful.photo, filename="week.png"),
                        caption=screenful.text,
                        reply_markup=keyboard(screenful),
                    )
                else:
                    sent = await self.bot.send_message(
                        user.chat_id, screenful.text, reply_markup=keyboard(screenful)
                    )
            except RetryAfter as error:
                raise FloodWait(retry_after_seconds(error)) from error
            except Forbidden as error:
                await self._blocked(nudge.id, user.id, error)
                report.blocked += 1
                return
            except BadRequest as error:  # will not get better by retrying
                await self._failed(nudge.id, user.id, error, now)
                report.failed += 1
                return
            except (NetworkError, TelegramError) as error:  # 5xx, time-outs: try again later
                if await self._retry_later(nudge, user.id, error, now):
                    report.retried += 1
                else:
                    report.failed += 1
                return
        async with self.runtime.sessions.begin() as session:
            await self._finish(
                session, nudge.id, user.id, NudgeState.SENT, now, sent.message_id, **details
            )
        report.sent += 1

    async def _render(
        self, item: Claimed, now: datetime
    ) -> tuple[Screenful, dict[str, object]] | None:
        nudge, user = item.nudge, item.user
        if nudge.kind is NudgeKind.NUDGE:
            fatigue_note = user.settings.unanswered_streak + 1 == planner.FATIGUE_AFTER
            if nudge.text is not None:  # a snoozed nudge comes back as it was
                screenful = compose.nudge_screenful(
                    nudge.id,
                    nudge.text,
                    _counts(nudge.target_reps),
                    nudge.target_reps or 1,
                    reminder=True,
                    fatigue_note=fatigue_note,
                )
                return screenful, {}
            levels = {Track(t): level for t, level in user.settings.levels.items()}
            plan = pick_nudge(
                profile_of(user),
                levels,
                pick_context(user, now),
                item.history,
                random.Random(f"{nudge.id}"),
                self.library,
            )
            if plan is None:
                return None
            text = compose.nudge_text(plan)
            screenful = compose.nudge_screenful(
                nudge.id, text, plan.quick_replies, plan.target_reps, fatigue_note=fatigue_note
            )
            details: dict[str, object] = {
                "exercise_id": plan.exercise_id,
                "track": plan.track.value,
                "anchor": plan.anchor.value if plan.anchor else None,
                "text": text,
                "target_reps": plan.target_reps,
            }
            return screenful, details
        async with self.runtime.sessions() as session:
            if nudge.kind is NudgeKind.MORNING_CHECK:
                report = await planner.awaiting_morning_check(session, user.id, now)
                if report is None:
                    return None
                name = self.library[report.exercise_id].name if report.exercise_id else "session"
                return compose.morning_check(nudge.id, name, report.pain_during or 0), {}
            week = await _week(session, user, now)
            data = await progress_data(session, user, now)
        chart = await asyncio.to_thread(_chart, data)
        text = f"{compose.weekly_summary(user.first_name, week)}\n{streak_line(streak_of(data))}"
        return Screenful(text, photo=chart), {}

    async def _finish(
        self,
        session: AsyncSession,
        nudge_id: int,
        user_id: int,
        state: NudgeState,
        now: datetime,
        message_id: int | None,
        **details: object,
    ) -> None:
        """Record the outcome and schedule what comes next for this user."""
        nudge = await session.get(Nudge, nudge_id)
        user = await session.get(User, user_id)
        if nudge is None or user is None:
            return
        nudge.state = state
        nudge.attempts += 1
        nudge.claimed_by = None
        for key, value in details.items():
            setattr(nudge, key, value)
        if state is NudgeState.SENT:
            nudge.sent_at = now
            nudge.telegram_message_id = message_id
            if user.state is UserState.PAUSED:  # the first nudge after a pause ends it
                user.state = UserState.ACTIVE
                user.settings.paused_until = None
        after = max(now, nudge.due_at)
        if nudge.kind is NudgeKind.NUDGE:
            if state is NudgeState.SENT:
                user.settings.unanswered_streak += 1
            await planner.schedule_next_nudge(session, user, after, now, self.per_minute)
        elif nudge.kind is NudgeKind.WEEKLY_SUMMARY:
            await planner.schedule_weekly_summary(session, user, after, now)

    async def _blocked(self, nudge_id: int, user_id: int, error: TelegramError) -> None:
        async with self.runtime.sessions.begin() as session:
            nudge = await session.get(Nudge, nudge_id)
            user = await session.get(User, user_id)
            if nudge is not None:
                nudge.state, nudge.last_error = NudgeState.FAILED, error.message
                nudge.attempts += 1
            if user is not None:
                user.state = UserState.BLOCKED
                await planner.stop_nudging(session, user)
        log.info("User %s blocked the bot; their nudges are stopped", user_id)

    async def _failed(
        self, nudge_id: int, user_id: int, error: TelegramError, now: datetime
    ) -> None:
        async with self.runtime.sessions.begin() as session:
            await self._finish(
                session, nudge_id, user_id, NudgeState.FAILED, now, None, last_error=error.message
            )
        log.warning("Nudge %s failed for good: %s", nudge_id, error.message)

    async def _retry_later(
        self, nudge: Nudge, user_id: int, error: TelegramError, now: datetime
    ) -> bool:
        """Back off and retry; False (and failed) after MAX_ATTEMPTS."""
        attempts = nudge.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            await self._failed(nudge.id, user_id, error, now)
            return False
        delay = min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_CAP)
        async with self.runtime.sessions.begin() as session:
            row = await session.get(Nudge, nudge.id)
            if row is not None:
                row.attempts = attempts
                row.last_error = error.message
                row.state = NudgeState.SCHEDULED
                row.claimed_at = row.claimed_by = None
                row.due_at = now + delay
        log.info("Nudge %s will be retried in %s: %s", nudge.id, delay, error.message)
        return True


def _counts(target: int | None) -> tuple[int, ...]:
    return quick_reply_counts(target or 1)


async def _week(session: AsyncSession, user: User, now: datetime) -> compose.Week:
    """The last full local week (Monday to Sunday) before `now`."""
    zone = ZoneInfo(user.settings.timezone)
    today = now.astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    since = datetime.combine(this_monday - timedelta(days=7), time(0), tzinfo=zone)
    until = datetime.combine(this_monday, time(0), tzinfo=zone)
    in_week = (Nudge.sent_at >= since, Nudge.sent_at < until)
    sent = await session.scalar(
        select(func.count())
        .select_from(Nudge)
        .where(Nudge.user_id == user.id, Nudge.kind == NudgeKind.NUDGE, *in_week)
    )
    done = await session.scalar(
        select(func.count())
        .select_from(Nudge)
        .where(
            Nudge.user_id == user.id,
            Nudge.kind == NudgeKind.NUDGE,
            Nudge.response == "done",
            *in_week,
        )
    )
    reps, pain = (
        await session.execute(
            select(func.sum(Report.reps), func.avg(Report.pain_during)).where(
                Report.user_id == user.id, Report.created_at >= since, Report.created_at < until
            )
        )
    ).one()
    return compose.Week(
        sent=int(sent or 0),
        done=int(done or 0),
        reps=int(reps or 0),
        average_pain=float(pain) if pain is not None else None,
    )


def _chart(data: ProgressData) -> bytes:
    """The weekly chart; matplotlib is imported only when a summary is due (it is large)."""
    from bot.progress.chart import progress_chart

    return progress_chart(data)
