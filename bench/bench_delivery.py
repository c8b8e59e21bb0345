"""Delivery at scale: 100,000 users at 8 nudges a day, and one job per reminder beside it.

Run from the repository root; every subcommand works alone and prints a table of figures:

    .venv/bin/python bench/bench_delivery.py all          # everything below, ~13 minutes
    .venv/bin/python bench/bench_delivery.py seed --users 100000 --db data/bench/delivery.db
    .venv/bin/python bench/bench_delivery.py startup --db data/bench/delivery.db
    .venv/bin/python bench/bench_delivery.py tick --db data/bench/delivery.db --due 1000
    .venv/bin/python bench/bench_delivery.py throughput --db data/bench/delivery.db --due 20000
    .venv/bin/python bench/bench_delivery.py throughput --due 20000 \\
        --db postgresql+asyncpg://postgres@127.0.0.1:5432/test   # own database, dropped after
    .venv/bin/python bench/bench_delivery.py tick --kind weekly_summary --due 100
    .venv/bin/python bench/bench_delivery.py busy --db data/bench/delivery.db --minutes 5
    .venv/bin/python bench/bench_delivery.py jobs --users 10000

Memory is the process's own peak resident set (VmHWM), reset with /proc/self/clear_refs
after any preparation, so it shows what the bot needed. Preparation that touches many rows
runs in a separate process. Figures and their reading: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import itertools
import json
import logging
import multiprocessing
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import population
import scenarios
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import ContextTypes

from bot.app import build_application, dispatcher_of, start_application, stop_application
from bot.clock import Clock, FakeClock, SystemClock
from bot.config import Settings
from bot.db.engine import create_engine
from bot.db.models import Broadcast, Nudge, NudgeKind, NudgeState, User
from bot.delivery.planner import per_minute
from bot.localtelegram import Event, LocalTelegram
from bot.runtime import Runtime
from bot.serving import run

CAP = 30.0  # Telegram's overall limit, messages a second
DEFAULT_DB = "data/bench/delivery.db"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SEND_TIME_LIMIT = 300.0  # seconds: a tick or throughput run gives up after this
PAUSE = 0.5  # seconds without a send that count as a pause in a busy run
BUSY_LEAD = 20.0  # seconds at least between starting a busy run and the window opening
ALL_DAYS, WEEKDAYS = (0, 1, 2, 3, 4, 5, 6), (1, 2, 3, 4, 5)  # PTB's run_daily: 0 is Sunday
T = TypeVar("T")


# ---- measuring ------------------------------------------------------------------------------


def memory_mb() -> dict[str, float]:
    """This process's resident set now (rss) and at its peak (peak), in MB."""
    wanted = {"VmRSS": "rss", "VmHWM": "peak"}
    found: dict[str, float] = {}
    with open("/proc/self/status") as status:
        for line in status:
            key = line.split(":", 1)[0]
            if key in wanted:
                found[wanted[key]] = int(line.split()[1]) / 1024
    return found


def reset_peak() -> None:
    """Start the peak resident set (VmHWM) again from the current one."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def in_fresh_process(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` run in a new interpreter, so its memory never shows up here."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


class StatementCounter:
    """Counts SQL statements and transactions an engine runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements = self.commits = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(engine.sync_engine, "commit", self._commit)

    def _statement(self, *_: object) -> None:
        self.statements += 1

    def _commit(self, *_: object) -> None:
        self.commits += 1


class WarningCounter(logging.Handler):
    """Takes over the root logger: counts warnings and errors by message, prints none."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()
        logging.getLogger().handlers[:] = [self]  # summarised under the table instead

    def emit(self, record: logging.LogRecord) -> None:
        message = re.sub(r"\d+", "#", record.getMessage())  # times and ids differ each time
        self.seen[f"{record.name}: {message[:110]}"] += 1

    def lines(self) -> list[str]:
        """The most frequent messages, with their counts."""
        return [f"  {count} x {message}" for message, count in self.seen.most_common(5)]


class Deliveries:
    """Listens to the local Telegram: when each chat got a message; forgets the message itself.

    The double keeps every message for tests to read; a benchmark only counts them, so the
    memory figures are the bot's and not an archive of 20,000 messages.
    """

    def __init__(self, telegram: LocalTelegram) -> None:
        self.telegram = telegram
        self.times: list[float] = []
        self.by_chat: dict[int, float] = {}
        telegram.add_listener(self)

    def __call__(self, event: Event) -> None:
        if event.kind == "message":
            now = time.time()
            self.times.append(now)
            self.by_chat[event.chat_id] = now
            chat = self.telegram.user(event.chat_id).chat
            chat.messages.clear()
            chat.bot_messages.clear()


def local_telegram(chats: Sequence[int], clock: Clock, *, flood_limits: bool) -> LocalTelegram:
    """The local Telegram with these users' chats open (so the bot may write to them)."""
    telegram = LocalTelegram(clock=clock, flood_limits=flood_limits)
    for chat in chats:
        telegram.user(chat, f"User{chat}").open_chat()
    return telegram


