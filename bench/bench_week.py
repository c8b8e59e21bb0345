"""A simulated week: users, API faults, kill -9 restarts and downtime, every nudge accounted for.

Run from the repository root (about 10 minutes; --help lists the knobs):

    .venv/bin/python bench/bench_week.py
    .venv/bin/python bench/bench_week.py --users 200 --days 2 --speed 2000 --kills held

The bot is `glutebot run` in its own process, so kill -9 is real, polling the local Telegram
that this process serves over HTTP (`serve_http`). Both run on one simulated clock: the bot
through GLUTEBOT_CLOCK_SPEED / _START / _ORIGIN (for tests and benchmarks only, see
`bot.cli.clock_for_run`), the local Telegram's message dates through the same timeline here.
The week starts on a Monday at 08:30 UTC, when it is Monday for every user.

What happens during the week:
- Users react to a share of their nudges a moment after they arrive: Snooze (15, 30 or 60
  minutes), Skip, or Not now; the rest go unanswered (so the fatigue guard works too).
- Every sendMessage and sendPhoto fails at random: 5 % with a 500, 2 % with no answer (the
  call is held, then the connection drops after 50 ms: PTB's 5-second read time-out would
  be hours of simulated time). Four times, a burst of three 429s with retry_after 1: PTB's
  rate limiter retries twice, the third reaches the dispatcher, which requeues and waits.
  Those waits are real seconds (at 1,200x, 3.2 s is an hour of simulated time).
- Three kill -9s while messages are being sent, each of one kind: `held` (a send is in
  flight and will never be answered: nothing was delivered; the batch's earlier messages
  have their receipts but their users no next nudge yet), `delivered` (the user has the
  message, the bot has not heard back: the window between Telegram taking a message and
  its receipt), `random` (0-10 ms after some message arrived, wherever the bot is then).
  After each, the bot starts again at once.
- One downtime (a clean stop) long enough that nudges due during it are marked missed.
- The last 13.5 hours (Sunday evening to Monday morning UTC) run at 400x after a clean
  restart: weekly summaries fall due there for users east of Greenwich, and each draws a
  chart (about 0.13 s of CPU), which 1,200x would not leave time for.
- At the end the bot finishes what fell due before the end, then stops (SIGTERM).

Then every outbox row is accounted for (sent, snoozed, skipped, missed during downtime,
cancelled by a user's tap, failed after its retries, or scheduled after the end), every
message a user received is matched to its row by telegram_message_id (and to the nudge in
its buttons), and nothing may be lost: no claim left, nothing due before the end still
scheduled, no active user without a next nudge. Each tap must show on its nudge's row
(a tap lost to a crash is reported with how it got lost). The exit code is 1 when anything
was lost or received twice. tests/resilience/test_week.py runs the same scenario scaled
down and asserts on the same report.

Scale: the bot needs about 9 ms of CPU per message in this setup (HTTP both ways, faults,
taps, charts) and keeps up with roughly 100-150 messages a real second on this 2-core
machine, so 1,000 users (about 28,000 messages a week) at 1,200x is what fits in 10 minutes
with the bot on time; 2,000 users at 1,500x fell hours behind and missed nudges. 10,000
users would take about ten times the wall time (--users 10000 --speed 120 --slow-speed 40,
well over an hour), or fall hours behind at 1,200x.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import re
import resource
import shlex
import signal
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import population
from sqlalchemy import func, select

from bot.db.engine import create_engine
from bot.db.models import Nudge, NudgeKind, NudgeState, ProcessedUpdate, User, UserState
from bot.localtelegram import Event, LocalTelegram, LocalUser, serve_http
from bot.localtelegram.chat import ChatMessage
from bot.localtelegram.protocol import NoResponse, UploadedFile

GLUTEBOT = str(Path(sys.executable).parent / "glutebot")
TOKEN = "5550001234:AAHsecret-token-for-tests_only"
# A Monday morning in UTC, when it is Monday for every user (Auckland to Los Angeles): users
# who start then get their first weekly summary a week later (see `next_weekly_summary_at`).
MONDAY = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
SENDS = ("sendmessage", "sendphoto")
KILL_KINDS = ("held", "delivered", "random")
KEEP_MESSAGES = 8  # per chat in the local Telegram: enough for the taps still to come
OUTAGE_SLACK = timedelta(hours=1)  # a nudge due this long before a stop may still be unsent


# ---- the scenario ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """What the simulated week holds; `*_at` moments are fractions of the run."""

    users: int = 1_000
    days: float = 7.0
    speed: float = 1_200.0  # simulated seconds per real second
    start: datetime = MONDAY
    seed: int = 8
    snooze: float = 0.08  # shares of nudges users react to, by button
    skip: float = 0.06
    not_now: float = 0.06
    server_errors: float = 0.05  # per sendMessage / sendPhoto call
    timeouts: float = 0.02
    flood_bursts: int = 4
    burst_at: tuple[float, ...] = ()  # fractions of the run; empty: `flood_bursts` at random
    burst_size: int = 3  # PTB's rate limiter retries twice, so the third reaches the dispatcher
    kills: tuple[str, ...] = KILL_KINDS
    kill_at: tuple[float, ...] = ()  # one per kill; empty: spread from 0.2 to 0.7
    downtime_hours: float = 8.0
    downtime_at: float = 0.55
    missed_after_minutes: int = 240
    # Real seconds between starting the bot and the simulated start: `glutebot run` needs
    # about 3 s to its first tick (0 starts the clock at once: a backlog to begin with).
    start_lead: float = 3.0
    # Monday's weekly summaries (a chart each, ~0.13 s of CPU) crowd the last hours of a
    # week that starts on MONDAY; the clock slows down for them (see the module notes).
    slow_hours: float = 13.5
    slow_speed: float = 400.0

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    def kill_moments(self) -> list[tuple[datetime, str]]:
        """When each kill comes: in a busy hour if there is room, never inside the downtime."""
        down, up = self.downtime()
        count = len(self.kills)
        spread = tuple(0.2 + 0.5 * n / max(count - 1, 1) for n in range(count))
        moments = []
        for fraction, kind in zip(self.kill_at or spread, self.kills, strict=True):
            moment = self._busy(self.days * fraction, self.days * 0.9)
            if self.downtime_hours > 0 and down - timedelta(hours=1) <= moment <= up:
                moment = up + timedelta(hours=2)
            moments.append((moment, kind))
        return moments

    def downtime(self) -> tuple[datetime, datetime]:
        """The outage, starting in a busy hour if there is room (empty: no downtime)."""
        latest = self.days - self.downtime_hours / 24 - 0.1
        begins = self._busy(self.days * self.downtime_at, latest)
        return begins, begins + timedelta(hours=self.downtime_hours)

    def slowdown(self) -> datetime | None:
        """When the clock slows down for the last stretch (None: it never does)."""
        if self.slow_hours <= 0 or self.slow_speed >= self.speed:
            return None
        return self.end - timedelta(hours=self.slow_hours)

    def _busy(self, days: float, latest: float) -> datetime:
        """`days` into the run, moved to a busy hour unless that is after `latest` days."""
        moment = self.start + timedelta(days=days)
        busy = busy_hour(moment)
        return busy if busy <= self.start + timedelta(days=latest) else moment

    def bursts(self, rng: random.Random) -> list[datetime]:
        """When the bursts of 429s come (never inside the downtime)."""
        if self.burst_at:
            return [self.start + timedelta(days=self.days * f) for f in self.burst_at]
        down, up = self.downtime()
        moments: list[datetime] = []
        while len(moments) < self.flood_bursts:
            moment = self.start + timedelta(days=rng.uniform(0.05, 0.95) * self.days)
            if not down - timedelta(hours=1) <= moment <= up:
                moments.append(moment)
        return sorted(moments)


def busy_hour(moment: datetime) -> datetime:
    """`moment`, or the next 10:00 UTC if it is outside 09:00-16:00 UTC (Europe's working day,
    when most of the population is being nudged)."""
    if 9 <= moment.hour < 16:
        return moment
    day = moment if moment.hour < 9 else moment + timedelta(days=1)
    return day.replace(hour=10, minute=0, second=0, microsecond=0)


# ---- one simulated timeline -----------------------------------------------------------------


class SimulatedTime:
    """The simulated clock of this process, and the environment that gives a bot the same.

    It shows `start` `lead` real seconds from now (earlier moments before that), so that
    a bot started now is ready when the simulated time begins.
    """

    def __init__(self, start: datetime, speed: float, lead: float = 0.0) -> None:
        self.start, self.speed, self.origin = start, speed, time.time() + lead

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.origin) * self.speed)

    def env(self) -> dict[str, str]:
        return {
            "GLUTEBOT_CLOCK_SPEED": repr(self.speed),
            "GLUTEBOT_CLOCK_START": self.start.isoformat(),
            "GLUTEBOT_CLOCK_ORIGIN": repr(self.origin),
        }

    def change_speed(self, speed: float) -> None:
        """From now on run at `speed` (bots started afterwards follow; running ones do not)."""
        self.start, self.origin, self.speed = self.now(), time.time(), speed

    async def until(self, moment: datetime) -> None:
        while (left := (moment - self.now()).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(left / self.speed, 1.0))


# ---- the local Telegram and its users -------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """A message a user got: where, its id in the chat, the nudge row its buttons name."""

    chat_id: int
    message_id: int
    nudge_id: int | None
    photo: bool
    at: float  # time.monotonic()


@dataclass(frozen=True)
class Tap:
    """A button a user pressed: on which nudge, which action, and the update it became."""

    nudge_id: int
    action: str
    update_id: int
    query_id: str


class WeekTelegram(LocalTelegram):
    """The local Telegram with hooks on sends: `hold` may take the next one hostage, and
    `flood_waits` records each stretch from a 429 to the next send that went through (the
    bot waits retry_after real seconds: minutes or hours of simulated time)."""

    hold: Callable[[], bool] | None = None
    started: Callable[[], None] | None = None

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.flood_waits: list[list[datetime]] = []  # [first 429, first send after]
        self.delivered_at: deque[float] = deque(maxlen=2)  # the last sends that went through
        self.answers: dict[str, str] = {}  # callback query id: the toast it was answered with

    async def call(
        self,
        token: str,
        method: str,
        params: Mapping[str, object],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, Any]:
        name = method.lower()
        if name == "getme" and self.started is not None:
            self.started()
        if name == "answercallbackquery":
            self.answers[str(params.get("callback_query_id"))] = str(params.get("text") or "")
        if name in SENDS and self.hold is not None and self.hold():
            self.hold = None
            raise NoResponse()  # never answered; the caller is dead by now anyway
        status, body = await super().call(token, method, params, files)
        if name in SENDS:
            waiting = bool(self.flood_waits) and len(self.flood_waits[-1]) == 1
            if status == 429 and not waiting:
                self.flood_waits.append([self.clock.now()])
            elif status == 200 and waiting:
                self.flood_waits[-1].append(self.clock.now())
            if status == 200:
                self.delivered_at.append(time.monotonic())
        return status, body


class Users:
    """Everyone's side of the chats: records what arrives, taps a share of the nudges."""

    def __init__(self, telegram: LocalTelegram, scenario: Scenario, rng: random.Random) -> None:
        self.telegram = telegram
        self.scenario = scenario
        self.rng = rng
        self.received: list[Received] = []
        self.edits = 0
        self.taps: Counter[str] = Counter()
        self.tapped: list[Tap] = []
        self._pressing: set[asyncio.Future[None]] = set()
        self.tapping = True
        self.taps_waiting = 0
        self.delivered: Callable[[Received], None] | None = None  # a kill's hook
        telegram.add_listener(self)

    def __call__(self, event: Event) -> None:
        if event.kind == "edit":
            self.edits += 1
        if event.kind != "message" or event.message is None:
            return
        message = event.message
        nudge_id = nudge_id_of(message)
        got = Received(
            event.chat_id, message.message_id, nudge_id, message.photo is not None, time.monotonic()
        )
        self.received.append(got)
        self._forget_old(event.chat_id)
        if self.delivered is not None:
            self.delivered(got)
        if nudge_id is not None and self.tapping:
            self._maybe_tap(self.telegram.user(event.chat_id), message, nudge_id)

    def _maybe_tap(self, user: LocalUser, message: ChatMessage, nudge_id: int) -> None:
        draw, scenario = self.rng.random(), self.scenario
        if draw < scenario.snooze:
            action = f"z.{self.rng.choice((15, 30, 60))}"
        elif draw < scenario.snooze + scenario.skip:
            action = "skip"
        elif draw < scenario.snooze + scenario.skip + scenario.not_now:
            action = "later"
        else:
            return
        data = f"n:{nudge_id}:{action}"
        if not any(data in row for row in message.button_data):
            return  # a reminder of a snoozed nudge has the same buttons; anything else not
        self.taps_waiting += 1
        # A person takes a moment: 0.02-0.25 s real, minutes of simulated time.
        delay = self.rng.uniform(0.02, 0.25)
        asyncio.get_running_loop().call_later(delay, self._tap, user, message, data, action)

    def _tap(self, user: LocalUser, message: ChatMessage, data: str, action: str) -> None:
        task = asyncio.ensure_future(self._press(user, message, data, action))
        self._pressing.add(task)
        task.add_done_callback(self._pressing.discard)

    async def _press(self, user: LocalUser, message: ChatMessage, data: str, action: str) -> None:
        try:
            update = await user.press(callback_data=data, message=message)
        finally:
            self.taps_waiting -= 1
        self.taps[action.split(".")[0]] += 1
        query_id = update["callback_query"]["id"]
        self.tapped.append(Tap(int(data.split(":")[1]), action, update["update_id"], query_id))

    def _forget_old(self, chat_id: int) -> None:
        """Keep only the chat's last few messages: a week of them would not fit in memory."""
        chat = self.telegram.user(chat_id).chat
        if len(chat.bot_messages) > 2 * KEEP_MESSAGES:
            del chat.bot_messages[:-KEEP_MESSAGES]
            chat.messages = dict(list(chat.messages.items())[-KEEP_MESSAGES:])


