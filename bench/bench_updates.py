"""Update throughput: users replying to their nudges, through the local Telegram.

The real Application (build_application + start_application, no delivery tick) polls the
local Telegram with getUpdates, as in production; users press Done, a rep count, a pain
score or where they felt it, and type reports ("did 10, pain 2", "12 reps no pain", "12"
then "pain 1"), each on their own open nudge. Run from the repository root; every
subcommand works alone and prints a table of figures (--json adds the numbers):

    .venv/bin/python bench/bench_updates.py seed --users 10000 --db data/bench/updates.db
    .venv/bin/python bench/bench_updates.py saturate --db data/bench/updates.db --updates 20000
    .venv/bin/python bench/bench_updates.py steady --db data/bench/updates.db --rate 100 \\
        --seconds 60
    .venv/bin/python bench/bench_updates.py saturate --users 10000 --updates 20000 \\
        --db postgresql+asyncpg://postgres@127.0.0.1:5432/test   # own database, dropped after
    .venv/bin/python bench/bench_updates.py steady --users 10000 --rate 100 --seconds 60 \\
        --db postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/bench_updates.py floor --db data/bench/updates.db   # engine alone
    .venv/bin/python bench/bench_updates.py all --runs 3   # seed if needed, then 3 runs each of
                                                  # saturate and steady on both, and medians

saturate: every user's first update is offered at once, and each next one as soon as the
bot has answered the one before (one in flight per user, so per-user order is the user's
own), the double's flood limits and the reply rate limiter off: updates per second is
what the bot takes. steady: open loop, one update offered every 1/rate seconds whatever
the replies; latency is from the update being queued at the local Telegram (where
getUpdates takes it) to the bot's reply arriving there: the answer to a press
(answerCallbackQuery, which the bot sends last) or the message answering a typed report.

Each SQLite run works on a copy of the seeded file, with the bot's clock running in real
time from the seed moment; each PostgreSQL run creates, seeds and drops its own database.
The first 200 updates warm the bot up and are not counted. The local Telegram forgets each
chat's older messages as the run goes (it keeps every one for tests), so the collector's
work in this process is the bot's. Memory is the peak resident set (VmHWM), reset after
preparation; `--profile` adds cProfile's view and the main thread's time by area. Other
processes on the machine change these figures a lot: each table shows the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import logging
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import answering
import scenarios
from bench_delivery import (
    DEFAULT_POSTGRES,
    Result,
    StatementCounter,
    WarningCounter,
    bench_settings,
    code_version,
    database_url,
    in_fresh_process,
    memory_mb,
    percentile,
    reset_peak,
    target,
)
from sqlalchemy import func, select

from bot.app import LOCAL_TOKEN, build_application, start_application, stop_application
from bot.clock import ScaledClock
from bot.db.engine import create_engine
from bot.db.models import Decision, Nudge, NudgeKind, NudgeState, ProcessedUpdate, Report
from bot.localtelegram import Event, LocalTelegram
from bot.runtime import Runtime
from bot.serving import run
from content import quick_reply_counts

DEFAULT_DB = "data/bench/updates.db"
DEFAULT_USERS = 10_000
THROUGHPUT_TARGET = 1_000.0  # updates a second, saturated, SQLite
P99_TARGET = 0.020  # seconds, at a steady 100 updates a second
STALL_SECONDS = 30.0  # no reply for this long: the run is stuck, stop it
WARMUP = 200  # updates handled before measuring (caches, first imports, compiled SQL)


# ---- seed -----------------------------------------------------------------------------------


def seed_database(url: str, users: int, history_days: int, reports_a_day: int) -> dict[str, Any]:
    """Seed `url` (in a fresh process for the PostgreSQL runs); returns the figures."""
    started = time.perf_counter()
    now = answering.seed_moment_default()
    seeded = asyncio.run(answering.seed(url, users, now, history_days, reports_a_day))
    return {
        "users": seeded.users,
        "open_nudges": seeded.open_nudges,
        "nudges": seeded.nudges,
        "reports": seeded.reports,
        "decisions": seeded.decisions,
        "history_days": history_days,
        "reports_a_day": reports_a_day,
        "seconds": time.perf_counter() - started,
    }


def seed(args: argparse.Namespace) -> Result:
    """The `seed` subcommand: a fresh database with `--users` users, each with an open nudge."""
    scenarios.start_afresh(args.db)
    numbers = seed_database(database_url(args.db), args.users, args.history_days, args.reports)
    size = (
        "" if scenarios.is_postgres(args.db) else f"{Path(args.db).stat().st_size / 2**20:,.0f} MB"
    )
    return Result(
        f"seed: {args.users:,} active users, each with an open nudge, into {args.db}",
        [
            ("users (active, settings, a completed screen)", f"{numbers['users']:,}", ""),
            (
                "open nudges (sent 2-50 minutes before, unanswered)",
                f"{numbers['open_nudges']:,}",
                "",
            ),
            (
                f"nudges ({args.history_days} d x 8 sent, next one, weekly summary)",
                f"{numbers['nudges']:,}",
                "",
            ),
            (f"reports in the history ({args.reports} a day)", f"{numbers['reports']:,}", ""),
            ("decisions in the history", f"{numbers['decisions']:,}", ""),
            ("seeding time", f"{numbers['seconds']:.1f} s", "not a target"),
            ("database size", size or "n/a", ""),
        ],
        numbers,
    )


# ---- the users' side ------------------------------------------------------------------------


class Collections:
    """Times Python's garbage collections (a pause for every coroutine in the process)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> str:
        total = sum(seconds for _, seconds in self.pauses)
        worst = max((seconds for _, seconds in self.pauses), default=0.0)
        full = sum(1 for generation, _ in self.pauses if generation == 2)
        return (
            f"{len(self.pauses)} ({full} full), {total * 1000:.0f} ms in all, "
            f"longest {worst * 1000:.1f} ms"
        )


