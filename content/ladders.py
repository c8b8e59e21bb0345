"""Ladders: each track's exercises in order, easiest first, and the rules that order them.

The order follows COACHING.md: external load first (body weight, band, dumbbell, barbell),
then difficulty; within one movement family on one load, two legs come before one leg; and
where a published glute-max activation figure exists for two rungs on the same load, the
later rung must not read clearly lower than the earlier one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from content.exercise import Exercise
from content.vocabulary import Anchor, Equipment, Legs, Place, Track

# Activation figures from different studies differ by about this much for the same move, so
# a smaller inversion between two rungs is noise, not a contradiction.
EMG_TOLERANCE = 10.0

# A maximal squeeze reads high on EMG but loads nothing (COACHING.md), so activation drills
# are ordered by motor-control difficulty, not by their EMG figures.
EMG_EXEMPT_TRACKS = frozenset({Track.ACTIVATION})


@dataclass(frozen=True)
class Ladder:
    """One track's rungs, rung `n` at index `n - 1` (checked by `ladder_problems`)."""

    track: Track
    rungs: tuple[Exercise, ...]

    @property
    def top(self) -> int:
        """The highest level on this ladder."""
        return len(self.rungs)

    def at(self, level: int) -> Exercise:
        """The rung at `level`, clamped to the ladder."""
        return self.rungs[min(max(level, 1), self.top) - 1]

    def highest_fit(
        self,
        level: int,
        equipment: frozenset[Equipment],
        place: Place | None = None,
        anchors: frozenset[Anchor] | None = None,
    ) -> Exercise | None:
        """The hardest rung at or below `level` the user can do (see `Exercise.fits`)."""
        for rung in reversed(self.rungs[: max(level, 0)]):
            if rung.fits(equipment, place, anchors):
                return rung
        return None

    def next_fit_above(
        self, level: int, equipment: frozenset[Equipment], anchors: frozenset[Anchor] | None = None
    ) -> Exercise | None:
        """The first rung above `level` the user can do, skipping the rest."""
        above = self.rungs[max(level, 0) :]
        return next((r for r in above if r.fits(equipment, anchors=anchors)), None)

    def next_fit_below(
        self, level: int, equipment: frozenset[Equipment], anchors: frozenset[Anchor] | None = None
    ) -> Exercise | None:
        """The first rung below `level` the user can do."""
        return self.highest_fit(level - 1, equipment, anchors=anchors)


def ladder_problems(track: Track, rungs: Sequence[Exercise]) -> list[str]:
    """Every way these rungs break the ladder rules; an empty list means a sound ladder."""
    name = track.value
    if not rungs:
        return [f"{name}: the ladder has no exercises"]
    problems = [
        f"{name}: {r.id} belongs to track {r.track.value}" for r in rungs if r.track != track
    ]
    ordered = sorted(rungs, key=lambda r: r.level)
    levels = [r.level for r in ordered]
    if levels != list(range(1, len(ordered) + 1)):
        problems.append(
            f"{name}: levels must run 1..{len(ordered)} with no gaps or repeats, got {levels}"
        )
    for lower, upper in itertools.pairwise(ordered):
        if upper.load.rank < lower.load.rank:
            problems.append(
                f"{name}: {upper.id} (level {upper.level}, {upper.load.value}) is lighter than "
                f"{lower.id} (level {lower.level}, {lower.load.value})"
            )
    for i, lower in enumerate(ordered):
        for upper in ordered[i + 1 :]:
            problems.extend(_pair_problems(track, lower, upper))
    return problems


def _pair_problems(track: Track, lower: Exercise, upper: Exercise) -> list[str]:
    """Rules comparing a lower rung with any higher rung on the same load."""
    if lower.load != upper.load or lower.level == upper.level:
        return []
    name = track.value
    problems = []
    if lower.family == upper.family and lower.legs is Legs.ONE and upper.legs is Legs.TWO:
        problems.append(
            f"{name}: {lower.id} (one leg) sits below {upper.id} (two legs) in family "
            f"{lower.family} on the same load"
        )
    if (
        track not in EMG_EXEMPT_TRACKS
        and lower.emg is not None
        and upper.emg is not None
        and lower.emg - upper.emg > EMG_TOLERANCE
    ):
        problems.append(
            f"{name}: {lower.id} ({lower.emg:g} % MVIC) sits below {upper.id} "
            f"({upper.emg:g} % MVIC) on the same load, against the published data"
        )
    return problems


def build_ladders(exercises: Iterable[Exercise]) -> dict[Track, Ladder]:
    """Group exercises into one ladder per track, sorted by level (not validated here)."""
    by_track: dict[Track, list[Exercise]] = {track: [] for track in Track}
    for exercise in exercises:
        by_track[exercise.track].append(exercise)
    return {
        track: Ladder(track, tuple(sorted(rungs, key=lambda r: r.level)))
        for track, rungs in by_track.items()
    }
