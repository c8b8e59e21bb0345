"""The onboarding screen: typed answers, and the rules that turn them into a starting programme.

The screen (a later issue) asks the questions; `starting_programme(answers)` decides the
starting level on every track, the focus, any safety flags, and the plain-words lines that
explain the choice to the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from typing import TypeVar

from content.ladders import Ladder
from content.library import Library, load_library
from content.picker import Profile
from content.redflags import RedFlag, is_urgent, referral_lines
from content.vocabulary import Anchor, Equipment, Load, Side, Track


class Context(StrEnum):
    """Why the user is here (more than one may apply)."""

    DESK_WORK = "desk_work"
    RUNNING = "running"
    LIFTING = "lifting"
    GENERAL_ACHES = "general_aches"


class Experience(StrEnum):
    NEW = "new"  # no regular training
    SOME = "some"  # trains now and then
    REGULAR = "regular"  # trains most weeks


class PainSite(StrEnum):
    LOWER_BACK = "lower_back"
    HIP = "hip"
    HAMSTRING = "hamstring"
    KNEE = "knee"
    OTHER = "other"


class SqueezeResult(StrEnum):
    """Seated squeeze test, one side: what else joined in."""

    GLUTE_ONLY = "glute_only"
    BACK_TIGHTENED = "back_tightened"
    QUAD_JUMPED = "quad_jumped"
    STOMACH_BRACED = "stomach_braced"
    COULD_NOT_TELL = "could_not_tell"


class ProneResult(StrEnum):
    """Prone hip extension test, one side: what fired first."""

    GLUTE_FIRST = "glute_first"
    HAMSTRING_FIRST = "hamstring_first"
    LOWER_BACK_FIRST = "lower_back_first"
    COULD_NOT_TELL = "could_not_tell"


class ProgrammeFlag(StrEnum):
    GENTLE_ACTIVATION_ONLY = "gentle_activation_only"
    SEE_CLINICIAN_FIRST = "see_clinician_first"
    URGENT_SAME_DAY = "urgent_same_day"


# Pain at rest from which we keep to gentle activation, and from which every ladder starts
# at the bottom (traffic light in COACHING.md: 4-5 amber, 6+ red; "at rest" is stricter).
GENTLE_PAIN = 7
AMBER_PAIN = 4
# Nudge spacing: a break every 30-60 minutes helps (COACHING.md), but pushed prompts wear
# off, so we default to every 60-90 minutes and never go below 30 or above 4 hours.
MIN_INTERVAL = 30
MAX_INTERVAL = 240


@dataclass(frozen=True)
class NudgeWindow:
    """When the user is happy to be nudged, in their local time."""

    start: time = time(9, 0)
    end: time = time(18, 0)
    every_minutes: int = 75
    weekends: bool = False

    def __post_init__(self) -> None:
        if not MIN_INTERVAL <= self.every_minutes <= MAX_INTERVAL:
            raise ValueError(f"every_minutes must be {MIN_INTERVAL}-{MAX_INTERVAL}")
        if self.start >= self.end:
            raise ValueError("the nudge window must start before it ends")


@dataclass(frozen=True)
class ScreenAnswers:
    """Everything the onboarding screen asks. Missing test sides mean "not done"."""

    contexts: frozenset[Context] = frozenset({Context.DESK_WORK})
    sitting_hours: int = 8
    experience: Experience = Experience.NEW
    equipment: frozenset[Equipment] = frozenset()
    pain_now: int = 0
    pain_sites: frozenset[PainSite] = frozenset()
    red_flags: frozenset[RedFlag] = frozenset()
    cleared_by_clinician: bool = False  # the user says a clinician checked the red flags
    squeeze_test: Mapping[Side, SqueezeResult] = field(default_factory=dict)
    prone_test: Mapping[Side, ProneResult] = field(default_factory=dict)
    anchors: frozenset[Anchor] = frozenset()
    timezone: str = "UTC"
    window: NudgeWindow = NudgeWindow()

    def __post_init__(self) -> None:
        if not 0 <= self.pain_now <= 10:
            raise ValueError("pain_now must be 0-10")
        if not 0 <= self.sitting_hours <= 24:
            raise ValueError("sitting_hours must be 0-24")


@dataclass(frozen=True)
class Programme:
    """Where a user starts: levels, focus, what is mixed in, safety flags and the why."""

    levels: Mapping[Track, int]
    focus: Track
    mix: tuple[Track, ...]
    flags: frozenset[ProgrammeFlag]
    explanation: tuple[str, ...]
    weaker_side: Side | None
    suggested_interval_minutes: int

    @property
    def gentle_only(self) -> bool:
        return ProgrammeFlag.GENTLE_ACTIVATION_ONLY in self.flags

    @property
    def see_clinician_first(self) -> bool:
        return ProgrammeFlag.SEE_CLINICIAN_FIRST in self.flags

    @property
    def urgent(self) -> bool:
        return ProgrammeFlag.URGENT_SAME_DAY in self.flags

    def profile(self, equipment: frozenset[Equipment], anchors: frozenset[Anchor]) -> Profile:
        """What the picker needs to know about this user."""
        return Profile(
            focus=self.focus,
            mix=self.mix,
            equipment=equipment,
            anchors=anchors,
            gentle_only=self.gentle_only,
            paused=self.see_clinician_first,
        )


def starting_programme(answers: ScreenAnswers, library: Library | None = None) -> Programme:
    """Turn onboarding answers into a starting programme with reasons."""
    library = library or load_library()
    flags = _flags(answers)
    focus = _focus(answers, flags)
    mix = _mix(answers, focus, flags)
    levels = {track: _start_level(library.ladder(track), track, answers, flags) for track in Track}
    return Programme(
        levels=levels,
        focus=focus,
        mix=mix,
        flags=flags,
        explanation=_explain(answers, flags, focus, mix, library.ladder(Track.ACTIVATION), levels),
        weaker_side=weaker_side(answers),
        suggested_interval_minutes=suggested_interval_minutes(answers.sitting_hours),
    )


def _flags(answers: ScreenAnswers) -> frozenset[ProgrammeFlag]:
    flags: set[ProgrammeFlag] = set()
    if answers.red_flags and not answers.cleared_by_clinician:
        flags.add(ProgrammeFlag.SEE_CLINICIAN_FIRST)
        if is_urgent(answers.red_flags):
            flags.add(ProgrammeFlag.URGENT_SAME_DAY)
    if answers.pain_now >= GENTLE_PAIN:
        flags.add(ProgrammeFlag.GENTLE_ACTIVATION_ONLY)
    return frozenset(flags)


def glutes_lead(answers: ScreenAnswers) -> bool:
    """True only when both tests were done on both sides and the glute led every time."""
    squeeze_clean = all(answers.squeeze_test.get(side) is SqueezeResult.GLUTE_ONLY for side in Side)
    prone_clean = all(answers.prone_test.get(side) is ProneResult.GLUTE_FIRST for side in Side)
    return squeeze_clean and prone_clean


def weaker_side(answers: ScreenAnswers) -> Side | None:
    """The side where more went wrong in the two tests, if one side stands out."""

    def trouble(side: Side) -> int:
        squeeze = answers.squeeze_test.get(side)
        prone = answers.prone_test.get(side)
        return int(squeeze not in (None, SqueezeResult.GLUTE_ONLY)) + int(
            prone not in (None, ProneResult.GLUTE_FIRST)
        )

    left, right = trouble(Side.LEFT), trouble(Side.RIGHT)
    if left == right:
        return None
    return Side.LEFT if left > right else Side.RIGHT


def _focus(answers: ScreenAnswers, flags: frozenset[ProgrammeFlag]) -> Track:
    if flags or not glutes_lead(answers):
        return Track.ACTIVATION  # glutes firing first, load later (COACHING.md)
    if PainSite.KNEE in answers.pain_sites:
        return Track.ROTATION_ABDUCTION
    if Context.LIFTING in answers.contexts and Context.RUNNING not in answers.contexts:
        return Track.STRENGTH
    return Track.HIP_EXTENSION  # sitting takes hip extension away; runners push with it


def _mix(
    answers: ScreenAnswers, focus: Track, flags: frozenset[ProgrammeFlag]
) -> tuple[Track, ...]:
    if flags:
        return ()
    wanted = [Track.HIP_FLEXOR_BALANCE, Track.ACTIVATION, Track.HIP_EXTENSION]
    if Context.RUNNING in answers.contexts:
        wanted.append(Track.POWER_RUNNING)
    if Context.LIFTING in answers.contexts:
        wanted.append(Track.STRENGTH)
    wanted.append(Track.ROTATION_ABDUCTION)
    return tuple(dict.fromkeys(t for t in wanted if t != focus))


def _start_level(
    ladder: Ladder, track: Track, answers: ScreenAnswers, flags: frozenset[ProgrammeFlag]
) -> int:
    if flags or answers.pain_now >= AMBER_PAIN or answers.cleared_by_clinician:
        return 1
    if track is Track.ACTIVATION:
        if any(r is not SqueezeResult.GLUTE_ONLY for r in _all_sides(answers.squeeze_test)):
            return 1
        return 3 if glutes_lead(answers) else 2
    level = {Experience.NEW: 1, Experience.SOME: 2, Experience.REGULAR: 3}[answers.experience]
    if answers.experience is Experience.REGULAR and glutes_lead(answers):
        # trained people skip the body-weight basics, but start no higher than mid-ladder
        owned = _first_level_with_owned_load(ladder, answers.equipment)
        level = max(level, min(owned, (ladder.top + 1) // 2))
    if not glutes_lead(answers):
        level = min(level, 2, _top_level_of(ladder, Load.BODYWEIGHT))
    if track is Track.POWER_RUNNING:
        level = min(level, 2)  # jumps are earned by reports, never given on day one
    fit = ladder.highest_fit(level, answers.equipment, anchors=answers.anchors)
    return fit.level if fit else 1


def _all_sides(results: Mapping[Side, SqueezeResult]) -> list[SqueezeResult]:
    return [results.get(side, SqueezeResult.COULD_NOT_TELL) for side in Side]


def _first_level_with_owned_load(ladder: Ladder, equipment: frozenset[Equipment]) -> int:
    """The first rung of the heaviest band/dumbbell load the user owns (never barbell)."""
    for load in (Load.DUMBBELL, Load.BAND):
        owned = [r.level for r in ladder.rungs if r.load is load and r.fits(equipment)]
        if owned:
            return min(owned)
    return 1


def _top_level_of(ladder: Ladder, load: Load) -> int:
    return max((r.level for r in ladder.rungs if r.load is load), default=1)


def suggested_interval_minutes(sitting_hours: int) -> int:
    """Minutes between nudges: every hour for long sitters, up to every 90 minutes."""
    if sitting_hours >= 8:
        return 60
    if sitting_hours >= 5:
        return 75
    return 90


_Result = TypeVar("_Result", "SqueezeResult", "ProneResult")

_SQUEEZE_WORDS: dict[SqueezeResult, str] = {
    SqueezeResult.GLUTE_ONLY: "only the glute worked in the seated squeeze: it knows the job",
    SqueezeResult.BACK_TIGHTENED: "your lower back tightened with the squeeze",
    SqueezeResult.QUAD_JUMPED: "your thigh jumped in to help the squeeze",
    SqueezeResult.STOMACH_BRACED: "your stomach braced to help the squeeze",
    SqueezeResult.COULD_NOT_TELL: "it was hard to tell what the squeeze did",
}

_PRONE_WORDS: dict[ProneResult, str] = {
    ProneResult.GLUTE_FIRST: "the glute led the leg lift. Good sign",
    ProneResult.HAMSTRING_FIRST: "the hamstring fired before the glute in the leg lift",
    ProneResult.LOWER_BACK_FIRST: "your lower back joined in before the glute in the leg lift",
    ProneResult.COULD_NOT_TELL: "it was hard to tell what fired first in the leg lift",
}

# Where the body compensates for quiet glutes (COACHING.md), as the user would say it.
_OVERWORKED_WORDS: dict[PainSite, str] = {
    PainSite.LOWER_BACK: "lower back",
    PainSite.HAMSTRING: "hamstrings",
}

_FOCUS_WORDS: dict[Track, str] = {
    Track.ACTIVATION: "Your focus is waking the glutes up: getting them to fire first, load later.",
    Track.HIP_EXTENSION: "Your focus is hip extension, opening the hip behind you: "
    "sitting takes it away, and it is the push behind every stride.",
    Track.ROTATION_ABDUCTION: "Your focus is the side glutes, which help keep your knees "
    "tracking over your toes.",
    Track.STRENGTH: "Your focus is strength: you already lift, so we make sure the glutes "
    "drive those lifts.",
    Track.HIP_FLEXOR_BALANCE: "Your focus is the front of the hip.",
    Track.POWER_RUNNING: "Your focus is power: hip extension with speed.",
}


def _explain(
    answers: ScreenAnswers,
    flags: frozenset[ProgrammeFlag],
    focus: Track,
    mix: tuple[Track, ...],
    activation: Ladder,
    levels: Mapping[Track, int],
) -> tuple[str, ...]:
    if ProgrammeFlag.SEE_CLINICIAN_FIRST in flags:
        return referral_lines(answers.red_flags)
    lines: list[str] = []
    if answers.cleared_by_clinician and answers.red_flags:
        lines.append(
            "A clinician has cleared you to exercise, so we start at the first step of every "
            "ladder and build up from there."
        )
    if ProgrammeFlag.GENTLE_ACTIVATION_ONLY in flags:
        lines.append(
            f"Your pain is {answers.pain_now}/10 right now, so we keep to gentle glute wake-ups "
            "you can do sitting or standing. If it stays this high, please see a physiotherapist."
        )
    elif answers.pain_now >= AMBER_PAIN:
        lines.append(
            f"With pain at {answers.pain_now}/10 we start at the bottom of every ladder and move "
            "up only when sessions stay at 3/10 or less."
        )
    lines.extend(_test_lines(answers.squeeze_test, _SQUEEZE_WORDS))
    lines.extend(_test_lines(answers.prone_test, _PRONE_WORDS))
    start = activation.at(levels[Track.ACTIVATION]).name
    if focus is Track.ACTIVATION and not flags:
        lines.append(f"So we start here: {start}. Load comes once the glute goes first.")
    side = weaker_side(answers)
    if side is not None:
        lines.append(f"One-sided drills start on your {side.value}, the side that needs it more.")
    overworked = [w for s, w in _OVERWORKED_WORDS.items() if s in answers.pain_sites]
    if overworked:
        lines.append(
            f"Your {' and '.join(overworked)} often work overtime when the glutes are quiet. "
            "Tell me when you feel an exercise there and I'll change the cue or step back."
        )
    lines.append(_FOCUS_WORDS[focus])
    if Track.HIP_FLEXOR_BALANCE in mix:
        lines.append("Front-of-hip work is mixed in, so the front and back of your hips balance.")
    if answers.sitting_hours >= 6:
        lines.append(
            f"You sit about {answers.sitting_hours} hours a day, so short, frequent breaks "
            "will do more than one long session."
        )
    return tuple(lines)


def _test_lines(results: Mapping[Side, _Result], words: Mapping[_Result, str]) -> list[str]:
    left, right = results.get(Side.LEFT), results.get(Side.RIGHT)
    if left is not None and left == right:
        return [f"On both sides {words[left]}."]
    return [
        f"On the {side.value} {words[result]}."
        for side, result in ((Side.LEFT, left), (Side.RIGHT, right))
        if result is not None
    ]