class Users:
    """Plays the conversations through the local Telegram and times each reply.

    One update in flight per user: a user's next step waits for the bot's answer to the
    one before (they need its buttons), as a person's would.
    """

    def __init__(self, telegram: LocalTelegram, conversations: Sequence[answering.Conversation]):
        self.telegram = telegram
        self.by_chat = {c.user_id: c for c in conversations}
        self.ready: deque[answering.Conversation] = deque(conversations)
        self.in_flight = self.offered = self.answered = self.stuck = self.starved = 0
        self.first_offer = self.last_answer = 0.0
        self.user_seconds = 0.0  # spent making updates (the double's user side)
        self.samples: list[tuple[str, float, float]] = []  # (step, latency, since intended)
        self.answered_at: list[float] = []  # when each sample's answer came
        self.answered_steps: Counter[str] = Counter()
        self.changed = asyncio.Event()
        telegram.add_listener(self.on_event)

    def on_event(self, event: Event) -> None:
        """A reply the bot made visible: keep what the user sees; time the answer."""
        conversation = self.by_chat.get(event.chat_id)
        if conversation is None or conversation.pushed_at is None:
            return
        if event.kind in ("message", "edit"):
            conversation.in_view = event.message
        step = conversation.step
        if event.kind != ("message" if step.typed else "toast"):
            return
        now = time.perf_counter()
        intended = conversation.intended_at or conversation.pushed_at
        self.samples.append((step.label, now - conversation.pushed_at, now - intended))
        self.answered_at.append(now)
        self.answered_steps[step.label] += 1
        conversation.pushed_at = conversation.intended_at = None
        self._forget_all_but_in_view(conversation)
        conversation.position += 1
        self.in_flight -= 1
        self.answered += 1
        self.last_answer = now
        if not conversation.finished:
            self.ready.append(conversation)
        self.changed.set()

    def _forget_all_but_in_view(self, conversation: answering.Conversation) -> None:
        """Let the local Telegram forget the chat's earlier messages (and edits).

        It keeps every message for tests to read; kept here, 10,000 chats' worth would be the
        garbage collector's work in the bot's process, which it never is in production.
        """
        chat = self.telegram.user(conversation.user_id).chat
        kept = conversation.in_view
        chat.messages = {kept.message_id: kept} if kept is not None else {}
        chat.bot_messages = [kept] if kept is not None else []
        if kept is not None:
            kept.edits.clear()
            kept.reply_to = None

    async def offer(self, conversation: answering.Conversation, intended: float | None) -> bool:
        """Make the conversation's next update available to the bot; False if it cannot."""
        step = conversation.step
        user = self.telegram.user(conversation.user_id)
        began = time.perf_counter()
        if step.text is not None:
            await user.send(step.text)
        else:
            data = step.button_on(conversation.in_view)
            if data is None:  # the bot did not offer that button: the user stops here
                self.stuck += 1
                conversation.position = len(conversation.steps)
                return False
            await user.press(callback_data=data, message=conversation.in_view)
        conversation.pushed_at = time.perf_counter()
        conversation.intended_at = intended
        self.user_seconds += conversation.pushed_at - began
        self.first_offer = self.first_offer or began
        self.in_flight += 1
        self.offered += 1
        return True

    async def as_fast_as_answered(self) -> None:
        """Closed loop: offer every ready step at once, again whenever answers come."""
        while True:
            while self.ready:
                await self.offer(self.ready.popleft(), None)
            if not self.in_flight:
                return
            await self._wait_for_answers()

    async def open_loop(self, rate: float, count: int) -> None:
        """Offer `count` updates at `rate` a second, whatever the answers; then wait for them."""
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        for n in range(count):
            intended = start + n / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.ready:
                self.starved += 1
                continue
            await self.offer(self.ready.popleft(), intended)
        deadline = loop.time() + STALL_SECONDS
        while self.in_flight and loop.time() < deadline:
            await self._wait_for_answers()

    async def _wait_for_answers(self) -> None:
        self.changed.clear()
        try:
            async with asyncio.timeout(STALL_SECONDS):
                await self.changed.wait()
        except TimeoutError:
            stuck = f"no answer for {STALL_SECONDS:g} s; {self.in_flight} in flight"
            raise SystemExit(stuck) from None

    def reset(self) -> None:
        """Forget what was measured so far (after the warm-up)."""
        self.samples.clear()
        self.answered_at.clear()
        self.answered_steps.clear()
        self.offered = self.answered = self.stuck = self.starved = 0
        self.first_offer = self.last_answer = self.user_seconds = 0.0