def bench_settings(url: str, data_dir: Path) -> Settings:
    """The bot's defaults, nothing read from a developer's .env."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=None,
        database_url=url,
        data_dir=data_dir,
        admin_ids="",
    )


# ---- output ---------------------------------------------------------------------------------


@dataclass
class Result:
    """What a subcommand measured: a table for people, numbers for `all`."""

    title: str
    figures: list[tuple[str, str, str]]  # what, value, target ("" when there is none)
    numbers: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def show(self, as_json: bool) -> None:
        print(f"\n{self.title}")
        width = max(len(what) for what, _, _ in self.figures)
        value_width = max(len(value) for _, value, _ in self.figures)
        for what, value, target in self.figures:
            print(f"  {what:<{width}}  {value:>{value_width}}  {target}".rstrip())
        for note in self.notes:
            print(note)
        if as_json:
            print("RESULT " + json.dumps(self.numbers), flush=True)


def target(value: float, limit: float, unit: str, *, at_most: bool) -> str:
    """'target <= 2 s: met' and the like."""
    met = value <= limit if at_most else value >= limit
    goal = f"{'<=' if at_most else '>='} {limit:,g}{f' {unit}' if unit else ''}"
    return f"target {goal}: {'met' if met else 'MISSED'}"


# ---- seed -----------------------------------------------------------------------------------


def database_url(db: str) -> str:
    """The SQLAlchemy URL of a SQLite path or a PostgreSQL URL."""
    return db if scenarios.is_postgres(db) else scenarios.sqlite_url(Path(db))


def seed_database(url: str, users: int, history_days: int) -> dict[str, Any]:
    """Seed `url` (run in a fresh process by the PostgreSQL runs); returns the figures."""
    started = time.perf_counter()
    seeded = asyncio.run(population.seed(url, users, datetime.now(UTC), history_days))
    return {
        "users": seeded.users,
        "scheduled": seeded.nudges_scheduled,
        "history_rows": seeded.history_rows,
        "nudges_a_day": seeded.nudges_a_day,
        "nudges_a_week": seeded.nudges_a_week,
        "busiest_minute": seeded.busiest_minute,
        "seconds": time.perf_counter() - started,
    }


def seed(args: argparse.Namespace) -> Result:
    """The `seed` subcommand: a fresh database with `--users` active users."""
    scenarios.start_afresh(args.db)
    numbers = seed_database(database_url(args.db), args.users, args.history_days)
    size = (
        "" if scenarios.is_postgres(args.db) else f"{Path(args.db).stat().st_size / 2**20:,.0f} MB"
    )
    return Result(
        f"seed: {args.users:,} active users into {args.db}",
        [
            ("users (active, settings, first nudge)", f"{numbers['users']:,}", ""),
            ("scheduled rows (next nudge + weekly summary)", f"{numbers['scheduled']:,}", ""),
            (
                f"sent nudges in the history ({args.history_days} d)",
                f"{numbers['history_rows']:,}",
                "",
            ),
            ("nudges a day per user (days they want them)", f"{numbers['nudges_a_day']:.2f}", "8"),
            ("nudges a week per user (70 % skip weekends)", f"{numbers['nudges_a_week']:.1f}", ""),
            (
                "busiest minute of the first nudges",
                f"{numbers['busiest_minute']:,}",
                f"<= {per_minute(population.DEFAULT_RATE):,} (levelled)",
            ),
            ("seeding time", f"{numbers['seconds']:.1f} s", "not a target"),
            ("database size", size or "n/a", ""),
        ],
        numbers,
    )


# ---- start-up -------------------------------------------------------------------------------


async def startup_child(db: str) -> None:
    """Start the bot on `db` against the local Telegram; print one JSON line when ready."""
    started = time.perf_counter()
    telegram = LocalTelegram()
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = Runtime.open(bench_settings(database_url(db), Path(data_dir)), SystemClock())
        application = build_application(
            runtime, request=telegram.request(), get_updates_request=telegram.request()
        )
        built = time.perf_counter()
        await start_application(application)
        ready = time.perf_counter()
        assert application.job_queue is not None
        ticking = any(job.name == "delivery" for job in application.job_queue.jobs())
        line = {"build": built - started, "start": ready - built, "ticking": ticking}
        print(json.dumps(line | memory_mb()), flush=True)
        await stop_application(application)


def startup(args: argparse.Namespace) -> Result:
    """The `startup` subcommand: the median of `--runs` fresh processes, on a copy of `--db`."""
    runs = []
    with scenarios.sqlite_copy(Path(args.db)) as url:
        copy = url.removeprefix("sqlite+aiosqlite:///")
        for _ in range(args.runs):
            command = [sys.executable, __file__, "startup", "--db", copy, "--child"]
            began = time.perf_counter()
            with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
                assert child.stdout is not None
                line = child.stdout.readline()
                total = time.perf_counter() - began
                child.wait(timeout=60)
            if not line:
                raise SystemExit("the start-up child printed nothing; see its error above")
            runs.append(json.loads(line) | {"total": total})
    typical = sorted(runs, key=lambda run: run["total"])[len(runs) // 2]
    peak = max(run["peak"] for run in runs)
    numbers = typical | {"peak": peak, "totals": [run["total"] for run in runs]}
    return Result(
        f"startup: fresh process to Application ready with the delivery tick, {args.db}"
        f" (median of {args.runs})",
        [
            (
                "process start to ready",
                f"{typical['total']:.2f} s",
                target(typical["total"], 2, "s", at_most=True),
            ),
            (
                "  interpreter and imports",
                f"{typical['total'] - typical['build'] - typical['start']:.2f} s",
                "",
            ),
            ("  build_application", f"{typical['build']:.2f} s", ""),
            ("  start_application", f"{typical['start']:.2f} s", ""),
            ("delivery tick registered", "yes" if typical["ticking"] else "NO", ""),
            ("resident memory when ready", f"{typical['rss']:.0f} MB", ""),
            ("peak resident memory", f"{peak:.0f} MB", target(peak, 150, "MB", at_most=True)),
            ("all runs", ", ".join(f"{run['total']:.2f}" for run in runs) + " s", ""),
        ],
        numbers,
    )


# ---- tick and throughput --------------------------------------------------------------------


async def measure_sends(args: argparse.Namespace, label: str) -> Result:
    """Make `args.due` messages of `args.kind` due; time Dispatcher.tick() until all are sent."""
    if not scenarios.is_postgres(args.db):
        with scenarios.sqlite_copy(Path(args.db)) as url:
            return await _sends(url, args, label, {})
    async with scenarios.postgres_database(args.db) as url:
        seeded = in_fresh_process(seed_database, url, args.users, args.history_days)
        return await _sends(url, args, label, seeded)


async def _sends(url: str, args: argparse.Namespace, label: str, seeded: dict[str, Any]) -> Result:
    """The measurement itself, on a database nobody else uses."""
    moment = await scenarios.seeded_at(url)
    kind = NudgeKind(args.kind)
    users = await scenarios.make_due(url, args.due, moment - timedelta(minutes=1), kind)
    # A fake clock standing at the seed moment: only the nudges made due are due, however
    # long ago the database was seeded, and every run sees the same schedule.
    clock = FakeClock(moment)
    gc.collect()
    before_chats = memory_mb()["rss"]
    telegram = local_telegram(users, clock, flood_limits=False)
    Deliveries(telegram)  # listens from now on: messages are counted, then forgotten
    gc.collect()
    double_mb = memory_mb()["rss"] - before_chats
    with tempfile.TemporaryDirectory() as data_dir:
        settings = bench_settings(url, Path(data_dir))
        runtime = Runtime.open(settings, clock)
        counter = StatementCounter(runtime.engine)
        application = build_application(
            runtime,
            request=telegram.request(),
            get_updates_request=telegram.request(),
            deliver=False,
        )
        await start_application(application, poll_timeout=1)
        dispatcher = dispatcher_of(application)
        dispatcher.per_minute = per_minute(population.DEFAULT_RATE)  # level as in production
        dispatcher.pace = None  # the send pace out of the way: this measures the bot itself
        reset_peak()
        baseline = memory_mb()["rss"]
        statements, commits = counter.statements, counter.commits
        profiler = cProfile.Profile() if args.profile else None
        sent = ticks = 0
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        while sent < args.due and time.perf_counter() - started < SEND_TIME_LIMIT:
            report = await dispatcher.tick()
            ticks += 1
            sent += report.sent
            if not report.busy:
                break
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        memory = memory_mb()
        statements, commits = counter.statements - statements, counter.commits - commits
        await stop_application(application)
    one_each = await users_with_one_nudge(url)
    rate = sent / elapsed
    numbers = {
        "due": args.due,
        "sent": sent,
        "seconds": elapsed,
        "per_1000": elapsed / sent * 1000 if sent else float("inf"),
        "rate": rate,
        "cpu_share": cpu / elapsed,
        "statements": statements / max(sent, 1),
        "commits": commits / max(sent, 1),
        "peak": memory["peak"],
        "baseline": baseline,
        "double_mb": double_mb,
        "one_each": one_each,
        "seed": seeded,
    }
    backend = "PostgreSQL" if scenarios.is_postgres(args.db) else "SQLite"
    what = "nudges" if kind is NudgeKind.NUDGE else "weekly summaries"
    figures = [
        (f"{what} due / sent", f"{args.due:,} / {sent:,}", ""),
        ("ticks", f"{ticks}", ""),
        ("wall time", f"{elapsed:.2f} s", ""),
        ("time per 1,000 due", f"{numbers['per_1000']:.2f} s", ""),
        ("internal throughput", f"{rate:,.0f} /s", target(rate, 1000, "/s", at_most=False)),
        ("CPU busy (this process, all threads)", f"{cpu / elapsed:.0%}", ""),
        ("SQL statements per message", f"{numbers['statements']:.1f}", ""),
        ("transactions per message", f"{numbers['commits']:.2f}", ""),
        ("resident memory before the ticks", f"{baseline:.0f} MB", ""),
        (
            "peak resident memory",
            f"{memory['peak']:.0f} MB",
            target(memory["peak"], 150, "MB", at_most=True),
        ),
        ("  of which the local Telegram's open chats", f"{double_mb:.0f} MB", ""),
        ("users with exactly one scheduled nudge after", f"{one_each[0]:,} of {one_each[1]:,}", ""),
    ]
    if seeded:
        figures.insert(
            0, ("seeding this database (not timed below)", f"{seeded['seconds']:.0f} s", "")
        )
    result = Result(
        f"{label}: {args.due:,} {what} due at once, {backend}, flood limits off, limiter off",
        figures,
        numbers,
    )
    if profiler:
        stats = pstats.Stats(profiler)
        # PROFILE_SORT=cumulative PROFILE_LINES=80 for another view of the same run.
        stats.sort_stats(os.environ.get("PROFILE_SORT", "tottime"))
        stats.print_stats(int(os.environ.get("PROFILE_LINES", "25")))
    return result


async def users_with_one_nudge(url: str) -> tuple[int, int]:
    """How many users have exactly one scheduled nudge (the planner's promise), of all users."""
    per_user = (
        select(Nudge.user_id)
        .where(Nudge.state == NudgeState.SCHEDULED, Nudge.kind == NudgeKind.NUDGE)
        .group_by(Nudge.user_id)
        .having(func.count() == 1)
        .subquery()
    )
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            one = await connection.scalar(select(func.count()).select_from(per_user))
            users = await connection.scalar(select(func.count()).select_from(User))
            return int(one or 0), int(users or 0)
    finally:
        await engine.dispose()


# ---- a busy morning in real time ------------------------------------------------------------


async def busy(args: argparse.Namespace) -> Result:
    """Real time, flood limits on, default rate, the JobQueue tick of a started Application."""
    with scenarios.sqlite_copy(Path(args.db)) as url:
        seeded = await scenarios.seeded_at(url)
        soon = datetime.now(UTC) + timedelta(seconds=BUSY_LEAD)
        opening = soon.replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = opening + timedelta(minutes=args.minutes)
        preparing = time.perf_counter()
        morning = in_fresh_process(
            scenarios.prepare_busy_morning, url, seeded, opening, args.share, args.minutes
        )
        preparing = time.perf_counter() - preparing
        prepared_ahead = (opening - datetime.now(UTC)).total_seconds()
        clock = SystemClock()
        telegram = local_telegram(morning.chats, clock, flood_limits=True)
        deliveries = Deliveries(telegram)
        warnings = WarningCounter()
        with tempfile.TemporaryDirectory() as data_dir:
            runtime = Runtime.open(bench_settings(url, Path(data_dir)), clock)
            application = build_application(
                runtime, request=telegram.request(), get_updates_request=telegram.request()
            )
            await start_application(application)
            reset_peak()
            await asyncio.sleep((end - datetime.now(UTC)).total_seconds())
            memory = memory_mb()
            await stop_application(application)
        rows = await nudges_due_between(url, opening, end)
    window = (end - opening).total_seconds()
    start_ts, end_ts = opening.timestamp(), end.timestamp()
    sends = [moment for moment in deliveries.times if start_ts <= moment < end_ts]
    rate = len(sends) / window
    late = [
        (sent - due).total_seconds() for due, sent, _ in rows if sent is not None and sent < end
    ]
    unsent = [(end - due).total_seconds() for due, sent, _ in rows if sent is None or sent >= end]
    at_telegram = [
        deliveries.by_chat[user] - due.timestamp()
        for due, sent, user in rows
        if sent is not None and sent < end and user in deliveries.by_chat
    ]
    worst = max(late + unsent, default=0.0)
    pauses = [b - a for a, b in itertools.pairwise(sends) if b - a >= PAUSE]
    numbers = {
        "minutes": args.minutes,
        "users_opening": morning.users,
        "scheduled_rate": morning.due_by_end / window,
        "sent": len(sends),
        "rate": rate,
        "share_of_cap": rate / CAP,
        "too_many_requests": telegram.stats.too_many_requests,
        "busiest_second": busiest_second(sends),
        "late_max": worst,
        "late_p99": percentile(late, 0.99),
        "late_max_at_telegram": max(at_telegram, default=0.0),
        "unsent": len(unsent),
        "pauses": len(pauses),
        "paused_seconds": sum(pauses),
        "peak": memory["peak"],
        "prepared_ahead": prepared_ahead,
        "preparing": preparing,
    }
    limit = per_minute(population.DEFAULT_RATE)
    result = Result(
        f"busy: {args.minutes} min of real time from {opening:%H:%M} UTC, SQLite, local "
        f"Telegram with flood limits, nudges_per_second 29, JobQueue tick every second",
        [
            ("users whose window opens at the start", f"{morning.users:,}", ""),
            (
                "scheduled per minute (levelled), least / most",
                f"{morning.least_per_minute:,} / {morning.most_per_minute:,}",
                f"planner cap {limit:,}",
            ),
            ("scheduled rate", f"{numbers['scheduled_rate']:.2f} msg/s", ""),
            ("messages sent in the period", f"{len(sends):,}", ""),
            ("messages per second achieved", f"{rate:.2f}", ""),
            (
                "share of the 30 msg/s cap",
                f"{rate / CAP:.1%}",
                target(rate / CAP * 100, 95, "%", at_most=False),
            ),
            (
                "429s received",
                f"{telegram.stats.too_many_requests}",
                target(telegram.stats.too_many_requests, 0, "", at_most=True),
            ),
            ("most sends in any 1 s", f"{numbers['busiest_second']}", "Telegram allows 30"),
            (
                f"pauses of {PAUSE:g} s or more between sends",
                f"{len(pauses)}, {sum(pauses):.0f} s in all",
                "",
            ),
            ("lateness p99 (sent_at - due_at)", f"{numbers['late_p99']:.1f} s", ""),
            (
                "lateness max (incl. still unsent)",
                f"{worst:.1f} s",
                target(worst, 60, "s", at_most=True),
            ),
            ("lateness max at the local Telegram", f"{numbers['late_max_at_telegram']:.1f} s", ""),
            ("due in the period but unsent at its end", f"{len(unsent):,}", ""),
            (
                "peak resident memory",
                f"{memory['peak']:.0f} MB",
                target(memory["peak"], 150, "MB", at_most=True),
            ),
            (
                "preparing the copy (own process)",
                f"{preparing:.0f} s, {prepared_ahead:.0f} s early",
                "",
            ),
        ],
        numbers,
    )
    if warnings.seen:
        result.notes = ["log warnings and errors during the run:", *warnings.lines()]
    return result


def busiest_second(moments: Sequence[float]) -> int:
    """The most moments that fall inside any one-second window."""
    most, first = 0, 0
    for last, moment in enumerate(moments):
        while moment - moments[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def nudges_due_between(
    url: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime | None, int]]:
    """(due_at, sent_at, user_id) of every nudge due in [start, end), whatever became of it."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Nudge.due_at, Nudge.sent_at, Nudge.user_id).where(
                    Nudge.kind == NudgeKind.NUDGE, Nudge.due_at >= start, Nudge.due_at < end
                )
            )
            return [(due, sent, user) for due, sent, user in rows]
    finally:
        await engine.dispose()


# ---- one job per reminder -------------------------------------------------------------------


async def remind(context: ContextTypes.DEFAULT_TYPE) -> None:
    """What a reminder job would run; never reached while the benchmark measures."""


def reminder_times(someone: population.Person) -> list[clock_time]:
    """The user's daily nudge times, fixed (run_daily cannot jitter), in their own zone."""
    zone = ZoneInfo(someone.timezone)
    minutes = range(someone.window_start, someone.window_end, someone.every_minutes)
    return [clock_time(m // 60, m % 60, tzinfo=zone) for m in minutes][: population.NUDGES_A_DAY]


class LoopWatch:
    """How long the event loop went without running a 5 ms ticker: what every other update
    and the delivery tick waited at worst while something else held the loop."""

    def __init__(self) -> None:
        self.longest = 0.0

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            self.longest = max(self.longest, loop.time() - before - 0.005)

    async def around(self, work: Awaitable[Any]) -> tuple[Any, float, float]:
        """(work's result, seconds it took, the loop's longest stall meanwhile)."""
        self.longest = 0.0
        watching = asyncio.create_task(self._watch())
        await asyncio.sleep(0.02)
        began = time.perf_counter()
        try:
            result = await work
        finally:
            took = time.perf_counter() - began
            await asyncio.sleep(0.02)
            watching.cancel()
        return result, took, self.longest


async def stall(args: argparse.Namespace) -> Result:
    """The operator's heavy jobs on the seeded users: how long each takes, and how long
    it holds the event loop (SQLite's calls run on the loop's thread, bot/db/onloop.py)."""
    from bot.services import broadcast as broadcasting
    from bot.services.stats import collect_stats

    with scenarios.sqlite_copy(Path(args.db)) as url, tempfile.TemporaryDirectory() as folder:
        moment = await scenarios.seeded_at(url)
        runtime = Runtime.open(bench_settings(url, Path(folder)), FakeClock(moment))
        rate = runtime.settings.nudges_per_second
        watch = LoopWatch()
        try:

            async def stats() -> Any:
                async with runtime.sessions() as session:
                    return await collect_stats(session, moment)

            async def draft_and_send() -> int:
                async with runtime.sessions.begin() as session:
                    await broadcasting.write(session, 1, "Stand up and squeeze.", moment, rate)
                    draft = await session.scalar(select(func.max(Broadcast.id)))
                    assert draft is not None
                    _, broadcast_id = await broadcasting.press(session, f"bc:{draft}:send", moment)
                assert broadcast_id is not None
                return await broadcasting.queue(runtime.sessions, broadcast_id, moment, rate)

            _, stats_took, stats_stall = await watch.around(stats())
            queued, queue_took, queue_stall = await watch.around(draft_and_send())
        finally:
            await runtime.close()
    numbers = {
        "stats_seconds": stats_took,
        "stats_stall_ms": stats_stall * 1000,
        "broadcast_recipients": queued,
        "broadcast_seconds": queue_took,
        "broadcast_stall_ms": queue_stall * 1000,
    }
    return Result(
        f"stall: the operator's heavy jobs on {args.db}, and the event loop meanwhile",
        [
            ("/stats: time", f"{stats_took:.2f} s", ""),
            ("  the loop's longest stall meanwhile", f"{stats_stall * 1000:,.0f} ms", ""),
            (f"/broadcast Send: queueing {queued:,} recipients", f"{queue_took:.2f} s", ""),
            (
                f"  the loop's longest stall meanwhile (batches of {broadcasting.QUEUE_BATCH:,})",
                f"{queue_stall * 1000:,.0f} ms",
                "",
            ),
        ],
        numbers,
    )


async def jobs(args: argparse.Namespace) -> Result:
    """The design the issue compares against: one PTB run_daily job per reminder."""
    telegram = LocalTelegram()
    warnings = WarningCounter()
    with tempfile.TemporaryDirectory() as data_dir:
        url = scenarios.sqlite_url(Path(data_dir) / "jobs.db")
        runtime = Runtime.open(bench_settings(url, Path(data_dir)), SystemClock())
        application = build_application(
            runtime,
            request=telegram.request(),
            get_updates_request=telegram.request(),
            deliver=False,
        )
        job_queue = application.job_queue
        assert job_queue is not None
        await application.initialize()
        reset_peak()
        baseline = memory_mb()["rss"]
        # As a post_init hook would: every reminder becomes a job before the scheduler starts.
        began = time.perf_counter()
        scheduled = users = 0
        for someone in population.people(args.users):
            days = ALL_DAYS if someone.weekends else WEEKDAYS
            for moment in reminder_times(someone):
                job_queue.run_daily(remind, moment, days=days, chat_id=someone.user_id)
                scheduled += 1
            users += 1
            if time.perf_counter() - began > args.cap_seconds:
                break
        created = time.perf_counter() - began
        await start_application(application)
        started = time.perf_counter() - began - created
        memory = memory_mb()
        in_queue = len(job_queue.jobs())
        await stop_application(application)
    finished = users == args.users
    total = created + started
    per_job = (memory["rss"] - baseline) * 2**20 / max(scheduled, 1)
    numbers = {
        "users": users,
        "asked": args.users,
        "jobs": scheduled,
        "in_queue": in_queue,
        "create_seconds": created,
        "start_seconds": started,
        "seconds": total,
        "finished": finished,
        "rss": memory["rss"],
        "peak": memory["peak"],
        "bytes_per_job": per_job,
        "baseline": baseline,
    }
    figures = [
        (
            "users / reminder jobs",
            f"{users:,} / {scheduled:,}",
            "all" if finished else f"CAPPED at {args.cap_seconds:g} s",
        ),
        ("jobs in the JobQueue after start", f"{in_queue:,}", ""),
        ("creating the jobs (run_daily)", f"{created:.1f} s", ""),
        ("starting the scheduler with them", f"{started:.1f} s", ""),
        ("time to schedule all jobs", f"{total:.1f} s", "outbox start-up target <= 2 s"),
        ("resident memory before the jobs", f"{baseline:.0f} MB", ""),
        ("resident memory with the jobs", f"{memory['rss']:.0f} MB", ""),
        ("peak resident memory", f"{memory['peak']:.0f} MB", "outbox target <= 150 MB"),
        ("memory per job", f"{per_job / 1024:.1f} KB", ""),
    ]
    if not finished:
        projected = total * args.users / max(users, 1)
        figures.append(("all users, linear projection (a lower bound)", f"{projected:.0f} s", ""))
        numbers["projected_seconds"] = projected
    result = Result(
        f"jobs: one run_daily job per reminder, {args.users:,} users x up to 8, in a fresh process",
        figures,
        numbers,
    )
    if warnings.seen:
        result.notes = ["log warnings and errors during the run:", *warnings.lines()]
    return result


# ---- everything -----------------------------------------------------------------------------


def run_step(name: str, arguments: list[str], timeout: float) -> dict[str, Any] | None:
    """Run one subcommand in a fresh process, pass its table through, return its numbers."""
    command = [sys.executable, __file__, *arguments, "--json"]
    print(f"\n$ .venv/bin/python bench/bench_delivery.py {' '.join(arguments)}", flush=True)
    numbers = None
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        deadline = time.monotonic() + timeout
        for line in child.stdout:
            if line.startswith("RESULT "):
                numbers = json.loads(line.removeprefix("RESULT "))
            else:
                print(line, end="", flush=True)
            if time.monotonic() > deadline:
                child.kill()
                print(f"{name}: stopped after {timeout:g} s")
                break
        child.wait()
    if numbers is None:
        print(f"{name}: no figures (exit status {child.returncode})")
    return numbers


def run_all(args: argparse.Namespace) -> None:
    db, users = args.db, str(args.users)
    began = time.perf_counter()
    steps: list[tuple[str, list[str], float]] = [
        ("seed", ["seed", "--users", users, "--db", db], 600),
        ("startup", ["startup", "--db", db], 120),
        ("tick", ["tick", "--db", db, "--due", "1000"], 300),
        ("throughput", ["throughput", "--db", db, "--due", "20000"], 400),
        (
            "postgres",
            ["throughput", "--db", args.postgres, "--due", "10000", "--users", users],
            600,
        ),
        ("summaries", ["tick", "--db", db, "--due", "100", "--kind", "weekly_summary"], 300),
        ("busy", ["busy", "--db", db, "--minutes", str(args.minutes)], args.minutes * 60 + 240),
        ("jobs", ["jobs", "--users", "10000"], 300),
        ("jobs_all", ["jobs", "--users", users, "--cap-seconds", str(args.cap_seconds)], 600),
    ]
    found = {name: run_step(name, arguments, timeout) for name, arguments, timeout in steps}
    summary(found, args.users, time.perf_counter() - began)
    print(f"code: {code_version()}, {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}")


def code_version() -> str:
    """The commit measured, and whether the bot's code differed from it."""

    def git(*words: str) -> str:
        return subprocess.run(["git", *words], capture_output=True, text=True).stdout.strip()

    changed = git("status", "--porcelain", "bot", "content")
    return f"{git('rev-parse', '--short', 'HEAD')}{' + uncommitted bot changes' if changed else ''}"


def summary(found: dict[str, dict[str, Any] | None], users: int, seconds: float) -> None:
    """One table: each figure the issue asks for, beside its target and whether it was met."""
    rows: list[tuple[str, str, str]] = []

    def add(
        step: str,
        what: str,
        show: Callable[[dict[str, Any]], str],
        goal: str = "",
        met: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        numbers = found.get(step)
        if numbers is None:
            rows.append((what, "not measured", goal))
            return
        verdict = "" if met is None else (": met" if met(numbers) else ": MISSED")
        rows.append((what, show(numbers), f"{goal}{verdict}"))

    def rss(step: str, label: str) -> None:
        add(
            step,
            f"peak RSS, {label}",
            lambda n: f"{n['peak']:.0f} MB",
            "<= 150 MB",
            lambda n: n["peak"] <= 150,
        )

    def rate(step: str, label: str) -> None:
        add(
            step,
            f"internal throughput, {label}",
            lambda n: f"{n['rate']:,.0f}/s",
            ">= 1,000/s",
            lambda n: n["rate"] >= 1000,
        )

    add("seed", f"seeding {users:,} users", lambda n: f"{n['seconds']:.0f} s", "not a target")
    add(
        "startup",
        "start-up to ready",
        lambda n: f"{n['total']:.2f} s",
        "<= 2 s",
        lambda n: n["total"] <= 2,
    )
    rss("startup", "start-up")
    add("tick", "tick time per 1,000 due nudges", lambda n: f"{n['per_1000']:.2f} s")
    rss("tick", "1,000 due")
    rate("throughput", "SQLite")
    rss("throughput", "20,000 due")
    rate("postgres", "PostgreSQL")
    rate("summaries", "weekly summaries")
    rss("summaries", "100 weekly summaries")
    add("busy", "busy: messages per second", lambda n: f"{n['rate']:.2f}")
    add(
        "busy",
        "busy: share of the 30 msg/s cap",
        lambda n: f"{n['share_of_cap']:.1%}",
        ">= 95 %",
        lambda n: n["share_of_cap"] >= 0.95,
    )
    add(
        "busy",
        "busy: 429s received",
        lambda n: f"{n['too_many_requests']}",
        "0",
        lambda n: n["too_many_requests"] == 0,
    )
    add(
        "busy",
        "busy: lateness p99 / max",
        lambda n: f"{n['late_p99']:.1f} / {n['late_max']:.1f} s",
        "max <= 60 s",
        lambda n: n["late_max"] <= 60,
    )
    rss("busy", "busy")
    add("jobs", "jobs, 10,000 users: scheduling", lambda n: f"{n['seconds']:.1f} s")
    add("jobs", "jobs, 10,000 users: RSS", lambda n: f"{n['rss']:.0f} MB")
    add("jobs_all", f"jobs, {users:,} users: scheduling", jobs_outcome)
    add("jobs_all", f"jobs, {users:,} users: RSS", lambda n: f"{n['rss']:.0f} MB")
    Result(f"summary ({seconds / 60:.1f} minutes in all)", rows, {}).show(as_json=False)


def jobs_outcome(numbers: dict[str, Any]) -> str:
    """How long scheduling every job took, or how far it got before the cap."""
    if numbers["finished"]:
        return f"{numbers['seconds']:.1f} s"
    return f"not finished: {numbers['users']:,} users in {numbers['seconds']:.0f} s"


# ---- command line ---------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = commands.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, *, db: bool = True) -> argparse.ArgumentParser:
        one = sub.add_parser(name, help=help_text)
        if db:
            one.add_argument("--db", default=DEFAULT_DB, help="SQLite file (or PostgreSQL URL)")
        one.add_argument("--json", action="store_true", help="also print the numbers as JSON")
        return one

    one = command("seed", "create a migrated database with N active users")
    one.add_argument("--users", type=int, default=100_000)
    one.add_argument("--history-days", type=int, default=population.HISTORY_DAYS)
    one = command("startup", "fresh process to Application ready, against --db")
    one.add_argument("--runs", type=int, default=3)
    one.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name, due in (("tick", 1000), ("throughput", 20_000)):
        one = command(name, f"time Dispatcher.tick() until --due (default {due:,}) are sent")
        one.add_argument("--due", type=int, default=due)
        one.add_argument("--users", type=int, default=100_000, help="seeded on PostgreSQL")
        one.add_argument("--history-days", type=int, default=population.HISTORY_DAYS)
        one.add_argument("--profile", action="store_true", help="print where the time went")
        one.add_argument(
            "--kind",
            choices=[NudgeKind.NUDGE.value, NudgeKind.WEEKLY_SUMMARY.value],
            default=NudgeKind.NUDGE.value,
            help="what is made due: nudges, or Monday's weekly summaries (with their chart)",
        )
    one = command("busy", "real time, flood limits on: a busy morning")
    one.add_argument("--minutes", type=int, default=5)
    one.add_argument("--share", type=float, default=0.3, help="of users whose window opens")
    command("stall", "/stats and a broadcast's queueing: time, and the loop's longest stall")
    one = command("jobs", "one PTB run_daily job per reminder", db=False)
    one.add_argument("--users", type=int, default=10_000)
    one.add_argument("--cap-seconds", type=float, default=120.0)
    one = command("all", "everything above at the issue's scale, then a summary")
    one.add_argument("--users", type=int, default=100_000)
    one.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server for its own database")
    one.add_argument("--minutes", type=int, default=5)
    one.add_argument("--cap-seconds", type=float, default=30.0)
    return commands


def main() -> None:
    args = parser().parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "all":
        run_all(args)
        return
    if args.command == "startup" and args.child:
        run(startup_child(args.db))
        return
    measured: dict[str, Callable[[argparse.Namespace], Any]] = {
        "seed": seed,
        "startup": startup,
        "tick": lambda a: run(measure_sends(a, "tick")),
        "throughput": lambda a: run(measure_sends(a, "throughput")),
        "busy": lambda a: run(busy(a)),
        "jobs": lambda a: run(jobs(a)),
        "stall": lambda a: run(stall(a)),
    }
    measured[args.command](args).show(args.json)


if __name__ == "__main__":
    main()
