"""The picker: choose the next nudge for where the user is, at or below their level.

Pure: the scheduler passes the profile, the levels, the moment (`PickContext`), recent
nudges and a `random.Random`; nothing here reads a clock or hidden randomness, so the same
inputs and seed always give the same nudge.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from content.exercise import Dose, Exercise
from content.ladders import Ladder
from content.library import Library, load_library
from content.vocabulary import Anchor, Equipment, Place, Side, Track

# Weights for choosing a track: mostly the focus, front-of-hip balance mixed in.
FOCUS_WEIGHT = 6.0
BALANCE_WEIGHT = 2.0
MIX_WEIGHT = 1.0
# Only the hardest few rungs at or below the level are offered: easier ones stay in the
# ladder for regressions, but a nudge should still ask something of the user.
RUNGS_OFFERED = 3
ANCHOR_BOOST = 1.5  # a nudge tied to a moment the user already has sticks better
RECENT_PENALTY = 0.25  # variety: recently sent exercises are less likely
RECENT_WINDOW = 4
# No jumping or running nudges late in the evening or early morning.
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(7, 0)
TEETH_MORNING_UNTIL, TEETH_EVENING_FROM = time(10, 0), time(20, 0)

OPENERS = (
    "Quick glute break",
    "Two minutes for your glutes",
    "Time to wake the glutes up",
    "A small one for your hips",
    "Glute check-in",
)


@dataclass(frozen=True)
class Profile:
    """What the picker needs to know about the user."""

    focus: Track
    equipment: frozenset[Equipment] = frozenset()
    anchors: frozenset[Anchor] = frozenset()
    mix: tuple[Track, ...] = (Track.HIP_FLEXOR_BALANCE, Track.ACTIVATION)
    gentle_only: bool = False  # pain >= 7 at rest: activation drills only
    paused: bool = False  # waiting for a clinician: no exercise nudges at all
    weaker_side: Side | None = None


@dataclass(frozen=True)
class PickContext:
    """The user's local moment: time, weekday (0 = Monday), and whether it is work time."""

    local_time: time
    weekday: int
    in_work_hours: bool
    at: Place | None = None  # set when the user told us where they are (e.g. the gym)

    @property
    def place(self) -> Place:
        if self.at is not None:
            return self.at
        return Place.DESK if self.in_work_hours else Place.HOME

    @property
    def quiet_hours(self) -> bool:
        return self.local_time >= QUIET_FROM or self.local_time < QUIET_UNTIL


@dataclass(frozen=True)
class RecentNudge:
    """An exercise nudged before, and when."""

    exercise_id: str
    at: datetime


@dataclass(frozen=True)
class NudgePlan:
    """The nudge to send: what, how much, the words, and buttons for the reply."""

    exercise: Exercise
    dose: Dose
    text: str
    cues: tuple[str, ...]
    anchor: Anchor | None
    quick_replies: tuple[int, ...]
    why: str

    @property
    def exercise_id(self) -> str:
        return self.exercise.id

    @property
    def track(self) -> Track:
        return self.exercise.track

    @property
    def level(self) -> int:
        return self.exercise.level

    @property
    def target_reps(self) -> int:
        return self.dose.reps


def usable_anchors(anchors: frozenset[Anchor], context: PickContext) -> frozenset[Anchor]:
    """The user's anchor moments that can happen here and now."""
    place, now = context.place, context.local_time
    teeth_time = now < TEETH_MORNING_UNTIL or now >= TEETH_EVENING_FROM
    possible = {
        Anchor.STAIRS: True,
        Anchor.STANDING_UP: place is not Place.GYM,
        Anchor.KETTLE: place is not Place.GYM,
        Anchor.BATHROOM: place is not Place.GYM,
        Anchor.BRUSHING_TEETH: place is Place.HOME and teeth_time,
    }
    return frozenset(anchor for anchor in anchors if possible[anchor])


def candidates(
    profile: Profile,
    levels: Mapping[Track, int],
    context: PickContext,
    library: Library | None = None,
) -> list[Exercise]:
    """Every exercise that fits: right place, owned kit, at or below the level, allowed now."""
    library = library or load_library()
    if profile.paused:
        return []
    anchors = usable_anchors(profile.anchors, context)
    tracks = (Track.ACTIVATION,) if profile.gentle_only else tuple(Track)
    found = []
    for track in tracks:
        if track is Track.POWER_RUNNING and context.quiet_hours:
            continue
        level = levels.get(track, 1)
        fitting = [
            rung
            for rung in library.ladder(track).rungs[: max(level, 0)]
            if rung.fits(profile.equipment, context.place, anchors)
        ]
        found.extend(fitting[-RUNGS_OFFERED:])
    return found