# ---- one measured run -------------------------------------------------------------------------


async def open_nudges(url: str, moment: datetime) -> dict[int, tuple[int, str, int]]:
    """{user id: (nudge id, text, target reps)} of the nudges sent just before the seed moment."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Nudge.user_id, Nudge.id, Nudge.text, Nudge.target_reps)
                .where(
                    Nudge.kind == NudgeKind.NUDGE,
                    Nudge.state == NudgeState.SENT,
                    Nudge.sent_at >= moment - timedelta(hours=1),
                )
                .order_by(Nudge.user_id)
            )
            return {user: (nudge, text or "", reps or 1) for user, nudge, text, reps in rows}
    finally:
        await engine.dispose()


async def place_nudges(telegram: LocalTelegram, nudges: dict[int, tuple[int, str, int]]) -> None:
    """Put each open nudge in its chat as the bot sent it (same text and buttons)."""
    from bot.delivery import compose
    from bot.messages import keyboard

    for user_id, (nudge_id, text, reps) in nudges.items():
        telegram.user(user_id, f"User{user_id}").open_chat()
        screenful = compose.nudge_screenful(nudge_id, text, quick_reply_counts(reps), reps)
        markup = keyboard(screenful)
        assert markup is not None
        status, body = await telegram.call(
            LOCAL_TOKEN,
            "sendMessage",
            {"chat_id": user_id, "text": text, "reply_markup": json.dumps(markup.to_dict())},
        )
        assert status == 200, body


async def counts_since(url: str, moment: datetime) -> dict[str, int]:
    """Rows the run added: processed updates, reports and decisions."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            async def count(table: Any, *where: Any) -> int:
                return int(
                    await connection.scalar(select(func.count()).select_from(table).where(*where))
                    or 0
                )

            return {
                "processed_updates": await count(ProcessedUpdate),
                "reports": await count(Report, Report.created_at >= moment),
                "decisions": await count(Decision, Decision.created_at >= moment),
            }
    finally:
        await engine.dispose()