def nudge_id_of(message: ChatMessage) -> int | None:
    """The outbox row a message's buttons act on (n:<nudge id>:<action>), if any."""
    for row in message.button_data:
        for data in row:
            parts = (data or "").split(":")
            if len(parts) == 3 and parts[0] == "n" and parts[1].isdigit():
                return int(parts[1])
    return None


# ---- the bot process ------------------------------------------------------------------------


class BotProcess:
    """`glutebot run` in its own process, with its output in a log file."""

    def __init__(self, env: dict[str, str], workdir: Path, number: int) -> None:
        self.env, self.workdir = env, workdir
        self.log_path = workdir / f"bot-{number}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                GLUTEBOT, "run", env=self.env, cwd=self.workdir, stdout=log, stderr=log
            )

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)

    async def stop(self) -> int:
        """SIGTERM, as an operator stops it; kill -9 after 30 s. The exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await self.process.wait()
            except TimeoutError:
                self.kill()
        return await self.process.wait()


def bot_env(
    scenario: Scenario, telegram_url: str, database_url: str, workdir: Path
) -> dict[str, str]:
    """The bot's settings: production defaults except what a fast clock needs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE", "GLUTEBOT_", "WEBHOOK_", "STATUS_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=telegram_url,
        DATABASE_URL=database_url,
        GLUTEBOT_DATA_DIR=str(workdir),
        NUDGES_PER_SECOND="1000",  # real seconds: the limiter must not hold the week back
        TICK_SECONDS="0.5",
        MISSED_AFTER_MINUTES=str(scenario.missed_after_minutes),
        # Simulated seconds: a claim this old at the start of a tick belonged to a process
        # that died (one bot, one tick at a time). The default 120 s would be 2 real minutes
        # in the real-speed catch-up at the end.
        CLAIM_TIMEOUT_SECONDS="5",
        LOG_LEVEL="WARNING",
        STATUS_PORT="0",
    )
    return env


