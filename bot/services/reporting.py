"""Reports: what users did and how it felt, turned into progression decisions.

A report fills in step by step (which exercise, how many, how much pain, where it was
felt), by buttons or typed text. Once exercise, reps and pain are known the progression
engine decides (advance, hold, regress or refer) and the user is told what changes in one
line. Referral stops the nudges until the user confirms a clinician has cleared them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Decision,
    Nudge,
    NudgeKind,
    Report,
    ReportSource,
    Screen,
    ScreenAnswer,
    ScreenStatus,
    User,
    UserState,
)
from bot.delivery import compose, planner
from bot.messages import Button, Outcome, Screenful
from bot.messages import rows as button_rows
from bot.metrics import METRICS
from bot.reporting.parse import NotAReport, Reading, Unclear, apply_choice, parse_report
from content import (
    Action,
    Anchor,
    Equipment,
    FeltIn,
    RedFlag,
    Track,
    decide,
    load_library,
    quick_reply_counts,
    reads_resting_pain,
    referral_lines,
)
from content import Report as CoachingReport

PREFIX = "rp"  # rp:<report id>:<action>
CLEARED = "rf:cleared"
CLARIFY = "cl:"  # cl:<choice value>, answering a clarifying question
HISTORY_DAYS = 35  # week-over-week pain needs a little more than four weeks
OPEN_FOR = timedelta(hours=12)  # a typed report answers a nudge sent this recently
FELT_CHOICES: tuple[tuple[str, FeltIn], ...] = (
    ("Glutes", FeltIn.GLUTES),
    ("Lower back", FeltIn.LOWER_BACK),
    ("Hamstrings", FeltIn.HAMSTRINGS),
    ("Thighs", FeltIn.QUADS),
    ("Front of hip", FeltIn.FRONT_OF_HIP),
    ("Knee", FeltIn.KNEE),
)
REFERRED = (
    "I've paused your nudges. When a physiotherapist or doctor has checked you and says "
    "exercise is fine, tap the button and we'll carry on gently."
)


def button(report_id: int, label: str, action: str) -> Button:
    return Button(label, f"{PREFIX}:{report_id}:{action}")


def cleared_button() -> tuple[tuple[Button, ...], ...]:
    return ((Button("A clinician has cleared me", CLEARED),),)


class Reporting:
    """One user's reports and progression, in one database transaction."""

    def __init__(self, session: AsyncSession, user: User, now: datetime, rate: float) -> None:
        self.session = session
        self.user = user
        self.now = now
        self.rate = rate
        self.library = load_library()
        # Reports this transaction knows have no decision yet: new ones, and ones that were
        # incomplete when read (a decision needs exercise, reps and pain, which once known
        # stay known), so `decide` need not look for one.
        self._undecided: set[int] = set()

    # ---- creating and completing reports ---------------------------------------------------

    async def start(
        self,
        *,
        source: ReportSource,
        nudge: Nudge | None = None,
        reps: int | None = None,
        sets: int | None = None,
        pain: int | None = None,
        felt_in: FeltIn | None = None,
        done: bool = False,
    ) -> Outcome:
        """Store a new report (attached to `nudge` if given) and ask for what is missing."""
        if nudge is not None:
            nudge.response = nudge.response or "done"
            nudge.responded_at = nudge.responded_at or self.now
            if reps is None and done:
                reps = nudge.target_reps
        report = Report(
            user_id=self.user.id,
            nudge_id=nudge.id if nudge else None,
            exercise_id=nudge.exercise_id if nudge else None,
            track=nudge.track if nudge else None,
            reps=reps,
            sets=sets,
            pain_during=pain,
            felt_in=felt_in.value if felt_in else None,
            source=source,
            created_at=self.now,
        )
        self.session.add(report)
        await self.session.flush()
        self._undecided.add(report.id)
        METRICS.report_received(source)
        self.user.settings.unanswered_streak = 0
        return await self.next_step(report)

    async def press(self, data: str) -> Outcome:
        """A button on a report: rp:<id>:e.<exercise>, r.<reps>, p.<pain> or f.<place>."""
        parts = data.split(":")
        if len(parts) != 3 or not parts[1].isdigit() or "." not in parts[2]:
            return Outcome(toast="That button has expired.")
        report = await self.session.get(Report, int(parts[1]))
        if report is None or report.user_id != self.user.id:
            return Outcome(toast="That button has expired.")
        self._note_if_undecided(report)
        kind, value = parts[2].split(".", 1)
        if kind == "e" and value in self.library.exercises and report.exercise_id is None:
            report.exercise_id = value
            report.track = self.library[value].track.value
        elif kind == "r" and value.isdigit() and 0 < int(value) <= 500 and report.reps is None:
            report.reps = int(value)
        elif kind == "p" and value.isdigit() and int(value) <= 10 and report.pain_during is None:
            report.pain_during = int(value)
        elif kind == "f" and value in {felt.value for _, felt in FELT_CHOICES}:
            report.felt_in = value
            return await self._felt(report)
        else:
            return Outcome(toast="Already noted.")
        return await self.next_step(report)

    def _note_if_undecided(self, report: Report) -> None:
        if report.exercise_id is None or report.reps is None or report.pain_during is None:
            self._undecided.add(report.id)

    async def next_step(self, report: Report) -> Outcome:
        """Ask for the next missing piece, or decide once the report is complete."""
        if report.exercise_id is None:
            return Outcome(self._ask_exercise(report))
        exercise = self.library[report.exercise_id]
        if report.reps is None:
            counts = quick_reply_counts(exercise.dose.reps)
            return Outcome(
                Screenful(
                    f"How many {exercise.dose.rep_word} of {exercise.name.lower()} did you do?",
                    (tuple(button(report.id, str(n), f"r.{n}") for n in counts),),
                )
            )
        if report.pain_during is None:
            return Outcome(
                Screenful(
                    f"Logged: {report.reps} {exercise.dose.rep_word} of {exercise.name.lower()}. "
                    "Did it hurt? 0 means not at all.",
                    compose.pain_buttons(f"{PREFIX}:{report.id}:p."),
                ),
                toast="Nice work!",
            )
        if report.pain_during > 0:
            await planner.schedule_morning_check(self.session, self.user, self.now)
        line = await self.decide(report)
        if self.user.state is UserState.REFERRED:
            return Outcome(Screenful(f"{line}\n\n{REFERRED}", cleared_button()))
        return Outcome(
            Screenful(
                f"Logged: {report.reps} {exercise.dose.rep_word} of {exercise.name.lower()}, "
                f"pain {report.pain_during}/10. {_pain_words(report.pain_during)} {line}"
                "\n\nWhere did you feel it most? (optional)",
                (
                    tuple(
                        button(report.id, label, f"f.{felt.value}")
                        for label, felt in FELT_CHOICES[:3]
                    ),
                    tuple(
                        button(report.id, label, f"f.{felt.value}")
                        for label, felt in FELT_CHOICES[3:]
                    ),
                ),
            )
        )

    async def _felt(self, report: Report) -> Outcome:
        if report.exercise_id is None or report.reps is None or report.pain_during is None:
            return Outcome(toast="Tell me how many and how it felt first.")
        line = await self.decide(report)
        if self.user.state is UserState.REFERRED:
            return Outcome(Screenful(f"{line}\n\n{REFERRED}", cleared_button()))
        return Outcome(Screenful(f"Noted, thanks. {line}"), toast="Noted")

    def _ask_exercise(self, report: Report) -> Screenful:
        """Which exercise: the user's current rung on their focus and mixed-in tracks."""
        settings = self.user.settings
        tracks = [Track(settings.focus or Track.ACTIVATION), *(Track(t) for t in settings.mix)]
        equipment = frozenset(Equipment(e) for e in settings.equipment)
        anchors = frozenset(Anchor(a) for a in settings.anchors)
        rows = []
        for track in dict.fromkeys(tracks):
            ladder = self.library.ladder(track)
            level = settings.levels.get(track.value, 1)
            fit = ladder.highest_fit(level, equipment, anchors=anchors) or ladder.at(1)
            rows.append((button(report.id, fit.name, f"e.{fit.id}"),))
        said = f" ({report.reps} {'reps'})" if report.reps else ""
        return Screenful(f"Which exercise was it{said}?", tuple(rows))

    # ---- progression -------------------------------------------------------------------------

    async def decide(self, report: Report) -> str:
        """Run the progression engine for the report's track; returns the line to show."""
        assert report.exercise_id is not None and report.track is not None
        track = Track(report.track)
        settings = self.user.settings
        existing = (
            None
            if report.id in self._undecided
            else await self.session.scalar(select(Decision).where(Decision.report_id == report.id))
        )
        self._undecided.discard(report.id)
        level_before = existing.level_from if existing else settings.levels.get(track.value, 1)
        history = await self._history()
        decision = decide(
            track,
            level_before,
            history,
            now=self.now,
            equipment=frozenset(Equipment(e) for e in settings.equipment),
            anchors=frozenset(Anchor(a) for a in settings.anchors),
            resting_pain=await self._resting_pain() if reads_resting_pain(track, history) else 0,
            library=self.library,
        )
        row = existing or Decision(
            user_id=self.user.id, report_id=report.id, level_from=level_before, created_at=self.now
        )
        row.track, row.action = track.value, decision.action.value
        row.level_to, row.exercise_id, row.reason = (
            decision.level,
            decision.exercise_id,
            decision.reason,
        )
        if existing is None:
            self.session.add(row)
        if settings.levels.get(track.value) != decision.level:  # else nothing to write
            settings.levels = {**settings.levels, track.value: decision.level}
        if decision.action is Action.REFER:
            await self._stop_for_clinician()
            return decision.reason + (" Please get seen today." if decision.urgent else "")
        return decision.reason + (f" Cue for next time: {decision.cue}" if decision.cue else "")

    async def _history(self) -> list[CoachingReport]:
        # Columns, not Report objects: a month of reports is read for every decision.
        rows = await self.session.execute(
            select(
                Report.exercise_id,
                Report.reps,
                Report.sets,
                Report.pain_during,
                Report.pain_next_morning,
                Report.felt_in,
                Report.created_at,
            )
            .where(
                Report.user_id == self.user.id,
                Report.created_at >= self.now - timedelta(days=HISTORY_DAYS),
                Report.exercise_id.is_not(None),
                Report.reps.is_not(None),
                Report.pain_during.is_not(None),
            )
            .order_by(Report.created_at)
        )
        history = []
        for exercise_id, reps, sets, pain_during, pain_next_morning, felt_in, at in rows:
            exercise = self.library.exercises.get(exercise_id or "")
            if exercise is None or reps is None or pain_during is None:
                continue
            history.append(
                CoachingReport(
                    exercise_id=exercise.id,
                    track=exercise.track,
                    reps=reps,
                    sets=sets or 1,
                    target=exercise.dose.reps,
                    pain_during=pain_during,
                    pain_next_morning=pain_next_morning,
                    felt_in=FeltIn(felt_in) if felt_in else FeltIn.NOT_SURE,
                    at=at,
                )
            )
        return history

    async def _resting_pain(self) -> int:
        """Pain at rest from the latest finished screen (0 when unknown)."""
        answer = await self.session.scalar(
            select(ScreenAnswer.answer)
            .join(Screen, Screen.id == ScreenAnswer.screen_id)
            .where(
                Screen.user_id == self.user.id,
                Screen.status == ScreenStatus.COMPLETED,
                ScreenAnswer.step == "pain_now",
            )
            .order_by(Screen.completed_at.desc())
            .limit(1)
        )
        return int(answer) if isinstance(answer, int) else 0

    # ---- safety --------------------------------------------------------------------------------

    async def _stop_for_clinician(self) -> None:
        self.user.state = UserState.REFERRED
        await planner.stop_nudging(self.session, self.user)

    async def refer_for_flags(self, flags: frozenset[RedFlag]) -> Outcome:
        """A red-flag phrase in a message: no more exercise until a clinician has looked."""
        await self._stop_for_clinician()
        text = "\n\n".join((*referral_lines(flags), REFERRED))
        return Outcome(Screenful(text, cleared_button()))

    async def cleared(self) -> Outcome:
        """The user says a clinician has cleared them: nudges start again."""
        if self.user.state is not UserState.REFERRED:
            return Outcome(toast="Already noted.")
        self.user.state = UserState.ACTIVE
        self.user.settings.unanswered_streak = 0
        self.user.settings.paused_until = None  # "nudges start again" means now
        await planner.start_nudging(
            self.session, self.user, self.now, planner.per_minute(self.rate)
        )
        return Outcome(
            Screenful("Good to have you back. Nudges start again; we'll keep it gentle at first."),
            toast="Welcome back",
        )

    # ---- typed reports ---------------------------------------------------------------------

    async def typed(self, text: str) -> Outcome:
        """A typed message from a user with a programme: a report, a question back, or a hint."""
        parsed = parse_report(text)
        if isinstance(parsed, NotAReport):
            return Outcome(Screenful(parsed.hint))
        if isinstance(parsed, Unclear):
            choices = [Button(label, f"{CLARIFY}{value}") for label, value in parsed.choices]
            return Outcome(Screenful(parsed.question, tuple(button_rows(choices, 3))))
        return await self.from_reading(parsed.reading)

    async def clarified(self, original: str, value: str) -> Outcome:
        """A tap on a clarifying question: fold the answer into what the message said."""
        parsed = parse_report(original)
        reading = apply_choice(parsed.reading, value) if isinstance(parsed, Unclear) else None
        if reading is None:
            return Outcome(Screenful('Please type it again, like "12 reps, pain 2".'))
        return await self.from_reading(reading)

    async def from_reading(self, reading: Reading) -> Outcome:
        """Log what a message said, attached to the nudge it most likely answers."""
        only_how_it_felt = reading.reps is None and not reading.done
        if only_how_it_felt and (reading.pain is not None or reading.felt_in is not None):
            latest = await self.latest_report()
            if latest is not None:
                return await self.amend(latest, reading)
        return await self.start(
            source=ReportSource.TEXT,
            nudge=await self.open_nudge(),
            reps=reading.reps,
            sets=reading.sets,
            pain=reading.pain,
            felt_in=reading.felt_in,
            done=reading.done,
        )

    async def amend(self, report: Report, reading: Reading) -> Outcome:
        """ "pain 3" or "felt it in my back" after a report: add it to that report."""
        self._note_if_undecided(report)
        if reading.pain is not None and report.pain_during is None:
            report.pain_during = reading.pain
        if reading.felt_in is not None:
            report.felt_in = reading.felt_in.value
            if report.pain_during is not None and report.exercise_id and report.reps:
                return await self._felt(report)
        return await self.next_step(report)

    async def latest_report(self) -> Report | None:
        """The user's report from the last hours, to add how it felt to."""
        return await self.session.scalar(
            select(Report)
            .where(Report.user_id == self.user.id, Report.created_at >= self.now - OPEN_FOR)
            .order_by(Report.created_at.desc(), Report.id.desc())
            .limit(1)
        )

    # ---- attaching typed reports -----------------------------------------------------------

    async def open_nudge(self) -> Nudge | None:
        """The latest nudge sent in the last hours that has no report yet."""
        return await self.session.scalar(
            select(Nudge)
            .where(
                Nudge.user_id == self.user.id,
                Nudge.kind == NudgeKind.NUDGE,
                Nudge.sent_at >= self.now - OPEN_FOR,
                ~exists().where(Report.nudge_id == Nudge.id),
            )
            .order_by(Nudge.sent_at.desc())
            .limit(1)
        )


def _pain_words(pain: int) -> str:
    """Plain advice for a pain score during exercise (traffic light, COACHING.md)."""
    if pain >= 8:
        return (
            "That's too much. Please stop this exercise, and see a physiotherapist or "
            "doctor before carrying on with it."
        )
    if pain >= 6:
        return (
            "That's more than we want. Ease off this one; if the pain hangs around, "
            "a physiotherapist can take a look."
        )
    if pain >= 4:
        return "A bit much: keep it gentle and I'll check in tomorrow morning."
    if pain > 0:
        return "Mild is fine. I'll check tomorrow morning how it settled."
    return "No pain, nicely done."
