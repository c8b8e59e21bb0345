"""Users answering their nudges: a seeded population with one open nudge each, and what
they do with it (the update benchmark's workload).

Every user is `population.person(id)` (same zones, windows, focus, kit and anchors as the
delivery benchmark), who finished the screen (a completed screen with its answers) and has
been using the bot for `history_days`: eight nudges a day, `reports_a_day` of them answered
with a report and the progression decision it led to. Each has their next nudge and weekly
summary scheduled, and one nudge sent a few minutes before the seed moment, unanswered:
the one they now reply to. Rows go in through SQLAlchemy Core in batches.

A `Conversation` is what one user does with that nudge, as a script of steps the benchmark
plays through the local Telegram: button presses (Done, a rep count, a pain score, where it
was felt) and typed reports ("did 10, pain 2", "12 reps no pain", "12" then "pain 1").
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from population import BATCH, Person, nudge_row, people, settings_row, user_row
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.models import (
    Decision,
    Nudge,
    NudgeKind,
    NudgeState,
    Report,
    ReportSource,
    Screen,
    ScreenAnswer,
    ScreenStatus,
    User,
    UserSettings,
)
from bot.delivery import planner
from bot.localtelegram.chat import ChatMessage
from content import Exercise, Track, load_library

HISTORY_DAYS = 14
REPORTS_A_DAY = 3  # of eight nudges a day: an engaged user
NUDGES_A_DAY = 8
OPEN_NUDGE_AGE = (2, 50)  # minutes before the seed moment the open nudge was sent
USER_BATCH = min(BATCH, 1_000)  # users a transaction (their history is ~170 rows each)


def exercise_for(someone: Person) -> Exercise:
    """The exercise at level 1 of the user's focus track (what their nudges offer)."""
    return load_library().ladder(Track(someone.focus)).at(1)


def nudge_text(exercise: Exercise) -> str:
    """A nudge's words as the dispatcher stores them: the action and its cues."""
    cues = "\n".join(f"• {cue}" for cue in exercise.cues)
    return f"{exercise.name}: {exercise.dose.describe()}.\n\n{cues}"


@dataclass(frozen=True)
class Seeded:
    """What `seed` wrote."""

    users: int
    open_nudges: int
    nudges: int
    reports: int
    decisions: int


async def seed(
    url: str, users: int, now: datetime, history_days: int, reports_a_day: int
) -> Seeded:
    """Migrate `url` and add `users` active users, each with an open nudge sent just before
    `now` (see the module docstring)."""
    await upgrade(url)
    engine = create_engine(url)
    try:
        batch: list[Person] = []
        for someone in people(users):
            batch.append(someone)
            if len(batch) == USER_BATCH:
                async with engine.begin() as connection:
                    await _write(connection, batch, now, history_days, reports_a_day)
                batch = []
        if batch:
            async with engine.begin() as connection:
                await _write(connection, batch, now, history_days, reports_a_day)
        if engine.dialect.name == "postgresql":
            # What a database that has run for a while has behind it: statistics, the
            # visibility map and the bulk load flushed. Otherwise autovacuum and the
            # checkpointer do it during the measurement, on the same two cores.
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE"))
                await autocommit.execute(text("CHECKPOINT"))
        async with engine.begin() as connection:

            async def count(table: Any, *where: Any) -> int:
                found = await connection.scalar(
                    select(func.count()).select_from(table).where(*where)
                )
                return int(found or 0)

            return Seeded(
                users=await count(User),
                open_nudges=await count(
                    Nudge, Nudge.state == NudgeState.SENT, Nudge.sent_at >= now - timedelta(hours=1)
                ),
                nudges=await count(Nudge),
                reports=await count(Report),
                decisions=await count(Decision),
            )
    finally:
        await engine.dispose()


