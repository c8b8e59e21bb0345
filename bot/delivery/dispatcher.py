"""The delivery tick: claim what is due, render it, send it within the rate limit, record it.

One periodic job (PTB's JobQueue) runs `tick`. Each message is recorded in its own
transaction right after its send, and a batch is sent strictly in (due_at, id) order, so
after a crash at any moment only the message that was in flight is in doubt: it is marked
missed, never sent again (see bot/delivery/outbox.py), and nothing else is lost or
repeated. Faults: 429 waits `retry_after` and requeues (the rest of the batch
goes back unchanged, keeping each chat's order); 5xx and time-outs retry with backoff;
403 (blocked) marks the user blocked and cancels what is scheduled for them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.db.models import Nudge, NudgeKind, NudgeState, Report, User, UserState
from bot.db.repo import prune_processed_updates
from bot.delivery import compose, planner
from bot.delivery.outbox import (
    Claimed,
    OutboxRow,
    Recipient,
    claim_due,
    expire_overdue,
    recipients,
    recover_dead_claims,
    release,
)
from bot.delivery.pace import Pace
from bot.delivery.receipts import Receipts
from bot.delivery.timing import local_moment
from bot.messages import Screenful, keyboard
from bot.metrics import METRICS
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
RECONCILE_EVERY = timedelta(minutes=30)
HOUSEKEEPING_EVERY = timedelta(seconds=30)  # ticks come every second or so
BACKOFF_BASE = timedelta(seconds=15)
BACKOFF_CAP = timedelta(minutes=10)


@dataclass
class TickReport:
    """What one tick did."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    missed: int = 0  # too late after downtime, or in flight when a dispatcher died
    released: int = 0  # dead dispatchers' claims put back
    blocked: int = 0
    skipped: int = 0
    flood_wait: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.sent or self.failed or self.retried or self.missed or self.skipped)


@dataclass(frozen=True)
class Finished:
    """A message whose outcome is written, waiting for its user's next to be scheduled."""

    nudge_id: int
    user: Recipient  # as loaded when the message was claimed
    kind: NudgeKind
    state: NudgeState
    after: datetime  # the next message comes after this moment