# ---- the week -------------------------------------------------------------------------------


@dataclass
class Kill:
    """One kill -9 and what it left behind."""

    kind: str
    at: datetime  # simulated
    received_before: int  # messages users had received by then
    claims_left: int = 0  # rows claimed by the dead process
    users_without_next: int = 0  # active users with no scheduled nudge (reconcile's work)


@dataclass
class Outage:
    """A time the bot was not sending: from its stop to its next start (simulated), or
    while it waited out a burst of 429s."""

    down: datetime
    up: datetime
    why: str

    @property
    def kind(self) -> str:
        """What the table calls it: downtime, a restart, or a 429 wait."""
        if self.why in ("downtime", "429 burst"):
            return "a 429 wait" if self.why == "429 burst" else "downtime"
        return "a restart"


@dataclass
class Run:
    """What happened during the week, for the accounting afterwards."""

    scenario: Scenario
    database_url: str
    end: datetime
    received: list[Received]
    taps: Counter[str]
    tapped: list[Tap]
    answers: dict[str, str]  # callback query id: toast
    edits: int
    faults: Counter[str]
    bursts: int
    kills: list[Kill]
    outages: list[Outage]
    starts: int
    stops: list[int]  # exit codes after SIGTERM (0: stopped cleanly)
    caught_up: bool
    wall_seconds: float
    week_seconds: float
    cpu_bot: float  # seconds of CPU, all the bot's processes together
    cpu_here: float  # seconds of CPU of this process (the local Telegram and its users)
    logs: list[Path]