def track_weights(profile: Profile) -> dict[Track, float]:
    """How often each track should come up: mostly focus, balance mixed in."""
    if profile.gentle_only:
        return {Track.ACTIVATION: 1.0}
    weights = {track: MIX_WEIGHT for track in profile.mix}
    if Track.HIP_FLEXOR_BALANCE in weights:
        weights[Track.HIP_FLEXOR_BALANCE] = BALANCE_WEIGHT
    weights[profile.focus] = FOCUS_WEIGHT
    return weights


def pick_nudge(
    profile: Profile,
    levels: Mapping[Track, int],
    context: PickContext,
    history: Sequence[RecentNudge],
    rng: random.Random,
    library: Library | None = None,
) -> NudgePlan | None:
    """The next nudge, or None when nothing fits (or the user is paused for a clinician)."""
    library = library or load_library()
    pool = candidates(profile, levels, context, library)
    weights = track_weights(profile)
    offered_tracks = {e.track for e in pool}
    focus_here = profile.focus in offered_tracks
    if not focus_here and Track.ACTIVATION in offered_tracks:
        # e.g. bridges at a desk: the glute wake-ups stand in for the focus
        weights[Track.ACTIVATION] = max(weights.get(Track.ACTIVATION, 0.0), FOCUS_WEIGHT)
    pool = [e for e in pool if weights.get(e.track, 0.0) > 0]
    if not pool:
        return None
    recent = [n.exercise_id for n in sorted(history, key=lambda n: n.at)][-RECENT_WINDOW:]
    if len(pool) > 1 and recent:
        pool = [e for e in pool if e.id != recent[-1]] or pool
    anchors = usable_anchors(profile.anchors, context)
    scores = []
    for exercise in pool:
        # the hardest offered rung on a track counts most, the next ones less
        harder_offered = sum(
            1 for e in pool if e.track == exercise.track and e.level > exercise.level
        )
        score = weights[exercise.track] * max(RUNGS_OFFERED - harder_offered, 1)
        if exercise.anchors & anchors:
            score *= ANCHOR_BOOST
        if exercise.id in recent:
            score *= RECENT_PENALTY
        scores.append(score)
    exercise = rng.choices(pool, weights=scores)[0]
    role = _role(exercise.track, profile.focus, focus_here)
    return _plan(
        exercise, profile, levels, context, anchors, rng, library.ladder(exercise.track), role
    )


def _role(track: Track, focus: Track, focus_here: bool) -> str:
    """Why this track came up, for the /why line."""
    if track is focus:
        return "your focus"
    if track is Track.HIP_FLEXOR_BALANCE:
        return "mixed in to balance the front of the hip"
    if track is Track.ACTIVATION and not focus_here:
        return f"standing in for {focus.label}, which doesn't fit here"
    return "mixed in"


def _plan(
    exercise: Exercise,
    profile: Profile,
    levels: Mapping[Track, int],
    context: PickContext,
    anchors: frozenset[Anchor],
    rng: random.Random,
    ladder: Ladder,
    role: str,
) -> NudgePlan:
    fitting = sorted(exercise.anchors & anchors)
    anchor = rng.choice(fitting) if fitting else None
    lead = anchor_lead(anchor, context) if anchor else rng.choice(OPENERS)
    name = exercise.name[0].lower() + exercise.name[1:]
    text = f"{lead}: {name} ({exercise.dose.describe()})."
    if exercise.dose.per_side and profile.weaker_side is not None:
        text += f" Start with your {profile.weaker_side.value} side."
    why = (
        f"{exercise.name}: {exercise.track.label}, {role}. Level {exercise.level} of "
        f"{ladder.top}, you're at {levels.get(exercise.track, 1)}, and it fits "
        f"{'your desk' if context.place is Place.DESK else 'where you are'}."
    )
    return NudgePlan(
        exercise=exercise,
        dose=exercise.dose,
        text=text,
        cues=exercise.cues,
        anchor=anchor,
        quick_replies=quick_reply_counts(exercise.dose.reps),
        why=why,
    )


def anchor_lead(anchor: Anchor, context: PickContext) -> str:
    """The opening words that tie a nudge to an everyday moment."""
    if anchor is Anchor.STANDING_UP:
        if context.place is Place.DESK:
            return "Next time you stand up from your desk"
        return "Next time you get up from your chair or sofa"
    if anchor is Anchor.BRUSHING_TEETH:
        when = "this morning" if context.local_time < TEETH_MORNING_UNTIL else "tonight"
        return f"While you brush your teeth {when}"
    return {
        Anchor.KETTLE: "Next time you put the kettle on or make a coffee",
        Anchor.STAIRS: "Next time you take the stairs",
        Anchor.BATHROOM: "On your next bathroom break",
    }[anchor]


def quick_reply_counts(target: int) -> tuple[int, ...]:
    """Rep counts to offer as reply buttons: half, three quarters, the target, a bit more."""
    options = {max(1, round(target * 0.5)), max(1, round(target * 0.75)), target, target + 2}
    return tuple(sorted(options))
