"""A long random soak: many users type, tap buttons (stale and forged ones too), block the bot
and come back, while the clock runs and nudges go out; the database is checked as it goes.

Run from the repository root (about a minute for these 5,000 actions):

    .venv/bin/python bench/soak.py --seed 1 --users 40 --actions 5000

Options: --seed (the same seed makes the same choices), --users (people who act; three
bystanders, an admin and a barrier user come on top), --actions, --check-every (actions
between full invariant checks), --db (a SQLite file path, or the URL of an empty PostgreSQL
database; default a temporary SQLite file), --light (no /progress or /export, as the test).

It prints what was done, what the bot handled, how many nudges went out, the exceptions
(handler failures, apologies sent to users, ERROR log lines, failed ticks, presses left
unanswered: must be 0) and the invariant violations (must be 0); the exit code is 1 unless
both are 0. tests/resilience/test_soak.py runs a short soak and a hypothesis fuzz through
the same `Crowd`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
import traceback
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.app import build_application, dispatcher_of, start_application, stop_application
from bot.clock import FakeClock
from bot.config import Settings
from bot.db.models import (
    Broadcast,
    BroadcastState,
    Decision,
    Nudge,
    NudgeKind,
    NudgeState,
    Report,
    Screen,
    ScreenStatus,
    User,
    UserSettings,
    UserState,
)
from bot.db.repo import upsert_user
from bot.delivery import planner
from bot.handlers.basics import SORRY
from bot.localtelegram import Event, LocalTelegram, LocalUser
from bot.runtime import Runtime
from content import Track, load_library

# Monday 2 March 2026, 06:00 UTC: 07:00 in Berlin, before anyone's nudge window opens.
MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
ADMIN_ID = 1
FIRST_ACTOR_ID = 100
FIRST_BYSTANDER_ID = 90_000
SENTINEL_ID = 99_999  # writes /help after each batch: its answer means the batch is done
BYSTANDERS = 3
LIBRARY = load_library()
EXERCISES = sorted(LIBRARY.exercises)
PENDING = (NudgeState.SCHEDULED, NudgeState.CLAIMED)
OWN_KINDS = (NudgeKind.NUDGE, NudgeKind.WEEKLY_SUMMARY, NudgeKind.MORNING_CHECK)
# Callback data the bot has a handler for (anything else is nobody's button).
KNOWN_PREFIXES = ("bc:", "o:", "n:", "st:", "rp:", "rf:", "del:", "cl:")
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Adelaide", "UTC")

# What people type: reports, answers to the screen, chat, red flags and junk.
REPORTS = (
    "12",
    "8",
    "3x10",
    "10x3",
    "10 each side",
    "12, pain 2/10",
    "12 reps, no pain",
    "hurts a bit, 4",
    "felt it in my lower back",
    "mostly in my glutes",
    "twelve reps, no pain",
    "done",
    "done ✅",
    "did 4, pain 2/10",
    "12 3",
    "8-10",
    "pain 6",
    "pain 9",
    "10/10",
    "yes",
    "0",
    "250",
    "2 kids",
)
SCREEN_ANSWERS = (
    "Berlin",
    "new york",
    "UTC+2",
    "Kathmandu",
    "Atlantis",
    "8-17",
    "7:30 to 16",
    "every 90 minutes",
    "1",
    "2",
    "3",
    "none",
    "no",
    "desk",
    "yes",
    "ok",
    "lets go",
)
CHAT = (
    "hello there!",
    "what should I do?",
    "thanks",
    "'; DROP TABLE users; --",
    "<b>bold</b> {{7*7}} %s%s%n",
    "🍑" * 50,
    "‮right-to-left‬",
    "١٢ reps",
    "reps " * 300,
    "x" * 4096,
)
RED_FLAGS = (
    "12 reps but now there's numbness in my groin",
    "I had a fall yesterday",
    "tingling down my leg since this morning",
)
FINISHING = ("Done", "✅ Sounds good", "Yes, that's right", "Start my programme")
GOING_BACK = ("«", "No, let me type", "None of these")
PLACES = ("Berlin", "Lisbon", "UTC-5", "Kathmandu", "Adelaide")
COMMANDS = (
    "/start",
    "/help",
    "/log",
    "/why",
    "/stop",
    "/resume",
    "/pause 3",
    "/pause 2 weeks",
    "/pause forever",
    "/pause until 24 dec",
    "/pause banana",
    "/settings",
    "/history",
    "/cancel",
    "/rescreen",
    "/delete",
    "/stats",
    "/broadcast",
    "/broadcast Back after maintenance, thanks!",
    "/frobnicate",
    "/start@glutebot_bot",
)
HEAVY_COMMANDS = ("/progress", "/export")
# Forged callback data: {nudge}, {report}, {screen} and {broadcast} become ids of rows that
# belong to someone else (or to nobody); {exercise} an exercise id.
FORGERIES = (
    "n:{nudge}:done",
    "n:{nudge}:r.12",
    "n:{nudge}:z.15",
    "n:{nudge}:later",
    "n:{nudge}:skip",
    "n:{nudge}:m.3",
    "rp:{report}:p.2",
    "rp:{report}:r.10",
    "rp:{report}:f.glutes",
    "rp:{report}:e.{exercise}",
    "o:{screen}:context:v.desk",
    "o:{screen}:summary:start",
    "o:{screen}:red_flag_stop:cleared",
    "bc:{broadcast}:send",
    "bc:{broadcast}:cancel",
    "st:s.later_start",
    "st:z.Pacific/Auckland",
    "st:z.Not/AZone",
    "st:a.standing_up",
    "rf:cleared",
    "del:no",
    "del:yes",
    "cl:reps=12,pain=3",
    "cl:none",
    "cl:zzz=1",
    "n:",
    "n:abc:done",
    "n:99999999:done",
    "n:-1:done",
    "n:{nudge}:r.99999",
    "n:{nudge}:z.7",
    "n:{nudge}:m.11",
    "rp:1",
    "rp:{report}:p.99",
    "rp:{report}:r.0",
    "rp:{report}:x",
    "o::::",
    "o:{screen}:nope:v.x",
    "bc:0:send",
    "bc:{broadcast}:explode",
    "x" * 64,
    "🍑",
    "",
)


@dataclass(frozen=True)
class Action:
    """One thing a user does. `who` picks the user and `pick` a choice, both modulo."""

    kind: str  # say, command, tap, forge, locate, clock, redeliver or block
    who: int = 0
    pick: int = 0
    text: str = ""  # what is typed, the command, or the forged data's template


@dataclass(frozen=True)
class Baseline:
    """What a bystander's row looks like before anyone else acts."""

    state: UserState
    settings: tuple[Any, ...]