async def measure(args: argparse.Namespace) -> Result:
    """A saturate or steady run on a database nobody else uses."""
    if not scenarios.is_postgres(args.db):
        with scenarios.sqlite_copy(Path(args.db)) as url:
            return await _measure(url, args, {})
    async with scenarios.postgres_database(args.db) as url:
        seeded = in_fresh_process(seed_database, url, args.users, args.history_days, args.reports)
        return await _measure(url, args, seeded)


async def _measure(url: str, args: argparse.Namespace, seeded: dict[str, Any]) -> Result:
    steady = args.command == "steady"
    wanted = round(args.rate * args.seconds) if steady else args.updates
    moment = await scenarios.seeded_at(url)
    nudges = await open_nudges(url, moment)
    scripts = list(
        answering.conversations({u: reps for u, (_, _, reps) in nudges.items()}, WARMUP + wanted)
    )
    planned = sum(len(c.steps) for c in scripts)
    if planned < WARMUP + wanted:
        raise SystemExit(f"{len(nudges):,} users script only {planned:,} updates; seed more users")
    # The warm-up's users first, then the measured ones.
    cut, total = 0, 0
    while total < WARMUP:
        total += len(scripts[cut].steps)
        cut += 1
    warmup, measured = scripts[:cut], scripts[cut:]
    clock = ScaledClock(1.0, start=moment)  # real time, from when the nudges were sent
    telegram = LocalTelegram(clock=clock, flood_limits=False)
    await place_nudges(telegram, {c.user_id: nudges[c.user_id] for c in scripts})
    for conversation in scripts:
        conversation.in_view = telegram.user(conversation.user_id).last
    warnings = WarningCounter()
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = Runtime.open(bench_settings(url, Path(data_dir)), clock)
        counter = StatementCounter(runtime.engine)
        application = build_application(
            runtime,
            request=telegram.request(),
            get_updates_request=telegram.request(),
            deliver=False,  # no delivery tick competing; replies go without a rate limiter
        )
        await start_application(application)
        warming = Users(telegram, warmup)
        await warming.as_fast_as_answered()
        telegram.remove_listener(warming.on_event)
        users = Users(telegram, measured)
        reset_peak()
        gc.collect()
        tracked = len(gc.get_objects())
        load_before = os.getloadavg()[0]
        statements, commits = counter.statements, counter.commits
        profiler = cProfile.Profile() if args.profile else None
        cpu = time.process_time()
        collections = Collections()
        if profiler:
            profiler.enable()
        began = time.perf_counter()
        if steady:
            await users.open_loop(args.rate, wanted)
        else:
            await users.as_fast_as_answered()
        ended = time.perf_counter()
        if profiler:
            profiler.disable()
        collections.stop()
        cpu = time.process_time() - cpu
        memory = memory_mb()
        statements, commits = counter.statements - statements, counter.commits - commits
        await stop_application(application)
    added = await counts_since(url, moment)
    return report(
        args,
        users,
        warming,
        added,
        seeded,
        ended - began,
        cpu,
        statements,
        commits,
        memory,
        warnings,
        profiler,
        load_before,
        collections,
        tracked,
    )