async def _write(
    connection: AsyncConnection,
    batch: list[Person],
    now: datetime,
    history_days: int,
    reports_a_day: int,
) -> None:
    await connection.execute(insert(User.__table__), [user_row(p, now) for p in batch])
    settings = []
    for someone in batch:
        row = settings_row(someone)
        row["unanswered_streak"] = random.Random(someone.user_id).randint(0, 2)
        settings.append(row)
    await connection.execute(insert(UserSettings.__table__), settings)

    screens = await _returning(
        connection, Screen, [_screen_row(p, now - timedelta(days=history_days + 1)) for p in batch]
    )
    await connection.execute(
        insert(ScreenAnswer.__table__),
        [
            answer
            for someone, screen_id in zip(batch, screens, strict=True)
            for answer in _screen_answers(
                someone, screen_id, now - timedelta(days=history_days + 1)
            )
        ],
    )

    answered: list[dict[str, Any]] = []  # nudges that got a report, in order
    reports: list[dict[str, Any]] = []  # their reports, in the same order
    others: list[dict[str, Any]] = []  # unanswered history, the schedule, the open nudge
    for someone in batch:
        a, r, o = _history(someone, now, history_days, reports_a_day)
        answered += a
        reports += r
        others += o
    others += [_open_nudge(p, now) for p in batch]
    others += [_scheduled(p, now) for p in batch]
    others += [_weekly_summary(p, now) for p in batch]
    if answered:
        nudge_ids = await _returning(connection, Nudge, answered)
        for report, nudge_id in zip(reports, nudge_ids, strict=True):
            report["nudge_id"] = nudge_id
        report_ids = await _returning(connection, Report, reports)
        await connection.execute(
            insert(Decision.__table__),
            [
                _decision_row(report, report_id)
                for report, report_id in zip(reports, report_ids, strict=True)
            ],
        )
    await connection.execute(insert(Nudge.__table__), others)


async def _returning(
    connection: AsyncConnection, model: Any, rows: list[dict[str, Any]]
) -> list[int]:
    """Insert `rows` and return their new ids, in the order of `rows`."""
    table = model.__table__
    result = await connection.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return list(result.scalars())


def _screen_row(someone: Person, at: datetime) -> dict[str, Any]:
    return {
        "user_id": someone.user_id,
        "started_at": at,
        "completed_at": at + timedelta(minutes=3),
        "status": ScreenStatus.COMPLETED,
        "current_step": "done",
        "result": None,
    }


def _screen_answers(someone: Person, screen_id: int, at: datetime) -> list[dict[str, Any]]:
    rng = random.Random(someone.user_id * 7)
    pain = rng.choice((0, 0, 0, 1, 2))
    answers: dict[str, Any] = {
        "context": "desk_work",
        "sitting_hours": rng.choice((5, 7, 9, 11)),
        "experience": rng.choice(("new", "some", "regular")),
        "equipment": list(someone.equipment),
        "pain_now": pain,
        **({"pain_sites": ["lower_back"]} if pain else {}),
        "red_flags": [],
        "squeeze_left": "glute_only",
        "squeeze_right": "glute_only",
        "prone_left": "glute_first",
        "prone_right": "hamstring_first",
        "anchors": list(someone.anchors),
        "timezone": someone.timezone,
    }
    return [
        {"screen_id": screen_id, "step": step, "answer": value, "answered_at": at}
        for step, value in answers.items()
    ]


