"""The progression engine: from reports, decide per track to advance, hold, regress or refer.

Rules (COACHING.md), first match wins:
1. any red flag -> refer (urgent if a same-day flag);
2. pain >= 8 during or the next morning, or average pain rising week over week -> refer;
3. pain >= 6 during, or next-morning pain above the last known morning -> regress;
4. felt in the wrong place -> hold with a new cue; twice running in the lower back or
   hamstrings -> step back to a glute activation drill;
5. pain 4-5 (amber) -> hold;
6. target met with pain <= 3 in two consecutive sessions at the current level -> advance;
7. otherwise hold.
Every decision carries a one-line `reason` the bot can show on /why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from statistics import fmean

from content.exercise import Exercise
from content.ladders import Ladder
from content.library import Library, load_library
from content.redflags import FLAG_WORDS, RedFlag, is_urgent
from content.vocabulary import Anchor, Equipment, FeltIn, Track

GREEN_MAX = 3  # 0-3 go on
AMBER_MAX = 5  # 4-5 hold
REGRESS_PAIN = 6  # 6+ step back
REFER_PAIN = 8  # 8+ stop and see someone
ADVANCE_STREAK = 2  # consecutive good sessions at the current level
WEEK = timedelta(days=7)
WEEKLY_RISE = 1.0  # points of average pain, this week over last week
WEEKLY_MIN_REPORTS = 2  # per week, for a fair comparison

# Where the work should be felt: glutes everywhere except the front-of-hip track.
EXPECTED_SITES: dict[Track, frozenset[FeltIn]] = {
    track: frozenset({FeltIn.GLUTES}) for track in Track
} | {Track.HIP_FLEXOR_BALANCE: frozenset({FeltIn.FRONT_OF_HIP, FeltIn.QUADS})}
# Sites that mean another muscle took over the glute's job; twice running -> activation.
TAKEOVER_SITES = frozenset({FeltIn.LOWER_BACK, FeltIn.HAMSTRINGS})
NEUTRAL_SITES = frozenset({FeltIn.NOT_SURE, FeltIn.OTHER})

GENERIC_FIXES: dict[FeltIn, str] = {
    FeltIn.LOWER_BACK: "Make the move smaller and squeeze your glutes before anything else moves.",
    FeltIn.HAMSTRINGS: "Squeeze the glute first, keep the knee soft and push through the heel.",
    FeltIn.QUADS: "Push the hips back and drive through your heels, not your toes.",
    FeltIn.FRONT_OF_HIP: "Tuck your tail slightly and let the back of the hip do the lifting.",
    FeltIn.KNEE: "Keep the knee in line with your middle toes and go a little less deep.",
    FeltIn.GLUTES: "Keep the glutes working through the whole move.",
}

_SITE_WORDS: dict[FeltIn, str] = {
    FeltIn.GLUTES: "your glutes",
    FeltIn.LOWER_BACK: "your lower back",
    FeltIn.HAMSTRINGS: "your hamstrings",
    FeltIn.QUADS: "the front of your thighs",
    FeltIn.FRONT_OF_HIP: "the front of your hip",
    FeltIn.KNEE: "your knee",
    FeltIn.OTHER: "somewhere else",
    FeltIn.NOT_SURE: "you weren't sure where",
}


class Action(StrEnum):
    ADVANCE = "advance"
    HOLD = "hold"
    REGRESS = "regress"
    REFER = "refer"


@dataclass(frozen=True)
class Report:
    """What the user told us after doing an exercise."""

    exercise_id: str
    track: Track
    reps: int
    sets: int
    target: int
    pain_during: int
    pain_next_morning: int | None
    felt_in: FeltIn
    at: datetime

    def __post_init__(self) -> None:
        if self.reps < 0 or self.sets < 0 or self.target < 1:
            raise ValueError("reps and sets cannot be negative, and the target is at least 1")
        for pain in (self.pain_during, self.pain_next_morning):
            if pain is not None and not 0 <= pain <= 10:
                raise ValueError("pain is scored 0-10")

    @property
    def worst_pain(self) -> int:
        return max(self.pain_during, self.pain_next_morning or 0)


@dataclass(frozen=True)
class Decision:
    """What to do next on one track, and why in one plain line."""

    action: Action
    track: Track
    level: int
    exercise_id: str | None  # None when referring: no exercise until a clinician has looked
    reason: str
    urgent: bool = False
    cue: str | None = None  # a new cue to show next time, when it was felt in the wrong place


def decide(
    track: Track,
    level: int,
    history: Sequence[Report],
    *,
    now: datetime,
    equipment: frozenset[Equipment] = frozenset(),
    anchors: frozenset[Anchor] = frozenset(),
    resting_pain: int = 0,
    red_flags: Iterable[RedFlag] = (),
    library: Library | None = None,
) -> Decision:
    """Decide the next step on `track` from the user's reports (any tracks; newest counts).

    `equipment` and `anchors` are the user's kit and anchor moments: the next exercise is
    always one they can do. `resting_pain` is the pain at rest from onboarding, used when no
    earlier morning score exists; `red_flags` are flags found in the user's messages (see
    `scan_red_flags`).
    """
    library = library or load_library()
    ladder = library.ladder(track)
    level = min(max(level, 1), ladder.top)
    current = ladder.highest_fit(level, equipment, anchors=anchors) or ladder.at(1)
    ctx = _Context(track, level, current, ladder, equipment, anchors, library)

    flags = frozenset(red_flags)
    if flags:
        return _refer_for_flags(ctx, flags)
    reports = sorted((r for r in history if r.track == track), key=lambda r: r.at)
    if not reports:
        return ctx.hold(f"No reports on {track.label} yet, so we stay with {_name(current)}.")
    last = reports[-1]
    done = library.exercises.get(last.exercise_id, current)

    if last.pain_during >= REFER_PAIN:
        return ctx.refer(
            f"Pain reached {last.pain_during}/10 during {_name(done)}. Please have a "
            "physiotherapist look at it before we carry on."
        )
    if last.pain_next_morning is not None and last.pain_next_morning >= REFER_PAIN:
        return ctx.refer(
            f"Pain was {last.pain_next_morning}/10 the morning after {_name(done)}. Please have "
            "a physiotherapist look at it before we carry on."
        )
    rise = weekly_pain_rise(history, now)
    if rise is not None:
        before, after = rise
        return ctx.refer(
            f"Your average pain went from {round(before, 1):g} to {round(after, 1):g}/10 over "
            "the last week. "
            "Rising pain is one for a physiotherapist before we push on."
        )
    if last.pain_during >= REGRESS_PAIN:
        return ctx.regress(f"Pain hit {last.pain_during}/10 during {_name(done)}")
    morning_before = _morning_before(reports[:-1], resting_pain)
    if last.pain_next_morning is not None and last.pain_next_morning > morning_before:
        return ctx.regress(
            f"Pain was {last.pain_next_morning}/10 the next morning, up from {morning_before}/10"
        )

    if _felt_wrong(track, last.felt_in):
        previous = reports[-2] if len(reports) > 1 else None
        if (
            last.felt_in in TAKEOVER_SITES
            and previous is not None
            and previous.felt_in in TAKEOVER_SITES
        ):
            return ctx.step_back_to_activation(done, last.felt_in)
        cue = done.fixes.get(last.felt_in) or GENERIC_FIXES[last.felt_in]
        return ctx.hold(
            f"You felt {_name(done)} in {_SITE_WORDS[last.felt_in]}, so we stay put and "
            "change the cue.",
            cue=cue,
        )
    if last.worst_pain > GREEN_MAX:
        return ctx.hold(
            f"Pain {last.worst_pain}/10 is in the amber zone, so we stay with {_name(current)} "
            "and take it a little easier."
        )

    at_level = [r for r in reports if _rung_level(r, library, track) >= current.level]
    streak = at_level[-ADVANCE_STREAK:]
    if len(streak) == ADVANCE_STREAK and all(_good(r) for r in streak):
        nxt = ladder.next_fit_above(current.level, equipment, anchors)
        if nxt is None:
            return ctx.hold(
                f"Two strong sessions, and {_name(current)} is the top of this ladder with your "
                "kit: add a couple of reps or a little weight when it feels easy."
            )
        return Decision(
            Action.ADVANCE,
            track,
            nxt.level,
            nxt.id,
            f"Target met twice in a row with pain {GREEN_MAX}/10 or less, so we step up "
            f"to {_name(nxt)}.",
        )
    if streak and _good(streak[-1]) and streak[-1] is last:
        return ctx.hold(
            f"Target met with low pain. One more session like that and we step up from "
            f"{_name(current)}."
        )
    if last.reps < last.target:
        return ctx.hold(
            f"You did {last.reps} of {last.target}, so we stay with {_name(current)} until "
            "the target feels doable."
        )
    return ctx.hold(f"We stay with {_name(current)} for now.")


def reads_resting_pain(track: Track, history: Sequence[Report]) -> bool:
    """Whether `decide` on `track` can depend on its `resting_pain` for this history.

    Pain at rest only stands in for an earlier morning score when the newest report on the
    track has a next-morning pain to compare; otherwise callers need not look it up.
    """
    reports = sorted((r for r in history if r.track == track), key=lambda r: r.at)  # as decide
    return bool(reports) and reports[-1].pain_next_morning is not None


def weekly_pain_rise(history: Sequence[Report], now: datetime) -> tuple[float, float] | None:
    """(last week's, this week's) average pain when it rose by a point or more into amber."""
    this_week = [r.worst_pain for r in history if now - WEEK < r.at <= now]
    last_week = [r.worst_pain for r in history if now - 2 * WEEK < r.at <= now - WEEK]
    if len(this_week) < WEEKLY_MIN_REPORTS or len(last_week) < WEEKLY_MIN_REPORTS:
        return None
    before, after = fmean(last_week), fmean(this_week)
    if after - before >= WEEKLY_RISE and after > GREEN_MAX:
        return before, after
    return None


def _felt_wrong(track: Track, felt_in: FeltIn) -> bool:
    return felt_in not in EXPECTED_SITES[track] and felt_in not in NEUTRAL_SITES


def _good(report: Report) -> bool:
    return (
        report.reps >= report.target
        and report.worst_pain <= GREEN_MAX
        and not _felt_wrong(report.track, report.felt_in)
    )


def _rung_level(report: Report, library: Library, track: Track) -> int:
    exercise = library.exercises.get(report.exercise_id)
    return exercise.level if exercise is not None and exercise.track == track else 0


def _morning_before(earlier: Sequence[Report], resting_pain: int) -> int:
    """The last known morning pain on this track, else the pain at rest from onboarding."""
    for report in reversed(earlier):
        if report.pain_next_morning is not None:
            return report.pain_next_morning
    return resting_pain


def _name(exercise: Exercise) -> str:
    """'the glute bridge': the exercise's name inside a sentence."""
    return "the " + exercise.name[0].lower() + exercise.name[1:]