def settings_row(settings: UserSettings) -> tuple[Any, ...]:
    """The settings a user chooses (not counters the delivery keeps)."""
    return (
        settings.timezone,
        settings.window_start,
        settings.window_end,
        settings.nudge_interval_minutes,
        settings.weekends,
        settings.paused_until,
        sorted(settings.anchors),
        sorted(settings.equipment),
        settings.focus,
        dict(settings.levels),
        sorted(settings.mix),
        settings.editing,
    )


class ErrorLog(logging.Handler):
    """Every log record at ERROR or above, while attached to the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(text)


class Crowd:
    """A running bot, the people who use it, and what the soak has seen so far."""

    def __init__(
        self,
        telegram: LocalTelegram,
        application: Application,  # type: ignore[type-arg]
        runtime: Runtime,
        clock: FakeClock,
        *,
        heavy: bool = False,
    ) -> None:
        self.telegram = telegram
        self.application = application
        self.runtime = runtime
        self.clock = clock
        self.heavy = heavy
        self.actors: list[LocalUser] = []
        self.bystanders: dict[int, Baseline] = {}
        self.sentinel = telegram.user(SENTINEL_ID, "Barrier")
        self.sentinel.open_chat()
        self.done: Counter[str] = Counter()
        self.arrived: Counter[int] = Counter()  # update id -> deliveries to the bot
        self.handled: Counter[int] = Counter()  # update id -> times past the dedupe
        self.recent: deque[dict[str, Any]] = deque(maxlen=100)  # updates, to redeliver
        self.presses: dict[str, tuple[str, int]] = {}  # open callback query -> data, user
        self.blocked_lately: set[int] = set()  # users who blocked the bot in this batch
        self.exceptions: list[str] = []
        self.violations: list[str] = []  # found between full checks (state changes)
        self.states: dict[int, UserState] = {}
        self.referred: set[int] = set()  # referred and not cleared by a clinician yet
        self.errors = ErrorLog()
        self._sorry_seen = 0
        telegram.add_listener(self._on_event)
        application.add_handler(TypeHandler(Update, self._arrive), group=-3)
        application.add_handler(TypeHandler(Update, self._after), group=1)
        logging.getLogger().addHandler(self.errors)

    def close(self) -> None:
        logging.getLogger().removeHandler(self.errors)
        self.telegram.remove_listener(self._on_event)

    # ---- watching the bot ----------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        message = event.message
        if event.kind == "message" and message is not None and message.text == SORRY:
            self._sorry_seen += 1

    async def _arrive(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Before the dedupe: every delivery of every update."""
        self.arrived[update.update_id] += 1

    async def _after(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """After the handler: the update passed the dedupe; watch the sender's state."""
        self.handled[update.update_id] += 1
        person = update.effective_user
        if person is None or person.id == SENTINEL_ID:
            return
        async with self.runtime.sessions() as session:
            state = await session.scalar(select(User.state).where(User.id == person.id))
        before = self.states.get(person.id)
        data = update.callback_query.data if update.callback_query else None
        if state is None:  # erased (/delete) or never stored
            self.referred.discard(person.id)
            self.states.pop(person.id, None)
            return
        self.states[person.id] = state
        if state is UserState.REFERRED:
            self.referred.add(person.id)
        elif person.id in self.referred and state in (UserState.ACTIVE, UserState.PAUSED):
            # Only "a clinician has cleared me", or a screen taken again to the end, clears.
            if data == "rf:cleared" or before is UserState.ONBOARDING:
                self.referred.discard(person.id)
            else:
                what = data or (update.effective_message.text if update.effective_message else "")
                self.violations.append(
                    f"user {person.id} was referred to a clinician and is {state} again "
                    f"after {what!r} (was {before}), without confirming they were cleared"
                )
                self.referred.discard(person.id)

    async def settle(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Wait until the bot has handled everything sent so far; note what went wrong."""
        seen = len(self.sentinel.messages)
        await self.sentinel.send("/help")
        await self.sentinel.wait_for(
            lambda: len(self.sentinel.messages) > seen, timeout, what="the barrier's answer"
        )
        # Send on a broadcast runs beside other updates: wait for its queueing to finish.
        for _ in range(int(timeout * 100)):
            async with self.runtime.sessions() as session:
                queueing = await session.scalar(
                    select(func.count())
                    .select_from(Broadcast)
                    .where(Broadcast.state == BroadcastState.QUEUEING)
                )
            if not queueing and all(
                self.telegram.is_answered(query)
                for query, (data, _) in self.presses.items()
                if data.startswith("bc:")
            ):
                break
            await asyncio.sleep(0.01)
        for query_id, (data, user_id) in self.presses.items():
            if self.telegram.is_answered(query_id) or user_id in self.blocked_lately:
                continue  # (no answer reaches someone who blocked the bot meanwhile)
            if data.startswith(KNOWN_PREFIXES):
                self.exceptions.append(f"a press of {data!r} was never answered")
        self.presses.clear()
        self.blocked_lately.clear()
        if self._sorry_seen:
            self.exceptions.append(f"{self._sorry_seen} 'something went wrong' apologies sent")
            self._sorry_seen = 0
        self.exceptions.extend(self.errors.lines)
        self.errors.lines.clear()

    # ---- people --------------------------------------------------------------------------

    async def add_people(self, actors: int, rng: random.Random) -> None:
        """The admin, `actors` users (a third of them active already), and the bystanders."""
        admin = self.telegram.user(ADMIN_ID, "Op")
        self.actors.append(admin)
        for number in range(actors):
            user_id = FIRST_ACTOR_ID + number
            if number % 3 == 0:
                self.actors.append(await self.activate(user_id, rng))
            else:
                self.actors.append(self.telegram.user(user_id, f"New{number}"))
        for number in range(BYSTANDERS):
            bystander = await self.activate(FIRST_BYSTANDER_ID + number, rng)
            async with self.runtime.sessions() as session:
                user = await session.get(User, bystander.id)
                assert user is not None
                self.bystanders[user.id] = Baseline(user.state, settings_row(user.settings))

    async def activate(self, user_id: int, rng: random.Random) -> LocalUser:
        """A user who finished the screen; their first nudge is scheduled."""
        person = self.telegram.user(user_id, f"User{user_id}")
        person.open_chat()
        now = self.clock.now()
        async with self.runtime.sessions.begin() as session:
            user, _ = await upsert_user(
                session,
                user_id=user_id,
                chat_id=user_id,
                first_name=f"User{user_id}",
                username=None,
                language_code="en",
                now=now,
            )
            settings = user.settings
            settings.timezone = rng.choice(ZONES)
            start = rng.choice((7, 8, 9)) * 60
            settings.window_start, settings.window_end = start, start + rng.choice((6, 9)) * 60
            settings.nudge_interval_minutes = rng.choice((45, 60, 90))
            settings.weekends = rng.random() < 0.5
            settings.focus, settings.mix = "activation", ["hip_flexor_balance"]
            settings.levels = {track.value: 1 for track in Track}
            settings.anchors = ["standing_up"]
            user.state = UserState.ACTIVE
            rate = self.runtime.settings.nudges_per_second
            await planner.start_nudging(session, user, now, planner.per_minute(rate))
        self.states[user_id] = UserState.ACTIVE
        return person

    # ---- doing things --------------------------------------------------------------------

    async def perform(self, action: Action) -> None:
        """Send what the action does to the bot (without waiting for the answer)."""
        user = self.actors[action.who % len(self.actors)]
        if user.blocked:  # someone who blocked the bot comes back first
            user.unblock()
            self.done["unblock"] += 1
            return
        if action.kind == "say":
            asked_where = user.messages and "Type your city" in (user.messages[-1].text or "")
            # Mostly a place when asked where they are, so that screens get finished.
            text = PLACES[action.pick % len(PLACES)] if asked_where and action.pick % 4 else None
            await self._write(user, text or action.text)
        elif action.kind == "command":
            command = action.text
            if command in HEAVY_COMMANDS and not self.heavy:
                command = "/history"
            await self._write(user, command)
        elif action.kind == "tap":
            await self._tap(user, action.pick)
        elif action.kind == "forge":
            await self._forge(user, action.text, action.pick)
        elif action.kind == "locate":
            latitude = (action.pick % 1700) / 10 - 85
            longitude = (action.pick * 7 % 3500) / 10 - 175
            self.recent.append(await user.share_location(latitude, longitude))
        elif action.kind == "clock":
            await self.advance(timedelta(minutes=1 + action.pick % 90))
        elif action.kind == "redeliver":
            self._redeliver(action.pick)
        elif action.kind == "block":
            if user.id != ADMIN_ID and user.chat.opened:
                user.block()
                self.blocked_lately.add(user.id)
        else:
            raise ValueError(f"unknown action {action.kind!r}")
        self.done[action.kind] += 1

    async def _write(self, user: LocalUser, text: str) -> None:
        self.recent.append(await user.send(text))

    async def _tap(self, user: LocalUser, pick: int) -> None:
        """Tap a button on one of the user's messages: mostly the newest, sometimes stale."""
        with_buttons = [
            m for m in reversed(user.messages) if m.button_data and not m.deleted and m.text
        ][:6]
        if not with_buttons:
            await self._write(user, "/start" if pick % 2 else "/help")
            return
        message = with_buttons[0 if pick % 4 else (pick // 4) % len(with_buttons)]
        buttons = [
            (label, data)
            for labels, datas in zip(message.buttons, message.button_data, strict=True)
            for label, data in zip(labels, datas, strict=True)
            if data is not None
        ]
        onward = [data for label, data in buttons if not label.startswith(GOING_BACK)]
        finishing = [data for label, data in buttons if label in FINISHING]
        # Mostly onward, as people do (often straight to the end of a step); now and then
        # back, or any button at all.
        choices = onward if onward and pick % 8 else [data for _, data in buttons]
        choices = finishing if finishing and pick % 3 == 0 else choices
        chosen = choices[(pick // 16) % len(choices)]
        update = await user.press(callback_data=chosen, message=message)
        self.presses[update["callback_query"]["id"]] = (chosen, user.id)
        self.recent.append(update)

    async def _forge(self, user: LocalUser, template: str, pick: int) -> None:
        """A press carrying made-up data, on the user's own latest message with text."""
        target = next((m for m in reversed(user.messages) if m.text and not m.deleted), None)
        if target is None:
            await self._write(user, "/help")
            return
        data = (await self._fill(template, user.id, pick)).encode()[:64].decode(errors="ignore")
        query_id = self.telegram.open_callback_query(user.chat, target)
        update = self.telegram.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.chat.user.as_user(),
                "message": target.to_api(),
                "chat_instance": "forged",
                "data": data,
            },
        )
        self.presses[query_id] = (data, user.id)
        self.recent.append(update)

    async def _fill(self, template: str, user_id: int, pick: int) -> str:
        """The template with ids of someone else's rows (or of none, when nobody has any)."""
        tables: dict[str, Any] = {
            "nudge": (Nudge.id, Nudge.user_id),
            "report": (Report.id, Report.user_id),
            "screen": (Screen.id, Screen.user_id),
        }
        values: dict[str, object] = {"exercise": EXERCISES[pick % len(EXERCISES)]}
        async with self.runtime.sessions() as session:
            for name, (key, owner) in tables.items():
                if "{" + name + "}" in template:
                    ids = list((await session.scalars(select(key).where(owner != user_id))).all())
                    values[name] = ids[pick % len(ids)] if ids else 10**9
            if "{broadcast}" in template:
                ids = list((await session.scalars(select(Broadcast.id))).all())
                values["broadcast"] = ids[pick % len(ids)] if ids else 1
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):  # made-up data with braces of its own
            return template

    def _redeliver(self, pick: int) -> None:
        """Telegram sends an update again: the one just sent, or an older one."""
        if not self.recent:
            return
        update = self.recent[-1] if pick % 2 else self.recent[pick // 2 % len(self.recent)]
        self.telegram.redeliver(update)

    async def advance(self, by: timedelta) -> None:
        """Move the clock and run the delivery tick, as the job queue would."""
        self.clock.advance(by)
        try:
            report = await dispatcher_of(self.application).tick()
        except Exception:
            self.exceptions.append("the delivery tick failed:\n" + traceback.format_exc())
            return
        self.done["nudges sent"] += report.sent
        self.exceptions.extend(f"tick: {error}" for error in report.errors)

    # ---- checking ------------------------------------------------------------------------

    async def check(self) -> list[str]:
        """Every invariant violation now (the bot should be settled)."""
        found = list(self.violations)
        self.violations.clear()
        twice = sorted(update_id for update_id, n in self.handled.items() if n > 1)
        if twice:
            found.append(f"updates handled more than once: {twice[:10]}")
        found += await check_invariants(self.runtime.sessions, self.bystanders)
        return found


async def check_invariants(
    sessions: async_sessionmaker[AsyncSession], bystanders: dict[int, Baseline] | None = None
) -> list[str]:
    """What is wrong with the stored data, as one line per problem (empty when consistent).

    - nothing is left claimed between ticks, and nobody has two pending messages of a kind;
    - an active user has their next nudge and weekly summary waiting; a user who is new,
      taking the screen, referred to a clinician, blocked, stopped or paused without an end
      date has no message of their own waiting;
    - every report and decision belongs to the user whose nudge or report it is about; no
      nudge has two reports and no report two decisions;
    - states fit the rest: an active or paused user has a programme, someone taking the
      screen has one open, a referred user has a programme or a red-flag screen; nobody has
      two open screens; an active user waits for no pause to end; levels on the ladders;
    - a queued broadcast has no more rows than recipients;
    - bystanders (users who never act) are exactly as they were.
    """
    problems: list[str] = []
    async with sessions() as session:

        async def rows(query: Any) -> list[Any]:
            return list((await session.execute(query)).all())

        for nudge_id, user_id in await rows(
            select(Nudge.id, Nudge.user_id).where(Nudge.state == NudgeState.CLAIMED)
        ):
            problems.append(f"nudge {nudge_id} of user {user_id} is still claimed")
        pending = (
            select(Nudge.user_id, Nudge.kind, func.count())
            .where(Nudge.state.in_(PENDING), Nudge.kind.in_(OWN_KINDS))
            .group_by(Nudge.user_id, Nudge.kind)
        )
        waiting: dict[tuple[int, NudgeKind], int] = {
            (user_id, kind): count for user_id, kind, count in await rows(pending)
        }
        for (user_id, kind), count in waiting.items():
            if count > 1:
                problems.append(f"user {user_id} has {count} pending {kind} messages")

        users = {user.id: user for user in (await session.scalars(select(User))).unique().all()}
        open_screens: Counter[int] = Counter()
        red_flag_screens: set[int] = set()
        for user_id, status in await rows(
            select(Screen.user_id, Screen.status).where(
                Screen.status.in_((ScreenStatus.IN_PROGRESS, ScreenStatus.RED_FLAG))
            )
        ):
            open_screens[user_id] += 1
            if status is ScreenStatus.RED_FLAG:
                red_flag_screens.add(user_id)
        for user in users.values():
            settings, state = user.settings, user.state
            has_programme = settings.focus is not None
            mine = {kind: waiting.get((user.id, kind), 0) for kind in OWN_KINDS}
            dated_pause = state is UserState.PAUSED and settings.paused_until is not None
            if state is UserState.ACTIVE or dated_pause:
                for kind in (NudgeKind.NUDGE, NudgeKind.WEEKLY_SUMMARY):
                    if mine[kind] != 1:
                        problems.append(f"{state} user {user.id} has {mine[kind]} pending {kind}")
            elif any(mine.values()):  # new, screening, referred, blocked, stopped, paused
                waiting_kinds = sorted(str(kind) for kind, count in mine.items() if count)
                problems.append(f"{state} user {user.id} has messages waiting: {waiting_kinds}")
            if state in (UserState.ACTIVE, UserState.PAUSED) and not has_programme:
                problems.append(f"{state} user {user.id} has no programme")
            if state is UserState.ONBOARDING and not open_screens[user.id]:
                problems.append(f"user {user.id} is taking the screen but has none open")
            if state is UserState.REFERRED and not (has_programme or user.id in red_flag_screens):
                problems.append(f"user {user.id} is referred with no programme or red flag")
            if open_screens[user.id] > 1:
                problems.append(f"user {user.id} has {open_screens[user.id]} open screens")
            if settings.paused_until is not None and state is UserState.ACTIVE:
                problems.append(f"active user {user.id} waits for a pause to end")
            for track, level in settings.levels.items():
                if not 1 <= level <= LIBRARY.ladder(Track(track)).top:
                    problems.append(f"user {user.id} is at level {level} on {track}")
            if settings.unanswered_streak < 0:
                problems.append(f"user {user.id} has a negative unanswered streak")

        for report_id, user_id, owner in await rows(
            select(Report.id, Report.user_id, Nudge.user_id)
            .join(Nudge, Nudge.id == Report.nudge_id)
            .where(Nudge.user_id != Report.user_id)
        ):
            problems.append(f"report {report_id} of user {user_id} is on user {owner}'s nudge")
        for decision_id, user_id, owner in await rows(
            select(Decision.id, Decision.user_id, Report.user_id)
            .join(Report, Report.id == Decision.report_id)
            .where(Report.user_id != Decision.user_id)
        ):
            problems.append(f"decision {decision_id} of user {user_id} is on {owner}'s report")
        for nudge_id, count in await rows(
            select(Report.nudge_id, func.count())
            .where(Report.nudge_id.is_not(None))
            .group_by(Report.nudge_id)
            .having(func.count() > 1)
        ):
            problems.append(f"nudge {nudge_id} was reported {count} times")
        for report_id, count in await rows(
            select(Decision.report_id, func.count())
            .where(Decision.report_id.is_not(None))
            .group_by(Decision.report_id)
            .having(func.count() > 1)
        ):
            problems.append(f"report {report_id} was decided on {count} times")

        for broadcast_id, recipients, queued in await rows(
            select(Broadcast.id, Broadcast.recipients, func.count(Nudge.id))
            .outerjoin(Nudge, Nudge.broadcast_id == Broadcast.id)
            .where(Broadcast.state == BroadcastState.QUEUED)
            .group_by(Broadcast.id, Broadcast.recipients)
        ):
            if queued > recipients:  # (fewer once a recipient has erased their data)
                problems.append(f"broadcast {broadcast_id}: {recipients} recipients, {queued} rows")

        for user_id, baseline in (bystanders or {}).items():
            bystander = users.get(user_id)
            if bystander is None:
                problems.append(f"bystander {user_id} was erased")
                continue
            now = (bystander.state, settings_row(bystander.settings))
            if now != (baseline.state, baseline.settings):
                problems.append(f"bystander {user_id}'s state or settings changed")
            touched = await _count(
                session,
                Nudge,
                Nudge.user_id == user_id,
                Nudge.response.is_not(None)
                | Nudge.state.in_((NudgeState.SNOOZED, NudgeState.SKIPPED)),
            )
            for name, count in (
                ("answered nudges", touched),
                ("reports", await _count(session, Report, Report.user_id == user_id)),
                ("decisions", await _count(session, Decision, Decision.user_id == user_id)),
                ("screens", await _count(session, Screen, Screen.user_id == user_id)),
            ):
                if count:
                    problems.append(f"bystander {user_id} has {count} {name}")
    return problems


async def _count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# ---- random actions ----------------------------------------------------------------------


def random_action(rng: random.Random, actors: int, *, heavy: bool = False) -> Action:
    """One action, weighted the way people use the bot (plus what attackers and networks do)."""
    who, pick = rng.randrange(actors), rng.randrange(1 << 20)
    roll = rng.random()
    if roll < 0.30:
        return Action("tap", who, pick)
    if roll < 0.50:
        pool: tuple[str, ...] = rng.choice((REPORTS, REPORTS, SCREEN_ANSWERS, SCREEN_ANSWERS, CHAT))
        if rng.random() < 0.01:
            pool = RED_FLAGS
        return Action("say", who, pick, rng.choice(pool))
    if roll < 0.64:
        if who == 0 and rng.random() < 0.3:  # the admin
            return Action("command", who, pick, f"/broadcast Soak broadcast #{pick}")
        commands = COMMANDS + (HEAVY_COMMANDS if heavy and rng.random() < 0.1 else ())
        return Action("command", who, pick, rng.choice(commands))
    if roll < 0.74:
        return Action("forge", who, pick, rng.choice(FORGERIES))
    if roll < 0.88:
        return Action("clock", who, pick)
    if roll < 0.95:
        return Action("redeliver", who, pick)
    if roll < 0.98:
        return Action("locate", who, pick)
    return Action("block", who, pick)


@dataclass
class SoakResult:
    """What a soak did and found."""

    seed: int
    actions: int
    seconds: float = 0.0
    done: Counter[str] = field(default_factory=Counter)
    updates_arrived: int = 0
    redeliveries: int = 0
    updates_handled: int = 0
    checks: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def lines(self) -> Iterable[str]:
        yield f"soak: seed {self.seed}, {self.actions} actions in {self.seconds:.1f} s"
        yield "done: " + ", ".join(f"{kind} {n}" for kind, n in sorted(self.done.items()))
        yield (
            f"updates: {self.updates_arrived} delivered to the bot, {self.redeliveries} of them "
            f"again (same update_id); {self.updates_handled} handled"
        )
        yield "rows: " + ", ".join(f"{table} {n}" for table, n in self.tables.items())
        yield "users: " + ", ".join(f"{state} {n}" for state, n in sorted(self.states.items()))
        yield f"invariant checks: {self.checks}"
        yield f"exceptions: {len(self.exceptions)}"
        for text in self.exceptions[:20]:  # the first and the last line of each
            lines = text.strip().splitlines()
            yield f"  {lines[0]}" + (f" ... {lines[-1]}" if len(lines) > 1 else "")
        yield f"invariant violations: {len(self.violations)}"
        yield from (f"  {line}" for line in self.violations[:20])


@asynccontextmanager
async def crowd_on(
    database_url: str, data_dir: Path, *, heavy: bool = False
) -> AsyncIterator[Crowd]:
    """A started bot on `database_url` (migrated at start) with a Crowd watching it."""
    clock = FakeClock(MONDAY)
    telegram = LocalTelegram(clock=clock)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=None,
        database_url=database_url,
        data_dir=data_dir,
        admin_ids=frozenset({ADMIN_ID}),
    )
    runtime = Runtime.open(settings, clock)
    application = build_application(
        runtime, request=telegram.request(), get_updates_request=telegram.request(), deliver=False
    )
    await start_application(application, poll_timeout=1)
    crowd = Crowd(telegram, application, runtime, clock, heavy=heavy)
    try:
        yield crowd
    finally:
        crowd.close()
        await stop_application(application)


async def soak(
    database_url: str,
    data_dir: Path,
    *,
    seed: int,
    users: int,
    actions: int,
    check_every: int = 100,
    heavy: bool = False,
    log: Any = None,
) -> SoakResult:
    """Run `actions` random actions by `users` people in batches, checking as it goes."""
    rng = random.Random(seed)
    result = SoakResult(seed, actions)
    started = time.monotonic()
    async with crowd_on(database_url, data_dir, heavy=heavy) as crowd:
        await crowd.add_people(users, rng)
        performed = next_check = 0
        while performed < actions:
            batch = min(rng.randint(1, 6), actions - performed)
            for _ in range(batch):
                await crowd.perform(random_action(rng, len(crowd.actors), heavy=heavy))
            performed += batch
            await crowd.settle()
            if performed >= next_check or performed >= actions:
                next_check = performed + check_every
                result.violations += await crowd.check()
                result.checks += 1
                if log is not None:
                    log(
                        f"  {performed} actions, {len(crowd.exceptions)} exceptions, "
                        f"{len(result.violations)} violations"
                    )
            if len(crowd.exceptions) + len(result.violations) > 50:
                break  # enough to go on
        result.exceptions = crowd.exceptions
        result.done = crowd.done
        result.updates_arrived = sum(crowd.arrived.values())
        result.redeliveries = sum(n - 1 for n in crowd.arrived.values())
        result.updates_handled = sum(crowd.handled.values())
        async with crowd.runtime.sessions() as session:
            for name, model in (
                ("users", User),
                ("screens", Screen),
                ("nudges", Nudge),
                ("reports", Report),
                ("decisions", Decision),
                ("broadcasts", Broadcast),
            ):
                result.tables[name] = await _count(session, model)
            result.tables["nudges sent"] = await _count(session, Nudge, Nudge.sent_at.is_not(None))
            result.tables["screens completed"] = await _count(
                session, Screen, Screen.status == ScreenStatus.COMPLETED
            )
            states = await session.execute(select(User.state, func.count()).group_by(User.state))
            result.states = {str(state): count for state, count in states.all()}
    result.seconds = time.monotonic() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--actions", type=int, default=5000)
    parser.add_argument("--check-every", type=int, default=100)
    parser.add_argument("--db", default=None, help="SQLite path or an empty PostgreSQL URL")
    parser.add_argument("--light", action="store_true", help="no charts, PDFs or exports")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="glutebot-soak-") as folder:
        if options.db is None:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'soak.db'}"
        elif "://" in options.db:
            url = options.db
        else:
            url = f"sqlite+aiosqlite:///{Path(options.db).resolve()}"
        result = asyncio.run(
            soak(
                url,
                Path(folder),
                seed=options.seed,
                users=options.users,
                actions=options.actions,
                check_every=options.check_every,
                heavy=not options.light,
                log=print,
            )
        )
    for line in result.lines():
        print(line)
    sys.exit(0 if not result.exceptions and not result.violations else 1)


if __name__ == "__main__":
    main()