async def run_week(scenario: Scenario, workdir: Path, say: Callable[[str], None] = print) -> Run:
    """Seed the users, run the bot through the week, and return what happened."""
    began = time.perf_counter()
    rng = random.Random(scenario.seed)
    logging.getLogger("tornado.access").disabled = True  # a line per failed call otherwise
    database_url = await asyncio.to_thread(fresh_database, workdir)
    seeded = await population.seed(database_url, scenario.users, scenario.start, 0)
    say(f"seeded {seeded.users:,} users in {time.perf_counter() - began:.1f} s")

    cpu_before = cpu_seconds(resource.RUSAGE_SELF), cpu_seconds(resource.RUSAGE_CHILDREN)
    sim = SimulatedTime(scenario.start, scenario.speed, lead=scenario.start_lead)
    telegram = WeekTelegram(clock=sim)
    users = Users(telegram, scenario, random.Random(scenario.seed + 1))
    for person in population.people(scenario.users):
        telegram.user(person.user_id, f"User{person.user_id}").open_chat()
    for method in ("sendMessage", "sendPhoto"):
        rates = {"server_error": scenario.server_errors, "timeout": scenario.timeouts}
        telegram.inject_random_faults(method, rates, seed=rng.randrange(2**32))  # type: ignore[arg-type]
    # A time-out holds the call unanswered, then drops the connection: 50 ms real.
    server = await serve_http(telegram, hang_seconds=0.05)
    env = bot_env(scenario, server.base_url, database_url, workdir)

    kills: list[Kill] = []
    outages: list[Outage] = []
    stops: list[int] = []  # exit codes of SIGTERM stops
    logs: list[Path] = []
    up_at: list[datetime] = []
    starting = [False]

    def started() -> None:  # the first call of a new process: its preflight's getMe
        if starting[0]:
            starting[0] = False
            up_at.append(sim.now())

    telegram.started = started

    async def start_bot() -> BotProcess:
        starting[0] = True
        bot = BotProcess({**env, **sim.env()}, workdir, len(logs) + 1)
        logs.append(bot.log_path)
        await bot.start()
        return bot

    bot = await start_bot()
    outages.append(Outage(sim.now(), sim.now(), "first start"))
    week_began = time.perf_counter()
    events: list[tuple[datetime, str]] = [
        *((moment, f"kill:{kind}") for moment, kind in scenario.kill_moments()),
        *((moment, "burst") for moment in scenario.bursts(rng)),
    ]
    if scenario.downtime_hours > 0:
        events.append((scenario.downtime()[0], "down"))
    slowdown = scenario.slowdown()
    if slowdown is not None:
        events.append((slowdown, "slow"))
    try:
        for moment, what in sorted(events):
            await sim.until(moment)
            if what == "burst":
                telegram.inject_fault(
                    "sendMessage", "flood", times=scenario.burst_size, retry_after=1
                )
            elif what == "slow":
                stop = sim.now()
                stops.append(await bot.stop())
                sim.change_speed(scenario.slow_speed)
                bot = await start_bot()
                outages.append(Outage(stop, sim.now(), f"restart at {scenario.slow_speed:g}x"))
                say(f"{stop:%a %H:%M}: restarted with the clock at {scenario.slow_speed:g}x")
            elif what == "down":
                down = sim.now()
                stops.append(await bot.stop())
                say(f"{down:%a %H:%M}: stopped for {scenario.downtime_hours:g} h")
                await sim.until(scenario.downtime()[1])
                bot = await start_bot()
                outages.append(Outage(down, sim.now(), "downtime"))
            else:
                kill = await kill_mid_dispatch(bot, what.split(":")[1], telegram, users, sim, rng)
                kill.claims_left, kill.users_without_next = await left_by_kill(database_url)
                kills.append(kill)
                say(
                    f"{kill.at:%a %H:%M}: kill -9 ({kill.kind}) after "
                    f"{kill.received_before:,} messages; it left {kill.claims_left} claims "
                    f"and {kill.users_without_next} users without a next nudge"
                )
                bot = await start_bot()
                outages.append(Outage(kill.at, sim.now(), f"kill ({kill.kind})"))
        await sim.until(scenario.end)
        week_seconds = time.perf_counter() - week_began
        end = sim.now()
        users.tapping = False
        say(f"{end:%a %H:%M}: end of the simulated week")
        # The bot finishes what fell due before the end (its next tick or two), and the
        # taps already under way come in; then it stops as an operator stops it.
        caught_up = await catch_up(database_url, end, telegram, users)
        await asyncio.sleep(0.5)  # anything sent twice would show up now
        stops.append(await bot.stop())
    finally:
        if bot.process is not None and bot.process.returncode is None:
            bot.kill()
        await server.stop()
    # Each start's moment is its first call; an outage lasts until then.
    for outage, started in zip(outages, up_at, strict=False):
        outage.up = max(outage.up, started)
    outages += [Outage(wait[0], wait[-1], "429 burst") for wait in telegram.flood_waits]
    return Run(
        scenario=scenario,
        database_url=database_url,
        end=end,
        received=users.received,
        taps=users.taps,
        tapped=users.tapped,
        answers=telegram.answers,
        edits=users.edits,
        faults=telegram.stats.faults,
        bursts=len(scenario.burst_at) or scenario.flood_bursts,
        kills=kills,
        outages=outages,
        starts=len(logs),
        stops=stops,
        caught_up=caught_up,
        wall_seconds=time.perf_counter() - began,
        week_seconds=week_seconds,
        cpu_bot=cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before[1],
        cpu_here=cpu_seconds(resource.RUSAGE_SELF) - cpu_before[0],
        logs=logs,
    )


