"""Screen rules: onboarding answers to starting levels, focus, flags and explanations."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from content.library import Library
from content.redflags import URGENT_FLAGS, RedFlag
from content.screen import (
    Context,
    Experience,
    NudgeWindow,
    PainSite,
    ProneResult,
    ScreenAnswers,
    SqueezeResult,
    glutes_lead,
    starting_programme,
    suggested_interval_minutes,
    weaker_side,
)
from content.vocabulary import Anchor, Equipment, Load, Side, Track

CLEAN = {
    "squeeze_test": {s: SqueezeResult.GLUTE_ONLY for s in Side},
    "prone_test": {s: ProneResult.GLUTE_FIRST for s in Side},
}


def answers(**fields: Any) -> ScreenAnswers:
    return ScreenAnswers(**fields)


class TestSafetyFlags:
    def test_any_red_flag_means_see_a_clinician_first(self, library: Library) -> None:
        programme = starting_programme(
            answers(red_flags=frozenset({RedFlag.CANCER_HISTORY}), **CLEAN)
        )
        assert programme.see_clinician_first and not programme.urgent
        assert set(programme.levels.values()) == {1}
        assert "check-up" in " ".join(programme.explanation)

    @pytest.mark.parametrize("flag", sorted(URGENT_FLAGS))
    def test_urgent_flags_mean_same_day(self, flag: RedFlag) -> None:
        programme = starting_programme(answers(red_flags=frozenset({flag})))
        assert programme.urgent and programme.see_clinician_first
        assert "today" in programme.explanation[0]

    def test_pain_seven_at_rest_means_gentle_activation_only(self) -> None:
        programme = starting_programme(answers(pain_now=7, **CLEAN))
        assert programme.gentle_only and programme.focus is Track.ACTIVATION
        assert programme.mix == ()
        assert programme.explanation[0].startswith("Your pain is 7/10")

    def test_pain_six_is_not_gentle_only_but_starts_at_the_bottom(self) -> None:
        programme = starting_programme(answers(pain_now=6, experience=Experience.REGULAR, **CLEAN))
        assert not programme.gentle_only
        assert set(programme.levels.values()) == {1}

    def test_paused_profile(self) -> None:
        programme = starting_programme(answers(red_flags=frozenset({RedFlag.FEVER})))
        assert programme.profile(frozenset(), frozenset()).paused


class TestSelfTests:
    def test_lower_back_first_on_the_left(self, library: Library) -> None:
        programme = starting_programme(
            answers(
                squeeze_test={
                    Side.LEFT: SqueezeResult.GLUTE_ONLY,
                    Side.RIGHT: SqueezeResult.GLUTE_ONLY,
                },
                prone_test={
                    Side.LEFT: ProneResult.LOWER_BACK_FIRST,
                    Side.RIGHT: ProneResult.GLUTE_FIRST,
                },
                experience=Experience.REGULAR,
                equipment=frozenset({Equipment.DUMBBELL}),
            )
        )
        assert programme.focus is Track.ACTIVATION
        assert programme.weaker_side is Side.LEFT
        text = "\n".join(programme.explanation)
        assert "On the left your lower back joined in before the glute" in text
        assert "On the right the glute led" in text
        assert "start on your left" in text
        # glutes first, load later: nothing above body weight until the glute leads
        for track, level in programme.levels.items():
            assert library.ladder(track).at(level).load is Load.BODYWEIGHT, track

    def test_squeeze_compensation_starts_activation_at_the_seated_squeeze(
        self, library: Library
    ) -> None:
        programme = starting_programme(
            answers(squeeze_test={s: SqueezeResult.QUAD_JUMPED for s in Side})
        )
        assert programme.levels[Track.ACTIVATION] == 1
        assert "On both sides your thigh jumped in" in programme.explanation[0]
        assert any("Seated glute squeeze" in line for line in programme.explanation)

    def test_could_not_tell_is_not_clean(self) -> None:
        assert not glutes_lead(
            answers(
                squeeze_test={s: SqueezeResult.COULD_NOT_TELL for s in Side},
                prone_test=CLEAN["prone_test"],
            )
        )
        assert not glutes_lead(answers(squeeze_test=CLEAN["squeeze_test"]))  # prone not done
        assert glutes_lead(answers(**CLEAN))

    def test_weaker_side_needs_a_difference(self) -> None:
        assert weaker_side(answers(**CLEAN)) is None
        assert (
            weaker_side(
                answers(
                    squeeze_test={
                        Side.RIGHT: SqueezeResult.BACK_TIGHTENED,
                        Side.LEFT: SqueezeResult.GLUTE_ONLY,
                    }
                )
            )
            is Side.RIGHT
        )


class TestFocusAndLevels:
    def test_desk_worker_with_clean_tests_focuses_on_hip_extension(self) -> None:
        programme = starting_programme(answers(sitting_hours=10, **CLEAN))
        assert programme.focus is Track.HIP_EXTENSION
        assert programme.mix[0] is Track.HIP_FLEXOR_BALANCE
        assert any("10 hours" in line for line in programme.explanation)

    def test_lifter_focuses_on_strength(self, library: Library) -> None:
        programme = starting_programme(
            answers(
                contexts=frozenset({Context.LIFTING}),
                experience=Experience.REGULAR,
                equipment=frozenset({Equipment.DUMBBELL, Equipment.BARBELL}),
                **CLEAN,
            )
        )
        assert programme.focus is Track.STRENGTH
        start = library.ladder(Track.STRENGTH).at(programme.levels[Track.STRENGTH])
        assert start.id == "goblet_squat"  # first dumbbell rung, never a barbell on day one

    def test_runner_gets_power_mixed_in_but_no_jumps_on_day_one(self, library: Library) -> None:
        programme = starting_programme(
            answers(contexts=frozenset({Context.RUNNING}), experience=Experience.REGULAR, **CLEAN)
        )
        assert programme.focus is Track.HIP_EXTENSION
        assert Track.POWER_RUNNING in programme.mix
        power = library.ladder(Track.POWER_RUNNING).at(programme.levels[Track.POWER_RUNNING])
        assert power.family not in ("jump", "bound")

    def test_knee_pain_focuses_on_the_side_glutes(self) -> None:
        programme = starting_programme(
            answers(pain_now=2, pain_sites=frozenset({PainSite.KNEE}), **CLEAN)
        )
        assert programme.focus is Track.ROTATION_ABDUCTION

    def test_new_trainee_starts_at_the_bottom(self) -> None:
        programme = starting_programme(answers(experience=Experience.NEW, **CLEAN))
        assert all(level <= 3 for level in programme.levels.values())
        assert programme.levels[Track.STRENGTH] == 1

    def test_back_and_hamstring_pain_get_a_where_you_feel_it_line(self) -> None:
        sites = frozenset({PainSite.LOWER_BACK, PainSite.HAMSTRING})
        programme = starting_programme(answers(pain_now=3, pain_sites=sites, **CLEAN))
        assert any(
            line.startswith("Your lower back and hamstrings often work overtime")
            for line in programme.explanation
        )

    def test_nudge_suggestion_follows_sitting_hours(self) -> None:
        assert suggested_interval_minutes(2) == 90
        assert suggested_interval_minutes(6) == 75
        assert suggested_interval_minutes(8) == 60
        assert suggested_interval_minutes(14) == 60


class TestAnswersValidation:
    def test_ranges(self) -> None:
        with pytest.raises(ValueError):
            ScreenAnswers(pain_now=11)
        with pytest.raises(ValueError):
            ScreenAnswers(sitting_hours=25)
        with pytest.raises(ValueError):
            NudgeWindow(every_minutes=10)
        with pytest.raises(ValueError):
            NudgeWindow(start=time(9), end=time(9))

    def test_values_round_trip_as_strings(self) -> None:
        assert SqueezeResult("back_tightened") is SqueezeResult.BACK_TIGHTENED
        assert Anchor("kettle") is Anchor.KETTLE and Context("running") is Context.RUNNING


SCREEN = st.builds(
    ScreenAnswers,
    contexts=st.frozensets(st.sampled_from(list(Context)), min_size=1),
    sitting_hours=st.integers(0, 24),
    experience=st.sampled_from(list(Experience)),
    equipment=st.frozensets(st.sampled_from(list(Equipment))),
    pain_now=st.integers(0, 10),
    pain_sites=st.frozensets(st.sampled_from(list(PainSite))),
    red_flags=st.frozensets(st.sampled_from(list(RedFlag)), max_size=2),
    squeeze_test=st.dictionaries(st.sampled_from(list(Side)), st.sampled_from(list(SqueezeResult))),
    prone_test=st.dictionaries(st.sampled_from(list(Side)), st.sampled_from(list(ProneResult))),
    anchors=st.frozensets(st.sampled_from(list(Anchor))),
)


@settings(max_examples=200, deadline=None)
@given(screen=SCREEN)
def test_every_programme_is_safe_and_explained(library: Library, screen: ScreenAnswers) -> None:
    programme = starting_programme(screen, library)
    assert set(programme.levels) == set(Track)
    assert programme.explanation and all(line.strip() for line in programme.explanation)
    if screen.red_flags:
        assert programme.see_clinician_first
        assert programme.urgent == bool(screen.red_flags & URGENT_FLAGS)
        assert programme.profile(screen.equipment, screen.anchors).paused
    if screen.pain_now >= 7:
        assert programme.gentle_only and programme.focus is Track.ACTIVATION
    if screen.red_flags or screen.pain_now >= 4:
        assert set(programme.levels.values()) == {1}
    for track, level in programme.levels.items():
        ladder = library.ladder(track)
        assert 1 <= level <= ladder.top
        rung = ladder.at(level)
        assert level == 1 or rung.fits(screen.equipment, anchors=screen.anchors), (track, level)
        assert rung.load is not Load.BARBELL  # nobody starts under a barbell
        if not glutes_lead(screen):
            assert rung.load is Load.BODYWEIGHT


class TestClearedByClinician:
    def test_cleared_red_flags_start_a_programme_at_the_bottom_of_every_ladder(self) -> None:
        flagged = answers(
            red_flags=frozenset({RedFlag.TRAUMA}), experience=Experience.REGULAR, **CLEAN
        )
        assert starting_programme(flagged).see_clinician_first
        cleared = starting_programme(
            answers(
                red_flags=frozenset({RedFlag.TRAUMA}),
                cleared_by_clinician=True,
                experience=Experience.REGULAR,
                **CLEAN,
            )
        )
        assert not cleared.see_clinician_first and not cleared.urgent
        assert set(cleared.levels.values()) == {1}
        assert cleared.explanation[0].startswith("A clinician has cleared you")
