"""The exercise library: the packaged data, the schema, the link checks and `python -m content`."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from content.__main__ import main
from content.exercise import Dose
from content.library import MIN_EXERCISES, Library, LibraryError, load_library, parse_library
from content.vocabulary import Equipment, Setting, Track

from .factories import ExerciseFactory

PACKAGED_TEXT = resources.files("content").joinpath("exercises.toml").read_text(encoding="utf-8")

# The list of exercises the library must cover, each with the ids that cover it.
REQUIRED = {
    "seated glute squeeze, one side at a time": ["seated_glute_squeeze"],
    "glute-driven sit-to-stand": ["sit_to_stand"],
    "standing glute squeeze": ["standing_glute_squeeze"],
    "prone hip extension": ["prone_hip_extension"],
    "glute bridge": ["glute_bridge"],
    "single-leg glute bridge": ["single_leg_glute_bridge"],
    "hip extension drill": ["standing_hip_extension", "half_kneeling_hip_extension"],
    "external rotation drill": ["standing_external_rotation"],
    "clamshell / side-lying abduction": ["clamshell", "side_lying_hip_abduction"],
    "banded walks": ["banded_lateral_walk", "banded_monster_walk"],
    "bird dog": ["bird_dog"],
    "squat with glute cues": ["bodyweight_squat", "goblet_squat"],
    "split squat": ["split_squat"],
    "step-up": ["step_up", "dumbbell_step_up"],
    "lunge": ["reverse_lunge"],
    "romanian deadlift, two legs": ["dumbbell_rdl", "barbell_rdl"],
    "romanian deadlift, one leg": ["single_leg_rdl", "dumbbell_single_leg_rdl"],
    "deadlift": ["deadlift"],
    "weighted glute bridge": ["dumbbell_glute_bridge", "barbell_glute_bridge"],
    "hip thrust": ["barbell_hip_thrust", "dumbbell_hip_thrust"],
    "vertical jump": ["vertical_jump"],
    "broad jump": ["broad_jump"],
    "uphill running cues": ["uphill_strides"],
    "dead bug": ["dead_bug"],
    "banded dead bug": ["banded_dead_bug"],
    "straight leg raise": ["straight_leg_raise"],
    "band-resisted step-up": ["band_resisted_step_up"],
    "hanging leg raise": ["hanging_leg_raise"],
    "v-up": ["v_up"],
    "banded mountain climber": ["banded_mountain_climber"],
}


def _edit(old: str, new: str, text: str = PACKAGED_TEXT) -> str:
    assert old in text, f"fixture text not found: {old!r}"
    return text.replace(old, new, 1)


def _problems(text: str) -> str:
    with pytest.raises(LibraryError) as caught:
        parse_library(text)
    return "\n".join(caught.value.problems)


class TestPackagedLibrary:
    def test_has_enough_exercises_on_every_track(self, library: Library) -> None:
        assert len(library) >= MIN_EXERCISES
        for track in Track:
            assert library.ladder(track).top >= 5, track

    @pytest.mark.parametrize(("what", "ids"), REQUIRED.items())
    def test_covers_the_required_exercises(
        self, library: Library, what: str, ids: list[str]
    ) -> None:
        assert all(i in library for i in ids), what

    def test_front_of_hip_exercises_are_on_the_balance_track(self, library: Library) -> None:
        for exercise_id in (
            "dead_bug",
            "banded_dead_bug",
            "straight_leg_raise",
            "v_up",
            "hanging_leg_raise",
            "band_resisted_step_up",
            "banded_mountain_climber",
        ):
            assert library[exercise_id].track is Track.HIP_FLEXOR_BALANCE

    def test_desk_exercises_need_no_floor_and_no_kit(self, library: Library) -> None:
        desk = [e for e in library if e.setting is Setting.DESK]
        assert len(desk) >= 8
        assert all(not e.floor and not e.equipment for e in desk)

    def test_every_exercise_is_fully_described(self, library: Library) -> None:
        for e in library:
            assert 2 <= len(e.cues) <= 3, e.id
            assert e.compensations and e.source, e.id
            assert e.dose.sets >= 1 and e.dose.reps >= 1, e.id
            assert e.name[0].isupper(), e.id

    def test_every_neighbour_link_is_valid(self, library: Library) -> None:
        for e in library:
            for other_id in (*e.easier, *e.harder):
                assert other_id in library, (e.id, other_id)
            for other in (library[i] for i in e.easier if library[i].track is e.track):
                assert other.level < e.level
            for other in (library[i] for i in e.harder if library[i].track is e.track):
                assert other.level > e.level
            for other in (library[i] for i in e.easier):
                assert other.load.rank <= e.load.rank
            for other in (library[i] for i in e.harder):
                assert other.load.rank >= e.load.rank

    def test_gym_exercises_and_only_they_need_a_barbell(self, library: Library) -> None:
        for e in library:
            assert (e.setting is Setting.GYM) == (Equipment.BARBELL in e.equipment), e.id

    def test_is_cached(self) -> None:
        assert load_library() is load_library()

    def test_loading_from_a_file_gives_the_same_library(self, tmp_path: Path) -> None:
        path = tmp_path / "copy.toml"
        path.write_text(PACKAGED_TEXT, encoding="utf-8")
        assert load_library(path).exercises == load_library().exercises


class TestSchemaRejectsBadEntries:
    def test_desk_exercise_on_the_floor(self) -> None:
        text = _edit(
            'family = "seated_squeeze"\nsetting = "desk"\nlegs = "one"\nfloor = false',
            'family = "seated_squeeze"\nsetting = "desk"\nlegs = "one"\nfloor = true',
        )
        problems = _problems(text)
        assert "exercise 1 (seated_glute_squeeze)" in problems
        assert "cannot need the floor" in problems

    def test_desk_exercise_with_a_barbell(self) -> None:
        text = _edit(
            'setting = "desk"\nlegs = "two"\nfloor = false\nanchors = ["standing_up", "kettle"]',
            'setting = "desk"\nequipment = ["barbell"]\nlegs = "two"\nfloor = false\n'
            'anchors = ["standing_up", "kettle"]',
        )
        assert "desk exercise cannot need the floor or any equipment" in _problems(text)

    def test_one_cue_is_not_enough(self) -> None:
        text = _edit(
            '  "Stand tall with soft knees and squeeze both glutes hard, tail tucking slightly '
            'under.",\n',
            "",
        )
        problems = _problems(text)
        assert "standing_glute_squeeze" in problems and "cues" in problems

    def test_unknown_track(self) -> None:
        text = _edit('track = "power_running"', 'track = "yoga"')
        assert "track" in _problems(text)

    def test_unknown_field(self) -> None:
        text = _edit('id = "bird_dog"', 'id = "bird_dog"\ncolour = "blue"')
        assert "colour" in _problems(text)

    def test_not_toml(self) -> None:
        assert "not valid TOML" in _problems("[[exercise]\nid = ")

    def test_too_few_exercises(self, tmp_path: Path) -> None:
        second = [m.start() for m in re.finditer(r"^\[\[exercise\]\]", PACKAGED_TEXT, re.M)][1]
        path = tmp_path / "one.toml"
        path.write_text(PACKAGED_TEXT[:second], encoding="utf-8")
        with pytest.raises(LibraryError) as caught:
            load_library(path)
        assert f"at least {MIN_EXERCISES}" in caught.value.problems[0]


class TestLinksAndLadders:
    def test_missing_neighbour(self) -> None:
        text = _edit('harder = ["split_squat"]', 'harder = ["split_squats"]')
        assert "'split_squats' does not exist" in _problems(text)

    def test_neighbour_pointing_the_wrong_way(self) -> None:
        text = _edit('harder = ["reverse_lunge"]', 'harder = ["bodyweight_squat"]')
        assert "split_squat: harder neighbour 'bodyweight_squat' is not harder" in _problems(text)

    def test_repeated_level(self) -> None:
        text = _edit('track = "strength"\nlevel = 3', 'track = "strength"\nlevel = 2')
        assert "levels must run 1..14" in _problems(text)

    def test_heavier_rung_below_a_lighter_one(self) -> None:
        text = _edit(
            'id = "step_up"\nname = "Step-up"\ntrack = "strength"\nlevel = 2\nfamily = "step_up"\n'
            'setting = "home"\n',
            'id = "step_up"\nname = "Step-up"\ntrack = "strength"\nlevel = 2\nfamily = "step_up"\n'
            'setting = "home"\nequipment = ["dumbbell"]\n',
        )
        assert "split_squat (level 3, bodyweight) is lighter than step_up" in _problems(text)

    def test_duplicate_ids(self, make_exercise: ExerciseFactory) -> None:
        a = make_exercise("squat", level=1)
        with pytest.raises(LibraryError, match="used 2 times"):
            Library.build([a, a])

    def test_rungs_need_neighbours(self, make_exercise: ExerciseFactory) -> None:
        exercises = [make_exercise(f"rung_{n}", level=n) for n in (1, 2)]
        with pytest.raises(LibraryError) as caught:
            Library.build(exercises)
        problems = "\n".join(caught.value.problems)
        assert "rung_1: needs at least one harder neighbour" in problems
        assert "rung_2: needs at least one easier neighbour" in problems
        assert "activation: the ladder has no exercises" in problems


class TestCommandLine:
    def test_prints_every_ladder(
        self, capsys: pytest.CaptureFixture[str], library: Library
    ) -> None:
        assert main([]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"Library OK: {len(library)} exercises")
        for track in Track:
            assert re.search(rf"^{track.value} \(", out, re.MULTILINE)
        assert " 1. seated_glute_squeeze" in out

    def test_json(self, capsys: pytest.CaptureFixture[str], library: Library) -> None:
        assert main(["--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert set(data) == {t.value for t in Track}
        assert [r["id"] for r in data["strength"]] == [
            e.id for e in library.ladder(Track.STRENGTH).rungs
        ]
        assert data["strength"][-1]["load"] == "barbell"

    def test_broken_file_fails_with_the_problems(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        path = tmp_path / "draft.toml"
        path.write_text(_edit('harder = ["split_squat"]', 'harder = ["nope"]'), encoding="utf-8")
        assert main(["--file", str(path)]) == 1
        assert "'nope' does not exist" in capsys.readouterr().err


def test_dose_in_plain_words() -> None:
    assert Dose(sets=1, reps=5, hold_seconds=5, per_side=True, rep_word="squeezes").describe() == (
        "5 squeezes per side, 5-second hold"
    )
    assert Dose(sets=2, reps=5, hold_seconds=5, per_side=True, rep_word="holds").describe() == (
        "2 sets of 5 holds per side, 5 s each"
    )
    assert Dose(sets=3, reps=8).describe() == "3 sets of 8 reps"