def cpu_seconds(who: int) -> float:
    """CPU seconds (user and system) of this process (RUSAGE_SELF) or its ended children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def fresh_database(workdir: Path) -> str:
    """The URL of an empty SQLite file in `workdir` (made if need be)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("week.db*"):
        old.unlink()
    return f"sqlite+aiosqlite:///{(workdir / 'week.db').resolve()}"


async def kill_mid_dispatch(
    bot: BotProcess,
    kind: str,
    telegram: WeekTelegram,
    users: Users,
    sim: SimulatedTime,
    rng: random.Random,
) -> Kill:
    """kill -9 the bot while it is sending, at the kind of moment asked for."""
    loop = asyncio.get_running_loop()
    dead = loop.create_future()

    def kill_now() -> None:
        if not dead.done():
            bot.kill()
            dead.set_result(None)

    if kind == "held":
        # Inside a batch (two messages went through just before): the batch's earlier
        # messages have their receipts but their users no next nudge yet (that is written
        # after the batch); this one is never answered.
        def hold() -> bool:
            recent, now = telegram.delivered_at, time.monotonic()
            if len(recent) == 2 and now - recent[0] < 0.05 and now - recent[1] < 0.015:
                kill_now()
                return True
            return False

        telegram.hold = hold
    elif kind == "delivered":

        def delivered(got: Received) -> None:
            if got.nudge_id is not None:  # a nudge reached the user: the bot never hears
                users.delivered = None
                kill_now()

        users.delivered = delivered
    elif kind == "random":

        def soon(got: Received) -> None:
            users.delivered = None
            loop.call_later(rng.uniform(0.0, 0.01), kill_now)

        users.delivered = soon
    else:
        raise ValueError(f"unknown kill kind {kind!r}; expected one of {KILL_KINDS}")
    try:
        async with asyncio.timeout(120):
            await dead
    except TimeoutError:  # nothing was being sent for two minutes: kill anyway, and say so
        kill_now()
        kind += " (idle)"
    finally:
        telegram.hold, users.delivered = None, None
    assert bot.process is not None
    await bot.process.wait()
    return Kill(kind, sim.now(), len(users.received))