def report(
    args: argparse.Namespace,
    users: Users,
    warming: Users,
    added: dict[str, int],
    seeded: dict[str, Any],
    elapsed: float,
    cpu: float,
    statements: int,
    commits: int,
    memory: dict[str, float],
    warnings: WarningCounter,
    profiler: cProfile.Profile | None,
    load_before: float,
    collections: Collections,
    tracked: int,
) -> Result:
    steady = args.command == "steady"
    answered = users.answered
    window = max(users.last_answer - users.first_offer, 1e-9)
    rate = answered / window
    latencies = [latency for _, latency, _ in users.samples]
    since_intended = [late for _, _, late in users.samples]
    lags = [late - latency for _, latency, late in users.samples]
    by_step: dict[str, list[float]] = {}
    for label, latency, _ in users.samples:
        by_step.setdefault(label, []).append(latency)
    # Each conversation's first step makes a report; every step leaves one processed update.
    reports_expected = sum(
        users.answered_steps[label]
        for label in ("press Done", "press a count", "typed report", "typed reps")
    ) + sum(
        warming.answered_steps[label]
        for label in ("press Done", "press a count", "typed report", "typed reps")
    )
    updates_expected = users.offered + warming.offered
    numbers: dict[str, Any] = {
        "mode": args.command,
        "backend": "postgres" if scenarios.is_postgres(args.db) else "sqlite",
        "offered": users.offered,
        "answered": answered,
        "seconds": window,
        "rate": rate,
        "bot_rate": answered / max(window - users.user_seconds, 1e-9),
        "user_share": users.user_seconds / window,
        "cpu_share": cpu / elapsed,
        "cpu_ms": cpu / max(answered, 1) * 1000,
        "load_before": load_before,
        "statements": statements / max(answered, 1),
        "commits": commits / max(answered, 1),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies, default=0) * 1000,
        "p99_since_intended_ms": percentile(since_intended, 0.99) * 1000,
        "offer_lag_p99_ms": percentile(lags, 0.99) * 1000,
        "by_step": {
            label: {
                "count": len(values),
                "p50_ms": percentile(values, 0.5) * 1000,
                "p99_ms": percentile(values, 0.99) * 1000,
            }
            for label, values in sorted(by_step.items())
        },
        "stuck": users.stuck,
        "starved": users.starved,
        "peak": memory["peak"],
        "rss": memory["rss"],
        "processed_updates": added["processed_updates"],
        "updates_expected": updates_expected,
        "reports": added["reports"],
        "reports_expected": reports_expected,
        "errors": sum(warnings.seen.values()),
        "gc_pauses_ms": sorted(round(seconds * 1000, 2) for _, seconds in collections.pauses)[-5:],
        "slowest": [
            (round(at - users.first_offer, 2), label, round(latency * 1000, 1))
            for (label, latency, _), at in sorted(
                zip(users.samples, users.answered_at, strict=True), key=lambda pair: -pair[0][1]
            )[:10]
        ],
        "gc_tracked": tracked,
        "gc_total_ms": sum(seconds for _, seconds in collections.pauses) * 1000,
        "seed": seeded,
    }
    backend = "PostgreSQL" if numbers["backend"] == "postgres" else "SQLite"
    figures: list[tuple[str, str, str]] = []
    if seeded:
        figures.append(
            ("seeding this database (not timed below)", f"{seeded['seconds']:.0f} s", "")
        )
    figures.append(("updates offered / answered", f"{users.offered:,} / {answered:,}", ""))
    if steady:
        figures += [
            (
                "offered rate (open loop)",
                f"{users.offered / max(elapsed, 1e-9):.1f} /s",
                f"asked {args.rate:g} /s",
            ),
            ("latency p50", f"{numbers['p50_ms']:.1f} ms", ""),
            ("latency p95", f"{numbers['p95_ms']:.1f} ms", ""),
            (
                "latency p99",
                f"{numbers['p99_ms']:.1f} ms",
                target(numbers["p99_ms"], P99_TARGET * 1000, "ms", at_most=True),
            ),
            ("latency max", f"{numbers['max_ms']:.1f} ms", ""),
            (
                "p99 counted from the intended offer time",
                f"{numbers['p99_since_intended_ms']:.1f} ms",
                "",
            ),
        ]
        for label, step in numbers["by_step"].items():
            figures.append(
                (
                    f"  {label} ({step['count']:,}): p50 / p99",
                    f"{step['p50_ms']:.1f} / {step['p99_ms']:.1f} ms",
                    "",
                )
            )
    else:
        figures += [
            ("wall time, first offer to last answer", f"{window:.2f} s", ""),
            (
                "updates handled per second",
                f"{rate:,.0f} /s",
                target(rate, THROUGHPUT_TARGET, "/s", at_most=False),
            ),
            (
                "  without the time the users' side took",
                f"{numbers['bot_rate']:,.0f} /s",
                f"(users' side: {numbers['user_share']:.0%} of the time)",
            ),
            (
                "latency p50 / p99 (queueing, saturated)",
                f"{numbers['p50_ms']:,.0f} / {numbers['p99_ms']:,.0f} ms",
                "",
            ),
        ]
    figures += [
        ("CPU busy (this process, all threads)", f"{numbers['cpu_share']:.0%}", ""),
        ("CPU time per update (this process)", f"{numbers['cpu_ms']:.2f} ms", ""),
        ("machine load average (1 min) before the run", f"{load_before:.2f}", "2 cores"),
        ("SQL statements per update", f"{numbers['statements']:.1f}", ""),
        ("transactions per update", f"{numbers['commits']:.2f}", ""),
        ("peak resident memory", f"{memory['peak']:.0f} MB", ""),
        ("garbage collections during the run", collections.summary(), ""),
        ("  objects the collector tracked at the start", f"{tracked:,}", ""),
        (
            "processed update ids stored / updates offered",
            f"{added['processed_updates']:,} / {updates_expected:,}",
            "equal" if added["processed_updates"] == updates_expected else "DIFFERENT",
        ),
        (
            "reports stored / first steps answered",
            f"{added['reports']:,} / {reports_expected:,}",
            "equal" if added["reports"] == reports_expected else "DIFFERENT",
        ),
        ("conversations cut short (button not shown)", f"{users.stuck}", ""),
    ]
    if steady:
        figures.append(("offers with no user ready", f"{users.starved}", "0"))
    title = (
        f"steady: {args.rate:g} updates/s offered for {args.seconds:g} s, {backend}"
        if steady
        else f"saturate: {users.offered:,} updates as fast as answered, {backend}, "
        "flood limits and reply limiter off"
    )
    result = Result(title, figures, numbers)
    if warnings.seen:
        result.notes = ["log warnings and errors during the run:", *warnings.lines()]
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats(os.environ.get("PROFILE_SORT", "tottime"))
        stats.print_stats(int(os.environ.get("PROFILE_LINES", "30")))
        result.notes += ["main thread's own time by area (cProfile, so slowed down):"]
        result.notes += [
            f"  {area:<44} {spent:6.2f} s  {share:4.0%}" for area, spent, share in by_area(stats)
        ]
    return result


