"""The progression engine: advance, hold, regress or refer, always with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from content.library import Library
from content.progression import (
    Action,
    Decision,
    Report,
    decide,
    reads_resting_pain,
    weekly_pain_rise,
)
from content.redflags import RedFlag, scan_red_flags
from content.vocabulary import Anchor, Equipment, FeltIn, Track

T0 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
HIP = Track.HIP_EXTENSION
NO_KIT: frozenset[Equipment] = frozenset()


def report(
    exercise_id: str = "glute_bridge",
    *,
    day: float = 0,
    reps: int = 10,
    target: int = 10,
    pain: int = 1,
    morning: int | None = None,
    felt: FeltIn = FeltIn.GLUTES,
    track: Track = HIP,
) -> Report:
    return Report(
        exercise_id, track, reps, 2, target, pain, morning, felt, T0 + timedelta(days=day)
    )


def decide_hip(*reports: Report, level: int = 2, **kwargs: object) -> Decision:
    now = max((r.at for r in reports), default=T0) + timedelta(hours=1)
    return decide(HIP, level, reports, now=now, **kwargs)  # type: ignore[arg-type]


class TestAdvance:
    def test_two_good_sessions_in_a_row_advance(self) -> None:
        decision = decide_hip(report(day=0, pain=2), report(day=1, pain=3, reps=12))
        assert decision.action is Action.ADVANCE
        assert (decision.level, decision.exercise_id) == (3, "single_leg_glute_bridge")
        assert "twice in a row" in decision.reason and "single-leg glute bridge" in decision.reason

    def test_one_good_session_holds_and_says_one_more(self) -> None:
        decision = decide_hip(report(day=0))
        assert decision.action is Action.HOLD and "One more session" in decision.reason

    def test_a_miss_in_between_resets_the_streak(self) -> None:
        decision = decide_hip(report(day=0), report(day=1, reps=7), report(day=2))
        assert decision.action is Action.HOLD

    def test_easier_rungs_do_not_count_towards_advancing(self) -> None:
        easy = report("half_kneeling_hip_extension", day=1)
        decision = decide_hip(report(day=0), easy)
        assert decision.action is Action.HOLD
        assert decide_hip(report(day=0), easy, report(day=2)).action is Action.ADVANCE

    def test_advance_skips_rungs_that_need_kit_the_user_lacks(self) -> None:
        thrust = "single_leg_hip_thrust"
        with_barbell = decide_hip(
            report(thrust, day=0),
            report(thrust, day=1),
            level=5,
            equipment=frozenset({Equipment.BARBELL}),
        )
        assert (with_barbell.action, with_barbell.exercise_id) == (
            Action.ADVANCE,
            "barbell_glute_bridge",
        )
        without = decide_hip(report(thrust, day=0), report(thrust, day=1), level=5)
        assert (
            without.action is Action.HOLD and "top of this ladder with your kit" in without.reason
        )

    def test_stairs_only_rung_is_skipped_without_the_stairs_anchor(self) -> None:
        stands = [
            report("sit_to_stand", day=d, reps=5, target=5, track=Track.ACTIVATION) for d in (0, 1)
        ]
        now = T0 + timedelta(days=2)
        without = decide(Track.ACTIVATION, 3, stands, now=now)
        assert (without.level, without.exercise_id) == (5, "standing_hip_extension")
        stairs = frozenset({Anchor.STAIRS})
        with_stairs = decide(Track.ACTIVATION, 3, stands, now=now, anchors=stairs)
        assert (with_stairs.level, with_stairs.exercise_id) == (4, "stair_glute_drive")

    def test_reports_on_other_tracks_are_ignored(self) -> None:
        other = report("dead_bug", track=Track.HIP_FLEXOR_BALANCE, day=1, pain=5)
        assert decide_hip(report(day=0), other, report(day=2)).action is Action.ADVANCE


class TestPainRules:
    @pytest.mark.parametrize("pain", [4, 5])
    def test_amber_pain_holds(self, pain: int) -> None:
        decision = decide_hip(report(day=0), report(day=1, pain=pain))
        assert decision.action is Action.HOLD and "amber" in decision.reason

    @pytest.mark.parametrize("pain", [6, 7])
    def test_red_pain_regresses(self, pain: int) -> None:
        decision = decide_hip(report(day=0), report(day=1, pain=pain))
        assert decision.action is Action.REGRESS
        assert (decision.level, decision.exercise_id) == (1, "half_kneeling_hip_extension")
        assert f"{pain}/10" in decision.reason

    @pytest.mark.parametrize("pain", [8, 10])
    def test_severe_pain_refers(self, pain: int) -> None:
        decision = decide_hip(report(day=1, pain=pain))
        assert decision.action is Action.REFER and decision.exercise_id is None
        assert "physiotherapist" in decision.reason

    def test_severe_next_morning_pain_refers(self) -> None:
        assert decide_hip(report(pain=2, morning=8)).action is Action.REFER

    def test_next_morning_pain_above_the_last_morning_regresses(self) -> None:
        decision = decide_hip(report(day=0, morning=1), report(day=1, morning=2))
        assert decision.action is Action.REGRESS and "up from 1/10" in decision.reason

    def test_next_morning_pain_back_at_baseline_is_fine(self) -> None:
        decision = decide_hip(report(day=0, morning=2), report(day=1, morning=2), resting_pain=2)
        assert decision.action is Action.ADVANCE

    def test_first_morning_compares_with_resting_pain(self) -> None:
        assert decide_hip(report(morning=3), resting_pain=3).action is Action.HOLD
        assert decide_hip(report(morning=3), resting_pain=1).action is Action.REGRESS

    def test_regress_at_the_bottom_eases_off_to_an_easier_neighbour(self) -> None:
        decision = decide_hip(report("half_kneeling_hip_extension", pain=6), level=1)
        assert decision.action is Action.REGRESS and decision.level == 1
        assert decision.exercise_id == "standing_hip_extension"

    def test_regress_at_the_very_bottom_stays_on_the_gentlest_drill(self) -> None:
        squeeze = report("seated_glute_squeeze", pain=6, track=Track.ACTIVATION, target=5, reps=5)
        decision = decide(Track.ACTIVATION, 1, [squeeze], now=T0 + timedelta(hours=1))
        assert decision.action is Action.REGRESS
        assert decision.exercise_id == "seated_glute_squeeze" and "gentlest" in decision.reason

    def test_pain_rising_week_over_week_refers(self) -> None:
        last_week = [report(day=d, pain=2) for d in (0, 2, 4)]
        this_week = [report(day=d, pain=p) for d, p in ((8, 3), (10, 4), (12, 4))]
        decision = decide_hip(*last_week, *this_week)
        assert decision.action is Action.REFER and "over the last week" in decision.reason

    def test_a_small_rise_within_green_is_not_a_referral(self) -> None:
        history = [report(day=d, pain=p) for d, p in ((0, 0), (2, 1), (8, 2), (10, 3))]
        assert weekly_pain_rise(history, T0 + timedelta(days=11)) is None

    def test_weekly_rise_needs_enough_reports(self) -> None:
        history = [report(day=0, pain=1), report(day=8, pain=5), report(day=9, pain=5)]
        assert weekly_pain_rise(history, T0 + timedelta(days=10)) is None


class TestWhereItWasFelt:
    def test_lower_back_once_changes_the_cue(self, library: Library) -> None:
        decision = decide_hip(report(day=0), report(day=1, felt=FeltIn.LOWER_BACK))
        assert decision.action is Action.HOLD
        assert decision.cue == library["glute_bridge"].fixes[FeltIn.LOWER_BACK]
        assert "lower back" in decision.reason

    def test_twice_steps_back_to_an_activation_drill(self, library: Library) -> None:
        decision = decide_hip(
            report(day=0, felt=FeltIn.HAMSTRINGS), report(day=1, felt=FeltIn.LOWER_BACK)
        )
        assert decision.action is Action.REGRESS
        assert decision.exercise_id is not None
        assert library[decision.exercise_id].track is Track.ACTIVATION
        assert "glutes firing first" in decision.reason and decision.cue

    def test_quads_change_the_cue_but_never_step_back(self) -> None:
        decision = decide_hip(report(day=0, felt=FeltIn.QUADS), report(day=1, felt=FeltIn.QUADS))
        assert decision.action is Action.HOLD and decision.cue

    def test_quads_and_front_of_hip_are_expected_on_the_balance_track(self) -> None:
        reports = [
            report("dead_bug", day=0, felt=FeltIn.FRONT_OF_HIP, track=Track.HIP_FLEXOR_BALANCE),
            report("dead_bug", day=1, felt=FeltIn.QUADS, track=Track.HIP_FLEXOR_BALANCE),
        ]
        decision = decide(Track.HIP_FLEXOR_BALANCE, 3, reports, now=T0 + timedelta(days=2))
        assert decision.action is Action.ADVANCE

    def test_not_sure_does_not_block(self) -> None:
        decision = decide_hip(report(day=0, felt=FeltIn.NOT_SURE), report(day=1))
        assert decision.action is Action.ADVANCE

    def test_generic_cue_when_the_exercise_has_none(self) -> None:
        push_out = report("seated_knee_push_out", felt=FeltIn.KNEE, track=Track.ROTATION_ABDUCTION)
        decision = decide(Track.ROTATION_ABDUCTION, 1, [push_out], now=T0 + timedelta(hours=1))
        assert decision.action is Action.HOLD and decision.cue and "knee" in decision.cue


class TestRedFlags:
    def test_urgent_flag(self) -> None:
        flags = scan_red_flags("since Monday my groin feels numb").flags
        decision = decide_hip(report(day=0), report(day=1), red_flags=flags)
        assert decision.action is Action.REFER and decision.urgent
        assert "today" in decision.reason and decision.exercise_id is None

    def test_routine_flag(self) -> None:
        decision = decide_hip(red_flags=[RedFlag.FEVER])
        assert decision.action is Action.REFER and not decision.urgent

    def test_no_reports_holds(self) -> None:
        decision = decide_hip()
        assert decision.action is Action.HOLD and decision.exercise_id == "glute_bridge"


def test_report_validation() -> None:
    with pytest.raises(ValueError):
        report(pain=11)
    with pytest.raises(ValueError):
        report(target=0)


@st.composite
def histories(draw: st.DrawFn, library: Library) -> tuple[Track, int, list[Report]]:
    """A track, a level, and reports mostly on the rung at that level and the one below."""
    track = draw(st.sampled_from(list(Track)))
    rungs = library.ladder(track).rungs
    level = draw(st.integers(1, len(rungs)))
    near = [r.id for r in rungs[max(level - 2, 0) : level]]
    ids = st.sampled_from(near) | st.sampled_from([r.id for r in rungs])
    pain = st.integers(0, 3) | st.integers(0, 10)
    reports = []
    for n in range(draw(st.integers(0, 6))):
        exercise_id = draw(ids)
        target = library[exercise_id].dose.reps
        reports.append(
            Report(
                exercise_id,
                track,
                reps=draw(st.integers(target - 2, target + 2) | st.integers(0, target)),
                sets=draw(st.integers(1, 3)),
                target=target,
                pain_during=draw(pain),
                pain_next_morning=draw(st.none() | pain),
                felt_in=draw(
                    st.sampled_from([FeltIn.GLUTES, FeltIn.NOT_SURE])
                    | st.sampled_from(list(FeltIn))
                ),
                at=T0 + timedelta(days=n, hours=draw(st.integers(0, 12))),
            )
        )
    return track, level, reports


KIT = st.frozensets(st.sampled_from(list(Equipment)))


@settings(max_examples=400, deadline=None)
@given(
    data=st.data(),
    equipment=KIT,
    anchors=st.frozensets(st.sampled_from(list(Anchor))),
    resting=st.integers(0, 10),
    shift=st.integers(-1, 1),
)
def test_progression_safety_invariants(
    library: Library,
    data: st.DataObject,
    equipment: frozenset[Equipment],
    anchors: frozenset[Anchor],
    resting: int,
    shift: int,
) -> None:
    track, level, reports = data.draw(histories(library))
    level = max(level + shift, 1)
    now = T0 + timedelta(days=7)
    decision = decide(
        track,
        level,
        reports,
        now=now,
        equipment=equipment,
        anchors=anchors,
        resting_pain=resting,
        library=library,
    )
    ladder = library.ladder(track)
    assert decision.track is track and decision.reason.strip()
    assert "\n" not in decision.reason
    assert 1 <= decision.level <= ladder.top
    if decision.exercise_id is not None:
        # never kit the user lacks, never a stairs-only drill for someone without stairs
        assert library[decision.exercise_id].fits(equipment, anchors=anchors)
    else:
        assert decision.action is Action.REFER
    if reports:
        last = reports[-1]
        if last.pain_during >= 4 or (last.pain_next_morning or 0) >= 4:
            assert decision.action is not Action.ADVANCE  # never advance on pain >= 4
        if last.pain_during >= 8:
            assert decision.action is Action.REFER
    if decision.action is Action.ADVANCE:
        assert decision.level > min(level, ladder.top)
        # two consecutive sessions at (or above) the current rung: target met, pain <= 3
        current = ladder.highest_fit(level, equipment, anchors=anchors) or ladder.at(1)
        at_level = [r for r in reports if library[r.exercise_id].level >= current.level]
        assert len(at_level) >= 2
        for session in at_level[-2:]:
            assert session.worst_pain <= 3 and session.reps >= session.target
    if decision.action is Action.REGRESS:
        assert decision.level <= min(level, ladder.top)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    flags=st.frozensets(st.sampled_from(list(RedFlag)), min_size=1),
    level=st.integers(1, 14),
)
def test_a_red_flag_always_refers(
    library: Library, data: st.DataObject, flags: frozenset[RedFlag], level: int
) -> None:
    track, _, reports = data.draw(histories(library))
    decision = decide(track, level, reports, now=T0, red_flags=flags, library=library)
    assert decision.action is Action.REFER and decision.exercise_id is None
    assert decision.urgent == any(f.urgent for f in flags)


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    track=st.sampled_from(list(Track)),
    pains=st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(0, 10)),
    easier_last=st.booleans(),
)
def test_advance_exactly_when_two_sessions_in_a_row_were_green(
    library: Library,
    data: st.DataObject,
    track: Track,
    pains: tuple[int, int, int],
    easier_last: bool,
) -> None:
    """Two sessions at the level, then maybe one on an easier rung: advance iff all <= 3."""
    ladder = library.ladder(track)
    level = data.draw(st.integers(2, ladder.top - 1))
    felt = FeltIn.FRONT_OF_HIP if track is Track.HIP_FLEXOR_BALANCE else FeltIn.GLUTES

    def session(exercise_id: str, day: int, pain: int) -> Report:
        target = library[exercise_id].dose.reps
        return Report(
            exercise_id, track, target, 2, target, pain, None, felt, T0 + timedelta(days=day)
        )

    at_level = ladder.at(level).id
    reports = [session(at_level, 0, pains[0]), session(at_level, 1, pains[1])]
    considered = list(pains[:2])
    if easier_last:
        reports.append(session(ladder.at(level - 1).id, 2, pains[2]))
        considered.append(pains[2])
    decision = decide(
        track,
        level,
        reports,
        now=T0 + timedelta(days=3),
        equipment=frozenset(Equipment),
        anchors=frozenset(Anchor),  # every rung doable, so the level rung is the current one
        library=library,
    )
    assert (decision.action is Action.ADVANCE) == all(p <= 3 for p in considered)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), resting=st.integers(1, 10), other=st.sampled_from(list(Track)))
def test_resting_pain_matters_only_when_reads_resting_pain_says_so(
    library: Library, data: st.DataObject, resting: int, other: Track
) -> None:
    """The bot skips looking pain at rest up when `reads_resting_pain` is False: then
    `decide` must come out the same whatever it is."""
    track, level, reports = data.draw(histories(library))
    _, _, elsewhere = data.draw(histories(library))
    history = reports + [r for r in elsewhere if r.track is other]  # other tracks mixed in
    if reads_resting_pain(track, history):
        return
    now = T0 + timedelta(days=7)
    at_rest = [
        decide(track, level, history, now=now, resting_pain=pain, library=library)
        for pain in (0, resting)
    ]
    assert at_rest[0] == at_rest[1]
