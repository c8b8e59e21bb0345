"""The picker: the right nudge for the place, the kit, the level and the moment."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from content.library import Library
from content.picker import (
    FOCUS_WEIGHT,
    PickContext,
    Profile,
    RecentNudge,
    candidates,
    pick_nudge,
    quick_reply_counts,
    track_weights,
    usable_anchors,
)
from content.vocabulary import Anchor, Equipment, Place, Setting, Side, Track

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DESK = PickContext(time(10, 30), weekday=1, in_work_hours=True)
EVENING = PickContext(time(19, 0), weekday=1, in_work_hours=False)
ALL_KIT = frozenset(Equipment)
TOP = dict.fromkeys(Track, 99)


def history(*ids: str) -> list[RecentNudge]:
    return [RecentNudge(i, T0 + timedelta(minutes=30 * n)) for n, i in enumerate(ids)]


def picks(
    profile: Profile, levels: dict[Track, int], context: PickContext, n: int = 200
) -> Counter[str]:
    rng = random.Random(7)
    seen: Counter[str] = Counter()
    past: list[RecentNudge] = []
    for i in range(n):
        plan = pick_nudge(profile, levels, context, past, rng)
        assert plan is not None
        seen[plan.exercise_id] += 1
        past.append(RecentNudge(plan.exercise_id, T0 + timedelta(hours=i)))
    return seen


class TestPlace:
    def test_work_hours_mean_the_desk(self) -> None:
        assert DESK.place is Place.DESK and EVENING.place is Place.HOME
        assert PickContext(time(19), 5, False, at=Place.GYM).place is Place.GYM

    def test_desk_nudges_never_need_the_floor_or_kit(self, library: Library) -> None:
        profile = Profile(focus=Track.STRENGTH, equipment=ALL_KIT, anchors=frozenset(Anchor))
        found = candidates(profile, TOP, DESK, library)
        assert found
        for exercise in found:
            assert exercise.setting is Setting.DESK
            assert not exercise.floor and not exercise.equipment

    def test_barbell_only_at_the_gym(self, library: Library) -> None:
        profile = Profile(focus=Track.STRENGTH, equipment=ALL_KIT)
        assert all(e.setting is not Setting.GYM for e in candidates(profile, TOP, EVENING, library))
        gym = PickContext(time(18), 2, False, at=Place.GYM)
        assert any(e.setting is Setting.GYM for e in candidates(profile, TOP, gym, library))

    def test_focus_that_needs_the_floor_hands_over_to_wake_ups_at_the_desk(
        self, library: Library
    ) -> None:
        profile = Profile(focus=Track.HIP_EXTENSION, mix=(Track.HIP_FLEXOR_BALANCE,))
        levels = {Track.HIP_EXTENSION: 5, Track.ACTIVATION: 3, Track.HIP_FLEXOR_BALANCE: 2}
        seen = picks(profile, levels, DESK)
        tracks: Counter[Track] = Counter()
        for exercise_id, n in seen.items():
            tracks[library[exercise_id].track] += n
        assert Track.HIP_EXTENSION not in tracks
        assert tracks[Track.ACTIVATION] > tracks[Track.HIP_FLEXOR_BALANCE] > 0
        whys = set()
        for seed in range(20):
            plan = pick_nudge(profile, levels, DESK, [], random.Random(seed))
            if plan is not None and plan.track is Track.ACTIVATION:
                whys.add(plan.why)
        assert whys and all("standing in for hip extension" in why for why in whys)


class TestLevelsAndMix:
    def test_never_above_level_and_mostly_focus(self, library: Library) -> None:
        profile = Profile(focus=Track.HIP_EXTENSION, equipment=ALL_KIT)
        levels = {Track.HIP_EXTENSION: 3, Track.HIP_FLEXOR_BALANCE: 4, Track.ACTIVATION: 6}
        seen = picks(profile, levels, EVENING, n=300)
        by_track: Counter[Track] = Counter()
        for exercise_id, n in seen.items():
            exercise = library[exercise_id]
            assert exercise.level <= levels[exercise.track]
            by_track[exercise.track] += n
        assert by_track[Track.HIP_EXTENSION] > 150  # mostly the focus
        assert by_track[Track.HIP_FLEXOR_BALANCE] > 30  # balance mixed in
        assert set(by_track) <= {Track.HIP_EXTENSION, Track.HIP_FLEXOR_BALANCE, Track.ACTIVATION}

    def test_only_the_top_few_rungs_are_offered(self, library: Library) -> None:
        profile = Profile(focus=Track.STRENGTH, equipment=ALL_KIT, mix=())
        offered = [
            e
            for e in candidates(profile, {Track.STRENGTH: 8}, EVENING, library)
            if e.track is Track.STRENGTH
        ]
        assert [e.level for e in offered] == [6, 7, 8]

    def test_weights(self) -> None:
        mix = (Track.HIP_FLEXOR_BALANCE, Track.ACTIVATION)
        weights = track_weights(Profile(focus=Track.STRENGTH, mix=mix))
        assert weights[Track.STRENGTH] == FOCUS_WEIGHT
        assert (
            weights[Track.STRENGTH] > weights[Track.HIP_FLEXOR_BALANCE] > weights[Track.ACTIVATION]
        )

    def test_gentle_only_means_activation_only(self, library: Library) -> None:
        profile = Profile(focus=Track.STRENGTH, gentle_only=True, equipment=ALL_KIT)
        seen = picks(profile, TOP, EVENING, n=60)
        assert {library[i].track for i in seen} == {Track.ACTIVATION}

    def test_paused_users_get_no_nudge(self) -> None:
        profile = Profile(focus=Track.ACTIVATION, paused=True)
        assert pick_nudge(profile, TOP, DESK, [], random.Random(1)) is None


class TestVariety:
    def test_no_exercise_twice_in_a_row(self) -> None:
        profile = Profile(focus=Track.ACTIVATION, anchors=frozenset(Anchor))
        rng = random.Random(11)
        past: list[RecentNudge] = []
        for i in range(100):
            plan = pick_nudge(profile, TOP, DESK, past, rng)
            assert plan is not None
            if past:
                assert plan.exercise_id != past[-1].exercise_id
            past.append(RecentNudge(plan.exercise_id, T0 + timedelta(hours=i)))

    def test_the_only_fit_may_repeat(self) -> None:
        profile = Profile(focus=Track.ACTIVATION, mix=(), gentle_only=True)
        levels = {Track.ACTIVATION: 1}
        plan = pick_nudge(profile, levels, DESK, history("seated_glute_squeeze"), random.Random(2))
        assert plan is not None and plan.exercise_id == "seated_glute_squeeze"

    def test_history_order_is_by_time_not_by_position(self) -> None:
        profile = Profile(focus=Track.ACTIVATION, mix=())
        levels = {Track.ACTIVATION: 2}
        latest_first = [
            RecentNudge("standing_glute_squeeze", T0 + timedelta(hours=2)),
            RecentNudge("seated_glute_squeeze", T0),
        ]
        for seed in range(20):
            plan = pick_nudge(profile, levels, DESK, latest_first, random.Random(seed))
            assert plan is not None and plan.exercise_id == "seated_glute_squeeze"

    def test_same_seed_same_nudge(self) -> None:
        profile = Profile(focus=Track.HIP_EXTENSION, equipment=ALL_KIT, anchors=frozenset(Anchor))
        a = pick_nudge(profile, TOP, EVENING, history("glute_bridge"), random.Random(42))
        b = pick_nudge(profile, TOP, EVENING, history("glute_bridge"), random.Random(42))
        assert a == b


class TestWording:
    def test_anchor_wording(self) -> None:
        profile = Profile(focus=Track.ACTIVATION, mix=(), anchors=frozenset({Anchor.STANDING_UP}))
        levels = {Track.ACTIVATION: 3}
        plans = [
            pick_nudge(profile, levels, DESK, history(i), random.Random(s))
            for s in range(30)
            for i in ("seated_glute_squeeze", "standing_glute_squeeze")
        ]
        texts = {p.text for p in plans if p is not None}
        sit_to_stand = [t for t in texts if "sit-to-stand" in t]
        assert sit_to_stand
        assert all(t.startswith("Next time you stand up from your desk:") for t in sit_to_stand)

    def test_plan_carries_dose_cues_and_reply_counts(self, library: Library) -> None:
        profile = Profile(focus=Track.ACTIVATION, mix=(), weaker_side=Side.LEFT)
        plan = pick_nudge(profile, {Track.ACTIVATION: 1}, DESK, [], random.Random(0))
        assert plan is not None
        squeeze = library["seated_glute_squeeze"]
        assert plan.exercise == squeeze and plan.dose == squeeze.dose
        assert plan.cues == squeeze.cues
        assert "5 squeezes per side, 5-second hold" in plan.text
        assert plan.text.endswith("Start with your left side.")
        assert plan.quick_replies == (2, 4, 5, 7) and plan.target_reps == 5
        assert "level 1 of 7" in plan.why.lower()

    def test_stairs_only_drill_needs_the_stairs_anchor(self, library: Library) -> None:
        without = Profile(focus=Track.ACTIVATION)
        assert "stair_glute_drive" not in {e.id for e in candidates(without, TOP, DESK, library)}
        with_stairs = Profile(focus=Track.ACTIVATION, anchors=frozenset({Anchor.STAIRS}))
        assert "stair_glute_drive" in {e.id for e in candidates(with_stairs, TOP, DESK, library)}

    def test_brushing_teeth_only_at_home_morning_or_evening(self) -> None:
        teeth = frozenset({Anchor.BRUSHING_TEETH})
        assert usable_anchors(teeth, PickContext(time(7, 30), 0, False)) == teeth
        assert usable_anchors(teeth, PickContext(time(21, 30), 0, False)) == teeth
        assert not usable_anchors(teeth, PickContext(time(14), 5, False))
        assert not usable_anchors(teeth, DESK)

    def test_no_jumps_late_at_night(self, library: Library) -> None:
        profile = Profile(focus=Track.POWER_RUNNING, equipment=ALL_KIT)
        late = PickContext(time(22, 15), 3, False)
        assert all(
            e.track is not Track.POWER_RUNNING for e in candidates(profile, TOP, late, library)
        )
        assert any(
            e.track is Track.POWER_RUNNING for e in candidates(profile, TOP, EVENING, library)
        )

    def test_quick_reply_counts(self) -> None:
        assert quick_reply_counts(10) == (5, 8, 10, 12)
        assert quick_reply_counts(1) == (1, 3)


CONTEXTS = st.builds(
    PickContext,
    local_time=st.times(),
    weekday=st.integers(0, 6),
    in_work_hours=st.booleans(),
    at=st.none() | st.sampled_from(list(Place)),
)
PROFILES = st.builds(
    Profile,
    focus=st.sampled_from(list(Track)),
    equipment=st.frozensets(st.sampled_from(list(Equipment))),
    anchors=st.frozensets(st.sampled_from(list(Anchor))),
    mix=st.lists(st.sampled_from(list(Track)), unique=True, max_size=4).map(tuple),
    gentle_only=st.booleans(),
)
LEVELS = st.fixed_dictionaries({t: st.integers(1, 14) for t in Track})


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    profile=PROFILES,
    levels=LEVELS,
    context=CONTEXTS,
    seed=st.integers(0, 2**32),
)
def test_picker_safety_invariants(
    library: Library,
    data: st.DataObject,
    profile: Profile,
    levels: dict[Track, int],
    context: PickContext,
    seed: int,
) -> None:
    fits = candidates(profile, levels, context, library)
    allowed = set(track_weights(profile))
    if profile.focus not in {e.track for e in fits}:
        allowed.add(Track.ACTIVATION)  # wake-ups stand in for a focus that does not fit here
    choosable = [e for e in fits if e.track in allowed]
    any_id = st.sampled_from(sorted(library.exercises))
    recent_id = st.sampled_from([e.id for e in choosable]) | any_id if choosable else any_id
    recent = data.draw(st.lists(recent_id, max_size=4))

    plan = pick_nudge(profile, levels, context, history(*recent), random.Random(seed), library)

    if plan is None:
        assert not choosable
        return
    exercise = plan.exercise
    assert exercise in choosable
    assert exercise.equipment <= profile.equipment  # never kit the user lacks
    assert exercise.level <= levels[exercise.track]  # never above the level
    assert exercise.setting in context.place.settings
    if context.place is Place.DESK:
        assert not exercise.floor and not exercise.equipment
    if profile.gentle_only:
        assert exercise.track is Track.ACTIVATION
    if recent and exercise.id == recent[-1]:
        assert choosable == [exercise], "repeated although something else fitted"
    assert plan.text.endswith(".")
    assert plan.target_reps in plan.quick_replies