async def left_by_kill(database_url: str) -> tuple[int, int]:
    """Claims the dead process held, and active users it left without a next nudge."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            claims = await connection.scalar(
                select(func.count()).select_from(Nudge).where(Nudge.state == NudgeState.CLAIMED)
            )
            waiting = select(Nudge.user_id).where(
                Nudge.kind == NudgeKind.NUDGE,
                Nudge.state.in_((NudgeState.SCHEDULED, NudgeState.CLAIMED)),
            )
            without = await connection.scalar(
                select(func.count())
                .select_from(User)
                .where(User.state == UserState.ACTIVE, User.id.not_in(waiting))
            )
    finally:
        await engine.dispose()
    return int(claims or 0), int(without or 0)


async def catch_up(database_url: str, end: datetime, telegram: LocalTelegram, users: Users) -> bool:
    """Wait (up to two minutes) until nothing due before `end` is left and every tap is in."""
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            async with engine.connect() as connection:
                left = await connection.scalar(
                    select(func.count())
                    .select_from(Nudge)
                    .where(
                        Nudge.state.in_((NudgeState.SCHEDULED, NudgeState.CLAIMED)),
                        Nudge.due_at < end,
                    )
                )
            if not left and not users.taps_waiting and not telegram.pending_update_count:
                return True
        return False
    finally:
        await engine.dispose()


# ---- the accounting -------------------------------------------------------------------------


@dataclass
class Report:
    """Every row and every message of the week, accounted for."""

    rows: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)  # by outcome, see `outcome_of`
    received: int = 0
    matched: int = 0
    duplicates: int = 0  # a nudge row's message received more than once
    unmatched: int = 0  # a message no row accounts for (and not a known duplicate)
    unrecorded: int = 0  # delivered, but its row never learned it (a kill in between)
    phantoms: int = 0  # a row records a message the user never received
    claimed_left: int = 0
    due_not_sent: int = 0  # scheduled, due before the end of the week
    without_next: int = 0  # active users with no next nudge
    without_summary: int = 0  # active users with no weekly summary waiting
    with_two_next: int = 0  # active users with more than one next nudge
    cancelled_unexplained: int = 0
    missed_while_running: int = 0
    # sent_at - due_at of what was sent: due while the bot ran, and due during an outage
    late_minutes: list[float] = field(default_factory=list)
    late_after_outage: list[float] = field(default_factory=list)
    responses: Counter[str] = field(default_factory=Counter)
    taps_unrecorded: Counter[str] = field(default_factory=Counter)  # taps whose row shows nothing
    users: int = 0

    @property
    def lost(self) -> int:
        """What must be zero: work the outbox dropped or left undone."""
        return (
            self.claimed_left
            + self.due_not_sent
            + self.without_next
            + self.without_summary
            + self.phantoms
            + self.cancelled_unexplained
        )

    @property
    def accounted(self) -> int:
        return sum(self.states.values())


async def account(run: Run) -> Report:
    """Read the outbox after the week and check it against what users received."""
    engine = create_engine(run.database_url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(Nudge.__table__))).mappings().all()
            handled = set(await connection.scalars(select(ProcessedUpdate.update_id)))
            states = dict((await connection.execute(select(User.id, User.state))).all())
    finally:
        await engine.dispose()
    report = Report(rows=len(rows), users=sum(s is UserState.ACTIVE for s in states.values()))
    by_id = {row["id"]: row for row in rows}
    by_message = {
        (row["user_id"], row["telegram_message_id"]): row
        for row in rows
        if row["telegram_message_id"] is not None
    }
    for row in rows:
        report.by_kind[row["kind"].value] += 1
        report.states[outcome_of(row, run)] += 1
        if row["response"]:
            report.responses[row["response"]] += 1
        if row["state"] is NudgeState.CLAIMED:
            report.claimed_left += 1
        if row["state"] is NudgeState.SCHEDULED and row["due_at"] < run.end:
            report.due_not_sent += 1
    report.missed_while_running = report.states["missed while running (the bot fell behind)"]
    for row in rows:
        if row["sent_at"] is not None and row["telegram_message_id"] is not None:
            late = (row["sent_at"] - row["due_at"]).total_seconds() / 60
            outage = during_outage(row["due_at"], run.outages) is not None
            (report.late_after_outage if outage else report.late_minutes).append(late)
    report.cancelled_unexplained = unexplained_cancels(rows)
    answers = {"z": "snoozed", "skip": "skipped", "later": "not_now"}
    for tap in run.tapped:
        row = by_id.get(tap.nudge_id)
        if row is not None and row["response"] == answers[tap.action.split(".")[0]]:
            continue
        if tap.query_id in run.answers:
            why = f"answered {run.answers[tap.query_id] or 'without a word'!r}"
        elif tap.update_id in handled:
            why = "never answered, its update id recorded as handled"
        else:
            why = "never answered, its update never handled"
        report.taps_unrecorded[why] += 1

    # Messages against rows: each message to its row by telegram_message_id; a message no
    # row records is either a second copy of a nudge (its buttons name a row that records
    # another message) or one whose receipt a kill prevented.
    report.received = len(run.received)
    seen: Counter[tuple[int, int]] = Counter()
    copies: Counter[int] = Counter()
    for got in run.received:
        if got.nudge_id is not None:
            copies[got.nudge_id] += 1
        key = (got.chat_id, got.message_id)
        if key in by_message:
            report.matched += 1
            seen[key] += 1
            continue
        row = by_id.get(got.nudge_id) if got.nudge_id is not None else None
        if row is not None and row["telegram_message_id"] is None:
            report.unrecorded += 1
        elif row is not None:
            report.duplicates += 1
        else:
            report.unmatched += 1
    report.phantoms = sum(1 for key in by_message if not seen[key])
    report.duplicates = max(report.duplicates, sum(n - 1 for n in copies.values() if n > 1))

    # Every active user has exactly one next nudge and one weekly summary waiting.
    waiting: dict[NudgeKind, Counter[int]] = defaultdict(Counter)
    for row in rows:
        if row["state"] is NudgeState.SCHEDULED:
            waiting[row["kind"]][row["user_id"]] += 1
    active = [user_id for user_id, state in states.items() if state is UserState.ACTIVE]
    report.without_next = sum(1 for u in active if not waiting[NudgeKind.NUDGE][u])
    report.with_two_next = sum(1 for u in active if waiting[NudgeKind.NUDGE][u] > 1)
    report.without_summary = sum(1 for u in active if not waiting[NudgeKind.WEEKLY_SUMMARY][u])
    return report


# What can become of an outbox row, in the table's words and order; the first ones always
# show (with 0), the others when they happened.
OUTCOMES = (
    "sent",
    "sent, then snoozed (its reminder is a row of its own)",
    "sent, then skipped by the user",
    "missed during downtime",
    "cancelled (replaced after a tap)",
    "failed after its retries",
    "scheduled after the end",
    "skipped by the bot (nothing fitting to send)",
    "missed during a restart",
    "missed during a 429 wait",
    "missed while running (the bot fell behind)",
    "missed: a kill interrupted its send (not sent again)",
    "LOST: due, never sent",
    "LOST: still claimed",
)
ALWAYS_SHOWN = 7


def outcome_of(row: Mapping[str, Any], run: Run) -> str:
    """What became of one outbox row: one of OUTCOMES."""
    state: NudgeState = row["state"]
    if state is NudgeState.SENT:
        return OUTCOMES[0]
    if state is NudgeState.SNOOZED:
        return OUTCOMES[1]
    if state is NudgeState.SKIPPED:
        return OUTCOMES[2] if row["telegram_message_id"] is not None else OUTCOMES[7]
    if state is NudgeState.MISSED:
        if (row["last_error"] or "").startswith("interrupted"):
            return OUTCOMES[11]
        outage = during_outage(row["due_at"], run.outages)
        return f"missed during {outage.kind}" if outage is not None else OUTCOMES[10]
    if state is NudgeState.CANCELLED:
        return OUTCOMES[4]
    if state is NudgeState.FAILED:
        return OUTCOMES[5]
    if state is NudgeState.SCHEDULED:
        return OUTCOMES[6] if row["due_at"] >= run.end else OUTCOMES[12]
    return OUTCOMES[13]


def during_outage(due: datetime, outages: list[Outage]) -> Outage | None:
    """The outage a message was due in (or shortly before), if any; downtime first."""
    hits = [outage for outage in outages if outage.down - OUTAGE_SLACK <= due <= outage.up]
    return min(hits, key=lambda outage: outage.kind != "downtime", default=None)


def unexplained_cancels(rows: list[Mapping[str, Any]]) -> int:
    """Cancelled rows that no tap of their user explains.

    A tap replaces the user's waiting nudge: Snooze always (its reminder takes the place),
    any tap while the fatigue guard was spacing nudges out too; so each tap explains up to
    two cancelled rows scheduled before it.
    """
    taps: dict[int, list[datetime]] = defaultdict(list)
    cancelled: dict[int, list[datetime]] = defaultdict(list)
    for row in rows:
        if row["responded_at"] is not None:
            taps[row["user_id"]].append(row["responded_at"])
        if row["state"] is NudgeState.CANCELLED:
            cancelled[row["user_id"]].append(row["created_at"])
    unexplained = 0
    for user_id, created in cancelled.items():
        room = Counter({moment: 2 for moment in taps[user_id]})
        for moment in sorted(created):
            tap = next((t for t in sorted(room) if t >= moment and room[t] > 0), None)
            if tap is None:
                unexplained += 1
            else:
                room[tap] -= 1
    return unexplained


# ---- the table ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# What the bot may log without anything being wrong, and why:
EXPECTED = {
    # PTB's rate limiter when the third 429 of a burst gets through to the dispatcher,
    # which then waits and requeues: the point of the burst.
    "Rate limit hit after maximum of": "the third 429 of a burst, for the dispatcher",
    # APScheduler when PTB's JobQueue stops: a job that starts as the bot stops is
    # cancelled (PTB waits only for jobs already running), and the cancellation is logged.
    "CancelledError": "a job cancelled as the bot stopped (APScheduler logs it)",
}


def log_problems(logs: list[Path]) -> tuple[Counter[str], Counter[str]]:
    """Errors the bot logged (times and numbers blanked out): unexpected ones, expected ones.

    An error is its log line with the traceback under it; it is expected when the first
    line or the traceback's last line says one of EXPECTED.
    """
    unexpected: Counter[str] = Counter()
    expected: Counter[str] = Counter()
    for path in logs:
        records = re.split(
            r"\n(?=\d{4}-\d\d-\d\d |Exception in thread)", path.read_text(errors="replace")
        )
        cancelled = False
        for record in records:
            lines = record.strip().splitlines()
            if not lines or not (" ERROR " in lines[0] or lines[0].startswith("Exception in")):
                continue
            said = lines[0] + "\n" + lines[-1]
            why = next((why for key, why in EXPECTED.items() if key in said), None)
            if why is None and lines[0].startswith("Exception in thread") and cancelled:
                why = EXPECTED["CancelledError"]  # the cancelled job's database thread
            if why is not None:
                expected[why] += 1
                cancelled = cancelled or why == EXPECTED["CancelledError"]
            else:
                message = lines[0].split(" ERROR ", 1)[-1]
                unexpected[re.sub(r"\d+", "#", message)[:120] + f" ({path.name})"] += 1
    return unexpected, expected


def table(run: Run, report: Report, command: str) -> list[str]:
    """The Result table, as lines."""
    scenario = run.scenario
    late, outage_late = report.late_minutes, report.late_after_outage
    kills = ", ".join(
        f"{k.kind} {k.at:%a %H:%M} ({k.claims_left} claims, {k.users_without_next} unscheduled)"
        for k in run.kills
    )
    downtime = next((o for o in run.outages if o.why == "downtime"), None)
    slowdown = scenario.slowdown()
    faults = run.faults
    rows: list[tuple[str, str, str]] = [
        ("users (active at the end)", f"{scenario.users:,} ({report.users:,})", ""),
        (
            "simulated days",
            f"{scenario.days:g} ({scenario.start:%a %d %b %H:%M} to {run.end:%a %d %b %H:%M} UTC)",
            "",
        ),
        (
            "clock speed",
            f"{scenario.speed:,g}x (a day in {86400 / scenario.speed:.0f} s)",
            f"{scenario.slow_speed:g}x from {slowdown:%a %H:%M}" if slowdown else "",
        ),
        ("outbox rows", f"{report.rows:,}", ""),
        *(
            (f"  {kind}", f"{count:,}", "")
            for kind, count in sorted(report.by_kind.items(), key=lambda kv: -kv[1])
        ),
        (
            "what became of them",
            "",
            f"all {report.rows:,} accounted for: "
            + ("met" if report.accounted == report.rows and not report.lost else "MISSED"),
        ),
        *(
            (f"  {what}", f"{report.states[what]:,}", "must be 0" * what.startswith("LOST"))
            for n, what in enumerate(OUTCOMES)
            if n < ALWAYS_SHOWN or report.states[what]
        ),
        ("taps sent by users", counts(run.taps), ""),
        (
            "responses recorded",
            counts(report.responses),
            "",
        ),
        (
            "taps their row does not show",
            f"{sum(report.taps_unrecorded.values()):,}",
            counts(report.taps_unrecorded) if report.taps_unrecorded else "",
        ),
        ("messages users received", f"{report.received:,}", ""),
        ("  matched to their row (telegram_message_id)", f"{report.matched:,}", ""),
        ("  delivered, receipt lost to a kill", f"{report.unrecorded:,}", ""),
        ("  matched to no row", f"{report.unmatched:,}", "must be 0"),
        ("rows recording a message never received", f"{report.phantoms:,}", "must be 0"),
        (
            "duplicates (a row's message received twice)",
            f"{report.duplicates:,}",
            verdict(report.duplicates == 0, "must be 0"),
        ),
        (
            "lost",
            f"{report.lost:,}",
            verdict(report.lost == 0, "must be 0")
            + f" (claimed {report.claimed_left}, due unsent {report.due_not_sent}, no next "
            f"nudge {report.without_next}, no summary {report.without_summary}, unexplained "
            f"cancels {report.cancelled_unexplained})",
        ),
        ("users with two next nudges", f"{report.with_two_next:,}", "must be 0"),
        (
            "faults injected",
            ", ".join(f"{kind} {count:,}" for kind, count in sorted(faults.items())),
            f"429s in {run.bursts} bursts",
        ),
        ("kills (kill -9 mid-dispatch)", f"{len(run.kills)}", kills),
        (
            "downtime",
            f"{(downtime.up - downtime.down).total_seconds() / 3600:.1f} h" if downtime else "none",
            f"{downtime.down:%a %H:%M} to {downtime.up:%a %H:%M}; missed after "
            f"{scenario.missed_after_minutes} min"
            if downtime
            else "",
        ),
        (
            "bot starts / clean stops (SIGTERM, exit 0)",
            f"{run.starts} / {run.stops.count(0)} of {len(run.stops)}",
            "" if run.caught_up else "the end's catch-up did NOT finish",
        ),
        (
            "lateness, due while running: p50 / p99 / max",
            f"{percentile(late, 0.5):.1f} / {percentile(late, 0.99):.1f} / "
            f"{max(late, default=0):.1f} min",
            "simulated minutes",
        ),
        (
            "lateness, due during an outage: p50 / max",
            f"{percentile(outage_late, 0.5):.1f} / {max(outage_late, default=0):.1f} min",
            f"sent after the restart ({len(outage_late):,})",
        ),
        (
            "wall time",
            f"{run.wall_seconds / 60:.1f} min",
            f"the week itself {run.week_seconds / 60:.1f} min",
        ),
        (
            "CPU: the bot / the local Telegram and users",
            f"{run.cpu_bot:.0f} / {run.cpu_here:.0f} s",
            "",
        ),
    ]
    width = max(len(what) for what, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    lines = [f"\nResult: a simulated week, {command}"]
    lines += [
        f"  {what:<{width}}  {value:>{value_width}}  {note}".rstrip() for what, value, note in rows
    ]
    problems, expected = log_problems(run.logs)
    if problems:
        lines.append("errors the bot logged:")
        lines += [f"  {count} x {message}" for message, count in problems.most_common(8)]
    if expected:
        lines.append("expected errors in the bot's log: " + counts(expected))
    return lines


def counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {value:,}" for key, value in sorted(counter.items())) or "none"


def verdict(ok: bool, goal: str) -> str:
    return f"{goal}: {'met' if ok else 'MISSED'}"


# ---- command line ---------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    default = Scenario()
    commands = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands.add_argument("--users", type=int, default=default.users)
    commands.add_argument("--days", type=float, default=default.days)
    commands.add_argument("--speed", type=float, default=default.speed, help="clock speed-up")
    commands.add_argument("--seed", type=int, default=default.seed)
    commands.add_argument(
        "--kills", default=",".join(default.kills), help=f"kinds, comma-separated: {KILL_KINDS}"
    )
    commands.add_argument("--downtime-hours", type=float, default=default.downtime_hours)
    commands.add_argument(
        "--slow-speed",
        type=float,
        default=default.slow_speed,
        help="clock speed-up for the last --slow-hours (Monday's weekly summaries)",
    )
    commands.add_argument("--slow-hours", type=float, default=default.slow_hours)
    commands.add_argument("--workdir", type=Path, default=Path("data/bench/week"))
    return commands


def main() -> None:
    args = parser().parse_args()
    scenario = Scenario(
        users=args.users,
        days=args.days,
        speed=args.speed,
        seed=args.seed,
        kills=tuple(kind for kind in args.kills.split(",") if kind),
        downtime_hours=args.downtime_hours,
        slow_speed=args.slow_speed,
        slow_hours=args.slow_hours,
    )
    command = ".venv/bin/python bench/bench_week.py " + " ".join(map(shlex.quote, sys.argv[1:]))

    async def week() -> tuple[Run, Report]:
        run = await run_week(scenario, args.workdir)
        return run, await account(run)

    run, report = asyncio.run(week())
    print("\n".join(table(run, report, command.strip())))
    sys.exit(0 if report.lost == 0 and report.duplicates == 0 else 1)


if __name__ == "__main__":
    main()