def _history(
    someone: Person, now: datetime, days: int, reports_a_day: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(answered nudges, their reports, unanswered nudges) of the last `days` days.

    Every history row is at least 13 hours old, so none of it is "open" to a typed report.
    """
    exercise = exercise_for(someone)
    text = nudge_text(exercise)
    target = exercise.dose.reps
    rng = random.Random(-someone.user_id)
    answered, reports, others = [], [], []
    for day in range(days, 0, -1):
        start = now - timedelta(days=day, hours=4)
        answering = set(rng.sample(range(NUDGES_A_DAY), reports_a_day))
        for n in range(NUDGES_A_DAY):
            sent = start + timedelta(minutes=60 * n + rng.randint(0, 10))
            details = {
                "state": NudgeState.SENT,
                "exercise_id": exercise.id,
                "track": exercise.track.value,
                "text": text,
                "attempts": 1,
                "sent_at": sent,
                "target_reps": target,
            }
            if n not in answering:
                others.append(nudge_row(someone.user_id, sent, NudgeKind.NUDGE, sent, **details))
                continue
            replied = sent + timedelta(minutes=rng.randint(1, 30))
            answered.append(
                nudge_row(
                    someone.user_id,
                    sent,
                    NudgeKind.NUDGE,
                    sent,
                    responded_at=replied,
                    response="done",
                    **details,
                )
            )
            pain = rng.choices((0, 1, 2, 3), (50, 25, 15, 10))[0]
            morning = rng.choice((pain, max(pain - 1, 0))) if pain and rng.random() < 0.3 else None
            reports.append(
                {
                    "user_id": someone.user_id,
                    "nudge_id": None,  # filled in once the nudge has its id
                    "exercise_id": exercise.id,
                    "track": exercise.track.value,
                    "reps": target if rng.random() < 0.7 else max(target - 2, 1),
                    "sets": None,
                    "pain_during": pain,
                    "pain_next_morning": morning,
                    "felt_in": rng.choices((None, "glutes", "lower_back"), (60, 35, 5))[0],
                    "source": ReportSource.BUTTON if rng.random() < 0.6 else ReportSource.TEXT,
                    "created_at": replied,
                }
            )
    return answered, reports, others


def _decision_row(report: dict[str, Any], report_id: int) -> dict[str, Any]:
    return {
        "user_id": report["user_id"],
        "report_id": report_id,
        "track": report["track"],
        "action": "hold",
        "level_from": 1,
        "level_to": 1,
        "exercise_id": report["exercise_id"],
        "reason": "We stay with this one for now.",
        "created_at": report["created_at"],
    }


def _open_nudge(someone: Person, now: datetime) -> dict[str, Any]:
    """The nudge the user is about to answer: sent minutes ago, no reaction yet."""
    exercise = exercise_for(someone)
    sent = now - timedelta(minutes=random.Random(someone.user_id * 3).randint(*OPEN_NUDGE_AGE))
    return nudge_row(
        someone.user_id,
        sent,
        NudgeKind.NUDGE,
        sent,
        state=NudgeState.SENT,
        exercise_id=exercise.id,
        track=exercise.track.value,
        text=nudge_text(exercise),
        attempts=1,
        sent_at=sent,
        target_reps=exercise.dose.reps,
    )


def _scheduled(someone: Person, now: datetime) -> dict[str, Any]:
    due = now + timedelta(minutes=random.Random(someone.user_id * 5).randint(30, 90))
    return nudge_row(someone.user_id, due, NudgeKind.NUDGE, now)


def _weekly_summary(someone: Person, now: datetime) -> dict[str, Any]:
    settings = UserSettings(
        timezone=someone.timezone, window_start=someone.window_start, window_end=someone.window_end
    )
    due = planner.next_weekly_summary_at(settings, now, planner.rng_for(someone.user_id, now))
    return nudge_row(someone.user_id, due, NudgeKind.WEEKLY_SUMMARY, now)


# ---- what users do -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One update a user sends: a typed `text`, or a press of the button whose callback
    data ends with `press` (":done", ":r.", ":p.2", ":f.glutes") on the message in view."""

    label: str
    text: str | None = None
    press: str | None = None

    @property
    def typed(self) -> bool:
        return self.text is not None

    def button_on(self, message: ChatMessage | None) -> str | None:
        """The callback data of the button this step presses on `message`, if it shows one."""
        if message is None or self.press is None:
            return None
        for row in message.inline_keyboard:
            for button in row:
                data = button.get("callback_data") or ""
                exact = self.press.startswith(":")
                if data.endswith(self.press) if exact else f":{self.press}" in data:
                    return str(data)
        return None


FULL_REPORTS = (
    "did {reps}, pain {pain}",
    "{reps} reps no pain",
    "{reps} each side, pain {pain}",
    "done, no pain",
    "{reps} reps, pain {pain}/10",
    "twelve reps, no pain",
    "3x{reps} no pain",
    "{reps}, pain {pain}/10",
    "did all {reps}, pain {pain}",
)
REPS_ONLY = ("{reps}", "3x{reps}", "did {reps}", "{reps} each side", "done")
PAIN_ONLY = ("pain {pain}", "no pain", "pain {pain}/10", "hurts a bit, {pain}")
FELT = (("glutes", 80), ("lower_back", 10), ("hamstrings", 10))
FELT_SHARE = 0.35


def pain_score(rng: random.Random) -> int:
    """Mostly green (0-3), now and then amber (4-5): no referrals in the mix."""
    return rng.choices((0, 1, 2, 3, 4, 5), (40, 25, 15, 10, 6, 4))[0]


def conversation_steps(rng: random.Random, target: int) -> list[Step]:
    """What one user does with their open nudge (mix: 30 % Done, 20 % a rep count button,
    30 % a typed full report, 20 % typed reps then the pain; a third say where they felt it)."""
    reps = max(1, target + rng.choice((-2, 0, 0, 0, 2)))
    pain = pain_score(rng)
    fill = {"reps": reps, "pain": pain}
    kind = rng.choices(("done", "reps", "typed", "typed_reps"), (30, 20, 30, 20))[0]
    steps: list[Step]
    if kind == "done":
        steps = [Step("press Done", press=":done"), Step("press pain", press=f":p.{pain}")]
    elif kind == "reps":
        steps = [Step("press a count", press="r."), Step("press pain", press=f":p.{pain}")]
    elif kind == "typed":
        template = rng.choice(FULL_REPORTS)
        if "no pain" in template:
            fill["pain"] = 0
        steps = [Step("typed report", text=template.format(**fill))]
    else:
        steps = [Step("typed reps", text=rng.choice(REPS_ONLY).format(**fill))]
        if rng.random() < 0.5:
            said = rng.choice(PAIN_ONLY)
            steps.append(Step("typed pain", text=said.format(**fill)))
        else:
            steps.append(Step("press pain", press=f":p.{pain}"))
    if rng.random() < FELT_SHARE:
        site = rng.choices([s for s, _ in FELT], [w for _, w in FELT])[0]
        steps.append(Step("press where felt", press=f":f.{site}"))
    return steps


@dataclass
class Conversation:
    """One user working through their steps, one update in flight at a time."""

    user_id: int
    steps: list[Step]
    position: int = 0
    in_view: ChatMessage | None = None  # the message whose buttons the next press uses
    pushed_at: float | None = None  # when the update in flight was made available
    intended_at: float | None = None  # when an open-loop offer meant to make it available
    log: list[tuple[str, float]] = field(default_factory=list)  # (label, latency) per step

    @property
    def finished(self) -> bool:
        return self.position >= len(self.steps)

    @property
    def step(self) -> Step:
        return self.steps[self.position]


def conversations(targets: dict[int, int], updates: int, seed: int = 8) -> Iterator[Conversation]:
    """Scripts for users (by id, with their target reps) until `updates` steps are planned."""
    rng = random.Random(seed)
    planned = 0
    for user_id, target in targets.items():
        if planned >= updates:
            return
        steps = conversation_steps(rng, target)[: updates - planned]
        planned += len(steps)
        yield Conversation(user_id, steps)


def seed_moment_default() -> datetime:
    """Now, to the second (the seed moment of a fresh database)."""
    return datetime.now(UTC).replace(microsecond=0)