@dataclass(frozen=True)
class _Context:
    """The track being decided, to build decisions without repeating arguments."""

    track: Track
    level: int
    current: Exercise
    ladder: Ladder
    equipment: frozenset[Equipment]
    anchors: frozenset[Anchor]
    library: Library

    def fits(self, exercise: Exercise) -> bool:
        return exercise.fits(self.equipment, anchors=self.anchors)

    def hold(self, reason: str, cue: str | None = None) -> Decision:
        return Decision(Action.HOLD, self.track, self.level, self.current.id, reason, cue=cue)

    def refer(self, reason: str, *, urgent: bool = False) -> Decision:
        return Decision(Action.REFER, self.track, self.level, None, reason, urgent=urgent)

    def regress(self, why: str) -> Decision:
        lower = self.ladder.next_fit_below(self.current.level, self.equipment, self.anchors)
        if lower is None:
            easier = self._easier_neighbour(self.current)
            if easier is self.current:
                reason = f"{why}, so we stay with the gentlest drill and go easier on it."
            else:
                reason = f"{why}, so we ease off to {_name(easier)}."
            return Decision(Action.REGRESS, self.track, 1, easier.id, reason)
        return Decision(
            Action.REGRESS,
            self.track,
            lower.level,
            lower.id,
            f"{why}, so we step back to {_name(lower)}.",
        )

    def step_back_to_activation(self, done: Exercise, site: FeltIn) -> Decision:
        drill = self._activation_drill(done)
        lower = self.ladder.next_fit_below(self.current.level, self.equipment, self.anchors)
        level = lower.level if lower is not None else 1
        return Decision(
            Action.REGRESS,
            self.track,
            level,
            drill.id,
            f"{_SITE_WORDS[site].capitalize()} took over twice in a row, so we go back to "
            f"{_name(drill)} to get the glutes firing first.",
            cue=done.fixes.get(site) or GENERIC_FIXES[site],
        )

    def _activation_drill(self, done: Exercise) -> Exercise:
        """An easier neighbour on the activation track, else the hardest doable wake-up drill."""
        for other_id in done.easier:
            other = self.library.exercises[other_id]
            if other.track is Track.ACTIVATION and self.fits(other):
                return other
        activation = self.library.ladder(Track.ACTIVATION)
        limit = done.level - 1 if done.track is Track.ACTIVATION else activation.top
        return activation.highest_fit(limit, self.equipment, anchors=self.anchors) or activation.at(
            1
        )

    def _easier_neighbour(self, exercise: Exercise) -> Exercise:
        for other_id in exercise.easier:
            other = self.library.exercises[other_id]
            if self.fits(other):
                return other
        return exercise


def _refer_for_flags(ctx: _Context, flags: frozenset[RedFlag]) -> Decision:
    said = ", ".join(FLAG_WORDS[f] for f in sorted(flags, key=list(RedFlag).index))
    if is_urgent(flags):
        return ctx.refer(
            f"You mentioned {said}: please see a doctor today; exercises are paused until then.",
            urgent=True,
        )
    return ctx.refer(
        f"You mentioned {said}: please check in with a clinician before we train again."
    )