AREAS = (
    ("bot/localtelegram/", "the local Telegram (double and users)"),
    ("/bot/", "Glutebot (handlers, services, db)"),
    ("/content/", "content (parsing aside: progression, library)"),
    ("site-packages/telegram/", "python-telegram-bot"),
    ("site-packages/sqlalchemy/", "SQLAlchemy"),
    ("site-packages/aiosqlite/", "aiosqlite (the event loop's side)"),
    ("site-packages/asyncpg/", "asyncpg"),
    ("site-packages/greenlet", "greenlet"),
    ("lib/python3.11/asyncio/", "asyncio"),
    ("lib/python3.11/json/", "json"),
    ("~", "built-ins (poll, queues, sqlite3 calls, ...)"),
)


def by_area(stats: pstats.Stats) -> list[tuple[str, float, float]]:
    """Own (tottime) seconds per area of the code, largest first."""
    seconds: Counter[str] = Counter()
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        area = next((name for part, name in AREAS if part in filename), "other Python")
        seconds[area] += tottime
    total = sum(seconds.values()) or 1.0
    return [(area, value, value / total) for area, value in seconds.most_common()]


# ---- what one statement and one transaction cost ----------------------------------------------


async def floor(args: argparse.Namespace) -> Result:
    """The bot's engine on its own: a transaction, a trivial statement, a user read by key."""
    if scenarios.is_postgres(args.db):
        async with scenarios.postgres_database(args.db) as url:
            return await _floor(url, "PostgreSQL")
    with tempfile.TemporaryDirectory() as folder:
        return await _floor(scenarios.sqlite_url(Path(folder) / "floor.db"), "SQLite")


