"""Ladders: ordered by load and difficulty, consistent with the published activation data."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from content.exercise import Exercise
from content.ladders import EMG_TOLERANCE, ladder_problems
from content.library import Library
from content.vocabulary import LOAD_RANK, Equipment, Legs, Load, Place, Track

from .factories import ExerciseFactory, build_exercise

EQUIPMENT_FOR = {
    Load.BODYWEIGHT: [],
    Load.BAND: ["band"],
    Load.DUMBBELL: ["dumbbell"],
    Load.BARBELL: ["barbell"],
}


def rung(
    id: str,
    level: int,
    load: Load = Load.BODYWEIGHT,
    legs: str = "two",
    family: str | None = None,
    emg: float | None = None,
    track: str = "strength",
) -> Exercise:
    return build_exercise(
        f"rung_{id}",
        track=track,
        level=level,
        equipment=EQUIPMENT_FOR[load],
        setting="gym" if load is Load.BARBELL else "home",
        legs=legs,
        family=family or f"family_{id}",
        emg=emg,
    )


def is_sound(rungs: list[Exercise], track: Track) -> bool:
    """The ladder rules, written out independently of content.ladders."""
    ordered = sorted(rungs, key=lambda r: r.level)
    if [r.level for r in ordered] != list(range(1, len(ordered) + 1)):
        return False
    if any(LOAD_RANK[b.load] < LOAD_RANK[a.load] for a, b in itertools.pairwise(ordered)):
        return False
    for a, b in itertools.combinations(ordered, 2):
        if a.load != b.load:
            continue
        if a.family == b.family and (a.legs, b.legs) == (Legs.ONE, Legs.TWO):
            return False
        if (
            track is not Track.ACTIVATION
            and a.emg is not None
            and b.emg is not None
            and a.emg - b.emg > EMG_TOLERANCE
        ):
            return False
    return True


class TestPackagedLadders:
    def test_strictly_ordered(self, library: Library) -> None:
        for track, ladder in library.ladders.items():
            levels = [r.level for r in ladder.rungs]
            assert levels == list(range(1, len(levels) + 1)), track
            loads = [r.load.rank for r in ladder.rungs]
            assert loads == sorted(loads), track
            assert is_sound(list(ladder.rungs), track), track
            assert ladder_problems(track, ladder.rungs) == []

    def test_body_weight_before_band_dumbbell_barbell(self, library: Library) -> None:
        hip = [r.load for r in library.ladder(Track.HIP_EXTENSION).rungs]
        assert hip[0] is Load.BODYWEIGHT and hip[-1] is Load.BARBELL
        strength = [r.load for r in library.ladder(Track.STRENGTH).rungs]
        assert strength[0] is Load.BODYWEIGHT and strength[-1] is Load.BARBELL

    def test_published_comparisons_hold(self, library: Library) -> None:
        bridge, single = library["glute_bridge"], library["single_leg_glute_bridge"]
        assert bridge.level < single.level and (bridge.emg or 0) < (single.emg or 0)  # 25 < 40-54
        step, loaded_step = library["step_up"], library["dumbbell_step_up"]
        assert step.level < loaded_step.level and (step.emg or 0) * 4 <= (loaded_step.emg or 0)
        squat, rdl, deadlift = (
            library[i] for i in ("barbell_back_squat", "barbell_rdl", "deadlift")
        )
        assert squat.level < rdl.level < deadlift.level  # 29-45 < 40 < 61
        assert library.ladder(Track.HIP_EXTENSION).rungs[-1].id == "barbell_hip_thrust"  # 75

    def test_squeezes_are_activation_not_strength(self, library: Library) -> None:
        for exercise_id in ("seated_glute_squeeze", "standing_glute_squeeze"):
            assert library[exercise_id].track is Track.ACTIVATION

    def test_two_legs_before_one_in_a_family(self, library: Library) -> None:
        assert library["dumbbell_rdl"].level < library["dumbbell_single_leg_rdl"].level
        assert library["glute_bridge"].level < library["single_leg_glute_bridge"].level
        assert library["hip_thrust_bodyweight"].level < library["single_leg_hip_thrust"].level


class TestLadderRules:
    def test_lighter_rung_above_a_heavier_one_is_rejected(self) -> None:
        rungs = [rung("a", 1, Load.DUMBBELL), rung("b", 2, Load.BAND)]
        assert any("lighter" in p for p in ladder_problems(Track.STRENGTH, rungs))

    def test_one_leg_before_two_legs_in_a_family_is_rejected(self) -> None:
        rungs = [rung("a", 1, legs="one", family="bridge"), rung("b", 2, family="bridge")]
        assert any("one leg" in p for p in ladder_problems(Track.STRENGTH, rungs))

    def test_one_leg_before_two_legs_on_a_heavier_load_is_fine(self) -> None:
        rungs = [rung("a", 1, legs="one", family="rdl"), rung("b", 2, Load.DUMBBELL, family="rdl")]
        assert ladder_problems(Track.STRENGTH, rungs) == []

    def test_emg_inversion_beyond_tolerance_is_rejected(self) -> None:
        rungs = [rung("a", 1, emg=70), rung("b", 2, emg=30)]
        assert any("MVIC" in p for p in ladder_problems(Track.STRENGTH, rungs))

    def test_emg_inversion_within_tolerance_is_noise(self) -> None:
        rungs = [rung("a", 1, emg=70), rung("b", 2, emg=66)]
        assert ladder_problems(Track.STRENGTH, rungs) == []

    def test_activation_is_ordered_by_control_not_emg(self) -> None:
        rungs = [rung("a", 1, emg=81, track="activation"), rung("b", 2, emg=25, track="activation")]
        assert ladder_problems(Track.ACTIVATION, rungs) == []

    def test_gaps_and_repeats_are_rejected(self) -> None:
        assert ladder_problems(Track.STRENGTH, [rung("a", 1), rung("b", 3)])
        assert ladder_problems(Track.STRENGTH, [rung("a", 1), rung("b", 1)])

    def test_wrong_track_and_empty(self) -> None:
        assert ladder_problems(Track.STRENGTH, [rung("a", 1, track="activation")])
        assert ladder_problems(Track.STRENGTH, []) == ["strength: the ladder has no exercises"]


class TestLadderLookups:
    def test_at_clamps(self, library: Library) -> None:
        ladder = library.ladder(Track.STRENGTH)
        assert ladder.at(0).level == 1 and ladder.at(99).level == ladder.top

    def test_highest_fit_respects_kit_and_place(self, library: Library) -> None:
        ladder = library.ladder(Track.STRENGTH)
        none: frozenset[Equipment] = frozenset()
        body_weight_top = ladder.highest_fit(ladder.top, none)
        assert body_weight_top is not None and body_weight_top.id == "single_leg_rdl"
        at_desk = ladder.highest_fit(ladder.top, frozenset(Equipment), Place.DESK)
        assert at_desk is not None and at_desk.id == "bodyweight_squat"
        assert ladder.highest_fit(0, none) is None

    def test_next_fit_above_skips_kit_the_user_lacks(self, library: Library) -> None:
        ladder = library.ladder(Track.HIP_EXTENSION)
        with_barbell = ladder.next_fit_above(5, frozenset({Equipment.BARBELL}))
        assert with_barbell is not None and with_barbell.id == "barbell_glute_bridge"
        assert ladder.next_fit_above(5, frozenset()) is None
        assert ladder.next_fit_below(1, frozenset()) is None


SPECS = st.lists(
    st.tuples(
        st.sampled_from(list(Load)),
        st.sampled_from(["one", "two"]),
        st.sampled_from(["squat", "bridge", "rdl"]),
        st.none() | st.integers(min_value=10, max_value=130),
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=150, deadline=None)
@given(specs=SPECS, track=st.sampled_from([Track.STRENGTH, Track.ACTIVATION]))
def test_validator_accepts_exactly_the_sound_ladders(
    specs: list[tuple[Load, str, str, int | None]], track: Track
) -> None:
    rungs = [
        rung(f"r{n}", n, load, legs, family, emg, track=track.value)
        for n, (load, legs, family, emg) in enumerate(specs, start=1)
    ]
    assert (ladder_problems(track, rungs) == []) == is_sound(rungs, track)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), track=st.sampled_from(list(Track)))
def test_reshuffled_real_ladders_are_rejected_when_unsound(
    library: Library, data: st.DataObject, track: Track
) -> None:
    rungs = library.ladder(track).rungs
    order = data.draw(st.permutations(range(1, len(rungs) + 1)))
    shuffled = [
        r.model_copy(update={"level": level}) for r, level in zip(rungs, order, strict=True)
    ]
    assert (ladder_problems(track, shuffled) == []) == is_sound(shuffled, track)
    loads = [r.load.rank for r in sorted(shuffled, key=lambda r: r.level)]
    if loads != sorted(loads):
        assert ladder_problems(track, shuffled)


def test_factory_builds_valid_rungs(make_exercise: ExerciseFactory) -> None:
    assert make_exercise("x_y_z").load is Load.BODYWEIGHT