class FloodWait(Exception):
    """Telegram said to slow down: stop sending for `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:g} s")
        self.seconds = seconds


def retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def profile_of(user: Recipient) -> Profile:
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


def pick_context(user: Recipient, moment: datetime) -> PickContext:
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
        # None only for benchmarks that measure the bot without Telegram's limit.
        self.pace: Pace | None = Pace(rate)
        self.book = planner.MinuteBook(planner.per_minute(rate))
        self._lock = asyncio.Lock()
        self.library = load_library()
        self.draining = False
        # When the last tick started (clock time): the health check reports the lag.
        self.last_tick_at: datetime | None = None
        self._housekept_at: datetime | None = None
        # Dead claims are settled about as soon as they time out.
        claim_timeout = timedelta(seconds=runtime.settings.claim_timeout_seconds)
        self.housekeeping_every = min(HOUSEKEEPING_EVERY, claim_timeout)

    @property
    def per_minute(self) -> int:
        """How many messages levelling lets into one minute of the schedule."""
        return self.book.per_minute

    @per_minute.setter
    def per_minute(self, value: int) -> None:
        self.book.per_minute = value

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
            started = loop.time()
            try:
                await self._tick(report, deadline=started + self.max_tick_seconds)
            finally:
                METRICS.tick_took(loop.time() - started)
        return report

    async def _tick(self, report: TickReport, *, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        await self._housekeeping(report)
        async with Receipts.open(self.runtime.engine) as receipts:
            while loop.time() < deadline and not self.draining:
                now = self.runtime.clock.now()
                async with self.runtime.sessions.begin() as session:
                    batch = await claim_due(session, now, self.batch_size, self.name)
                if not batch:
                    break
                if not await self._send_batch(batch, receipts, report):
                    break
                await asyncio.sleep(0)  # updates get the loop between batches

    async def _send_batch(
        self, batch: list[Claimed], receipts: Receipts, report: TickReport
    ) -> bool:
        """Send a claimed batch in order; False when the tick should stop (flood, draining).

        Each outcome is written as it happens; what comes next for the users (their next
        nudge, their fatigue count) is written once for the whole batch. A crash in between
        leaves users without a next nudge, which `reconcile` schedules when the bot starts.
        """
        finished: list[Finished] = []
        try:
            for index, item in enumerate(batch):
                if self.draining:  # shutting down: hand back what is not sent yet
                    await self._release_unsent(batch[index:])
                    await self._follow_up(finished)
                    return False
                try:
                    outcome = await self._deliver(item, receipts, report)
                except FloodWait as wait:
                    rest = [claimed.nudge.id for claimed in batch[index:]]
                    await self._follow_up(finished)
                    finished = []
                    await self._requeue_after_flood(rest, wait.seconds, report)
                    return False
                if outcome is not None:
                    finished.append(outcome)
        except BaseException:
            # Cancelled or crashed mid-batch: hand back what was not sent yet.
            sent = {done.nudge_id for done in finished}
            await self._release_unsent([item for item in batch if item.nudge.id not in sent])
            await self._follow_up(finished)
            raise
        await self._follow_up(finished)
        return True

    async def _housekeeping(self, report: TickReport) -> None:
        """Settle dead claims, forget old update ids, expire what is too late (now and again).

        The users of messages marked missed (too late, or in flight when a dispatcher died)
        get their next one scheduled, as after any missed nudge.
        """
        now = self.runtime.clock.now()
        if self._housekept_at is not None and now - self._housekept_at < self.housekeeping_every:
            return
        self._housekept_at = now
        cutoff = now - timedelta(minutes=self.runtime.settings.missed_after_minutes)
        async with self.runtime.sessions.begin() as session:
            stale = now - timedelta(seconds=self.runtime.settings.claim_timeout_seconds)
            recovered = await recover_dead_claims(session, stale)
            # Telegram redelivers within hours at most; a week of update ids is plenty.
            await prune_processed_updates(session, now - PROCESSED_UPDATES_KEPT)
            overdue = await expire_overdue(session, cutoff)
        report.released = recovered.released
        if recovered.interrupted or recovered.released:
            log.warning(
                "A dispatcher died: %d message(s) it may have been sending marked missed, "
                "%d it had not tried put back",
                len(recovered.interrupted),
                recovered.released,
            )
        if overdue:
            log.info("Marked %d overdue messages as missed", len(overdue))
        missed = recovered.interrupted + overdue
        report.missed = len(missed)
        await self._schedule_again(sorted(set(missed)), now)

    async def _schedule_again(self, due_again: list[tuple[int, NudgeKind]], now: datetime) -> None:
        """Schedule the next message of these kinds for these users (after downtime, a crash)."""
        # This can touch many users: short transactions, so handlers (and SQLite's single
        # writer) are never kept waiting for long.
        for start in range(0, len(due_again), RESCHEDULE_BATCH):
            chunk = due_again[start : start + RESCHEDULE_BATCH]
            async with self.runtime.sessions() as session:
                users = await recipients(session, list({user_id for user_id, _ in chunk}))
            await self._follow_up(
                [
                    Finished(0, users[user_id], kind, NudgeState.MISSED, now)
                    for user_id, kind in chunk
                    if user_id in users
                ]
            )
            await asyncio.sleep(0)  # SQLite runs on the loop's thread: let updates in between

    async def reconcile(self) -> int:
        """Schedule what a crash between sending and scheduling left out; returns how many.

        Runs as its own job when the bot starts and then every RECONCILE_EVERY; it reads
        every user once, so it stays out of the sending tick.
        """
        async with self._lock:
            found: list[tuple[int, NudgeKind]] = []
            async with self.runtime.sessions() as session:
                for kind in (NudgeKind.NUDGE, NudgeKind.WEEKLY_SUMMARY):
                    found += [
                        (user_id, kind)
                        for user_id in await planner.unscheduled_users(session, kind)
                    ]
            if found:
                log.info("Scheduling %d messages that a crash left unscheduled", len(found))
                await self._schedule_again(found, self.runtime.clock.now())
            return len(found)

    async def run_reconcile_job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The JobQueue callback for `reconcile`."""
        if self.draining:
            return
        try:
            await self.reconcile()
        except asyncio.CancelledError:
            # Shutdown stopped it midway: nothing is half-done (each batch is one
            # transaction) and the next start runs it again; not an error to report.
            log.info("Stopped the schedule check for shutdown; it runs again at the next start")

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

    async def _deliver(
        self, item: Claimed, receipts: Receipts, report: TickReport
    ) -> Finished | None:
        """Send one message and write its receipt; what to follow up, if anything."""
        nudge, user = item.nudge, item.user
        now = self.runtime.clock.now()
        if not planner.may_send(user, now):  # paused, referred or blocked since scheduling
            report.skipped += 1
            return await self._receipt(receipts, item, NudgeState.CANCELLED, now)
        rendered = await self._render(item, now)
        if rendered is None:
            report.skipped += 1
            return await self._receipt(receipts, item, NudgeState.SKIPPED, now)
        screenful, details = rendered
        if self.pace is not None:
            await self.pace.wait()
        try:
            if screenful.photo is not None:
                sent = await self.bot.send_photo(
                    user.chat_id,
                    InputFile(screenful.photo, filename="week.png"),
                    caption=screenful.text,
                    reply_markup=keyboard(screenful),
                )
                message_id = sent.message_id
            else:
                message_id = await send_text(self.bot, user.chat_id, screenful)
        except RetryAfter as error:
            raise FloodWait(retry_after_seconds(error)) from error
        except Forbidden as error:
            await self._blocked(nudge.id, user.id, error)
            METRICS.nudge_failed("blocked")
            report.blocked += 1
            return None
        except BadRequest as error:  # will not get better by retrying
            METRICS.nudge_failed("rejected")
            report.failed += 1
            return await self._failed(receipts, item, error, now)
        except (NetworkError, TelegramError) as error:  # 5xx, time-outs: try again later
            if nudge.attempts + 1 >= MAX_ATTEMPTS:
                METRICS.nudge_failed("gave_up")
                report.failed += 1
                return await self._failed(receipts, item, error, now)
            await self._retry_later(nudge, error, now)
            report.retried += 1
            return None
        METRICS.nudge_sent(nudge.kind)
        report.sent += 1
        details["telegram_message_id"] = message_id
        return await self._receipt(receipts, item, NudgeState.SENT, now, details)

    async def _receipt(
        self,
        receipts: Receipts,
        item: Claimed,
        state: NudgeState,
        now: datetime,
        details: Mapping[str, object] | None = None,
        error: str | None = None,
    ) -> Finished | None:
        """Write what became of a claimed message, at once; what to follow up, if anything."""
        nudge = item.nudge
        if state is NudgeState.SENT:
            ours = await receipts.sent(nudge.id, self.name, now, details or {})
        else:
            ours = await receipts.other(nudge.id, self.name, state, error)
        if not ours:  # our claim was taken back (we were too slow) or the user deleted
            log.warning("Nudge %s was no longer ours to record as %s", nudge.id, state.value)
            return None
        return Finished(nudge.id, item.user, nudge.kind, state, max(now, nudge.due_at))

    async def _render(
        self, item: Claimed, now: datetime
    ) -> tuple[Screenful, dict[str, object]] | None:
        nudge, user = item.nudge, item.user
        if nudge.kind is NudgeKind.BROADCAST:  # an operator's text: plain, no buttons
            return (Screenful(nudge.text), {}) if nudge.text else None
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
            stored = await session.get(User, user.id)
            if stored is None:  # deleted since the claim
                return None
            week = await _week(session, user, now)
            data = await progress_data(session, stored, now)
        chart = await asyncio.to_thread(_chart, data)
        text = f"{compose.weekly_summary(user.first_name, week)}\n{streak_line(streak_of(data))}"
        return Screenful(text, photo=chart), {}

    async def _follow_up(self, finished: list[Finished]) -> None:
        """After a batch: count unanswered nudges, end pauses, schedule each user's next.

        Works from the users as claimed, without loading them again: the unanswered count
        is raised in SQL (and only for nudges still unanswered), and a user whom a handler
        rescheduled meanwhile (settings, pause) keeps that newer schedule.
        """
        if not finished:
            return
        now = self.runtime.clock.now()
        async with self.runtime.sessions.begin() as session:
            await planner.record_sent(
                session,
                [done.nudge_id for done in finished if done.state is NudgeState.SENT],
                [done.user for done in finished if done.state is NudgeState.SENT],
            )
            nudges: dict[int, tuple[Recipient, datetime]] = {}
            summaries: dict[int, tuple[Recipient, datetime]] = {}
            for done in finished:
                if done.kind is NudgeKind.NUDGE:
                    earlier = nudges.get(done.user.id, (done.user, done.after))[1]
                    nudges[done.user.id] = (done.user, max(done.after, earlier))
                elif done.kind is NudgeKind.WEEKLY_SUMMARY:
                    summaries[done.user.id] = (done.user, done.after)
            sent = {
                done.user.id
                for done in finished
                if done.state is NudgeState.SENT and done.kind is NudgeKind.NUDGE
            }
            await planner.schedule_next_nudges(session, nudges, now, self.book, unanswered=sent)
            await planner.schedule_weekly_summaries(session, summaries, now)

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
        self, receipts: Receipts, item: Claimed, error: TelegramError, now: datetime
    ) -> Finished | None:
        log.warning("Nudge %s failed for good: %s", item.nudge.id, error.message)
        return await self._receipt(receipts, item, NudgeState.FAILED, now, error=error.message)

    async def _retry_later(self, nudge: OutboxRow, error: TelegramError, now: datetime) -> None:
        """Back off: the message goes back to the outbox, due again a little later."""
        attempts = nudge.attempts + 1
        delay = min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_CAP)
        async with self.runtime.sessions.begin() as session:
            await session.execute(
                update(Nudge)
                .where(Nudge.id == nudge.id, Nudge.state == NudgeState.CLAIMED)
                .values(
                    attempts=attempts,
                    last_error=error.message,
                    state=NudgeState.SCHEDULED,
                    claimed_at=None,
                    claimed_by=None,
                    due_at=now + delay,
                )
            )
        log.info("Nudge %s will be retried in %s: %s", nudge.id, delay, error.message)


async def send_text(bot: Bot, chat_id: int, screenful: Screenful) -> int:
    """Send a text message with its buttons; Telegram's id for it.

    The request send_message makes, with the keyboard written as JSON and the reply read
    for its message_id alone: building PTB's keyboard objects and parsing the reply into a
    Message (a nudge's nine buttons each way) took about half the CPU time of sending a
    nudge (bench/bench_delivery.py). Errors are PTB's as usual: RetryAfter, Forbidden,
    BadRequest, NetworkError.
    """
    params: dict[str, object] = {"chat_id": chat_id, "text": screenful.text}
    if screenful.buttons:
        params["reply_markup"] = {
            "inline_keyboard": [
                [{"text": button.label, "callback_data": button.data} for button in row]
                for row in screenful.buttons
            ]
        }
    # The Bot API takes method names in any case; spelt "sendMessage", PTB would warn on
    # every call that Bot.send_message exists.
    reply = await bot.do_api_request("sendmessage", params)
    return int(reply["message_id"])


def _counts(target: int | None) -> tuple[int, ...]:
    return quick_reply_counts(target or 1)


async def _week(session: AsyncSession, user: Recipient, now: datetime) -> compose.Week:
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