async def _floor(url: str, backend: str) -> Result:
    from bot.db.migrate import upgrade
    from bot.db.models import User
    from bot.db.repo import get_user, upsert_user

    await upgrade(url)
    runtime = Runtime.open(bench_settings(url, Path(".")), ScaledClock(1.0))
    rounds = 2_000
    try:
        async with runtime.sessions.begin() as session:
            await upsert_user(
                session,
                user_id=1,
                chat_id=1,
                first_name="A",
                username=None,
                language_code="en",
                now=runtime.clock.now(),
            )

        async def timed(work: Callable[[], Any], count: int) -> float:
            for _ in range(50):  # warm: compiled statements, pool, prepared statements
                await work()
            began = time.perf_counter()
            for _ in range(count):
                await work()
            return (time.perf_counter() - began) / count * 1e6

        async def transaction() -> None:
            async with runtime.sessions.begin() as session:
                await session.execute(select(1))

        async def statements(session: Any) -> float:
            return await timed(lambda: session.execute(select(1)), rounds)

        async def reads(session: Any) -> float:
            return await timed(lambda: session.get(User, 1, populate_existing=True), rounds)

        one = await timed(transaction, rounds // 2)
        async with runtime.sessions.begin() as session:
            statement = await statements(session)
            read = await reads(session)
            assert await get_user(session, 1) is not None
    finally:
        await runtime.close()
    numbers = {"transaction_us": one, "statement_us": statement, "read_us": read}
    return Result(
        f"floor: the bot's engine alone, {backend} (means of {rounds:,})",
        [
            ("a transaction with one trivial statement", f"{one:,.0f} us", ""),
            ("  so the transaction itself (begin, commit, pool)", f"{one - statement:,.0f} us", ""),
            ("a trivial statement (SELECT 1) inside one", f"{statement:,.0f} us", ""),
            ("a user and settings read by key (ORM)", f"{read:,.0f} us", ""),
        ],
        numbers,
    )


# ---- everything -------------------------------------------------------------------------------


def run_step(arguments: list[str], timeout: float) -> dict[str, Any] | None:
    """Run one subcommand in a fresh process, pass its table through, return its numbers."""
    command = [sys.executable, __file__, *arguments, "--json"]
    print(f"\n$ .venv/bin/python bench/bench_updates.py {' '.join(arguments)}", flush=True)
    numbers = None
    try:
        completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"stopped after {timeout:g} s")
        return None
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            numbers = json.loads(line.removeprefix("RESULT "))
        else:
            print(line, flush=True)
    if numbers is None:
        print(f"no figures (exit status {completed.returncode})")
    return numbers


def run_all(args: argparse.Namespace) -> None:
    began = time.perf_counter()
    users = str(args.users)
    if not Path(args.db).exists() or args.reseed:
        run_step(["seed", "--users", users, "--db", args.db], 900)
    found: dict[str, list[dict[str, Any]]] = {}
    plans = [
        ("saturate, SQLite", ["saturate", "--db", args.db, "--updates", str(args.updates)]),
        (
            "steady, SQLite",
            ["steady", "--db", args.db, "--rate", str(args.rate), "--seconds", str(args.seconds)],
        ),
        (
            "saturate, PostgreSQL",
            ["saturate", "--db", args.postgres, "--users", users, "--updates", str(args.updates)],
        ),
        (
            "steady, PostgreSQL",
            [
                "steady",
                "--db",
                args.postgres,
                "--users",
                users,
                "--rate",
                str(args.rate),
                "--seconds",
                str(args.seconds),
            ],
        ),
    ]
    for _ in range(args.runs):
        for name, arguments in plans:
            numbers = run_step(arguments, 1200)
            if numbers is not None:
                found.setdefault(name, []).append(numbers)
    for name, db in (("floor, SQLite", args.db), ("floor, PostgreSQL", args.postgres)):
        numbers = run_step(["floor", "--db", db], 300)
        if numbers is not None:
            found[name] = [numbers]
    summary(found, time.perf_counter() - began)
    print(f"code: {code_version()}, {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}")


def summary(found: dict[str, list[dict[str, Any]]], seconds: float) -> None:
    """Medians of the runs of each kind, beside the targets."""
    rows: list[tuple[str, str, str]] = []

    def median(name: str, key: str) -> float | None:
        runs = found.get(name) or []
        return statistics.median(run[key] for run in runs) if runs else None

    def runs(name: str, key: str, form: Callable[[float], str]) -> str:
        return ", ".join(form(run[key]) for run in found.get(name) or [])

    for backend in ("SQLite", "PostgreSQL"):
        name = f"saturate, {backend}"
        rate = median(name, "rate")
        rows.append(
            (
                f"updates/s saturated, {backend} (median)",
                "not measured" if rate is None else f"{rate:,.0f} /s",
                "" if rate is None else target(rate, THROUGHPUT_TARGET, "/s", at_most=False),
            )
        )
        rows.append(("  runs", runs(name, "rate", lambda v: f"{v:,.0f}"), ""))
        statements = median(name, "statements")
        if statements is not None:
            rows.append(("  SQL statements per update", f"{statements:.1f}", ""))
        name = f"steady, {backend}"
        p99 = median(name, "p99_ms")
        p50 = median(name, "p50_ms")
        rows.append(
            (
                f"p50 / p99 latency at a steady rate, {backend} (median)",
                "not measured" if p99 is None or p50 is None else f"{p50:.1f} / {p99:.1f} ms",
                "" if p99 is None else target(p99, P99_TARGET * 1000, "ms", at_most=True),
            )
        )
        rows.append(("  runs (p99)", runs(name, "p99_ms", lambda v: f"{v:.1f}"), ""))
        transaction = median(f"floor, {backend}", "transaction_us")
        statement = median(f"floor, {backend}", "statement_us")
        if transaction is not None and statement is not None:
            rows.append(
                (
                    f"  one transaction / one statement, {backend}",
                    f"{transaction - statement:,.0f} / {statement:,.0f} us",
                    "",
                )
            )
    Result(f"summary ({seconds / 60:.1f} minutes in all)", rows, {}).show(as_json=False)


# ---- command line -------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = commands.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        one = sub.add_parser(name, help=help_text)
        one.add_argument("--db", default=DEFAULT_DB, help="SQLite file (or PostgreSQL URL)")
        one.add_argument(
            "--users", type=int, default=DEFAULT_USERS, help="seeded (PostgreSQL: per run)"
        )
        one.add_argument("--history-days", type=int, default=answering.HISTORY_DAYS)
        one.add_argument("--reports", type=int, default=answering.REPORTS_A_DAY, help="a day")
        one.add_argument("--json", action="store_true", help="also print the numbers as JSON")
        return one

    command("seed", "create a migrated database of users with an open nudge each")
    command("floor", "what one transaction and one statement cost through the bot's engine")
    one = command("saturate", "closed loop: as many updates a second as the bot takes")
    one.add_argument("--updates", type=int, default=20_000)
    one.add_argument("--profile", action="store_true", help="print where the time went")
    one = command("steady", "open loop: --rate updates a second for --seconds; latency")
    one.add_argument("--rate", type=float, default=100.0)
    one.add_argument("--seconds", type=float, default=60.0)
    one.add_argument("--profile", action="store_true", help="print where the time went")
    one = command("all", "seed if needed, then --runs of each on SQLite and PostgreSQL")
    one.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server for its own databases")
    one.add_argument("--runs", type=int, default=3)
    one.add_argument("--updates", type=int, default=20_000)
    one.add_argument("--rate", type=float, default=100.0)
    one.add_argument("--seconds", type=float, default=60.0)
    one.add_argument("--reseed", action="store_true", help="seed --db again even if it exists")
    return commands


def main() -> None:
    args = parser().parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "all":
        run_all(args)
        return
    if args.command == "seed":
        seed(args).show(args.json)
        return
    if args.command == "floor":
        run(floor(args)).show(args.json)
        return
    run(measure(args)).show(args.json)  # on uvloop, as `glutebot run`


if __name__ == "__main__":
    main()
