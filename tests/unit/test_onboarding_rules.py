"""The screen's pure parts: reading typed answers, the schedule, and the question order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.onboarding import questions as q
from bot.onboarding.schedule import INTERVALS, Schedule, read_schedule
from bot.onboarding.summary import changes_since


@pytest.mark.parametrize(
    ("question", "typed", "expected"),
    [
        (q.CONTEXT, "I sit at a desk all day", "desk_work"),
        (q.CONTEXT, "2", "running"),
        (q.CONTEXT, "Lifting", "lifting"),
        (q.SITTING, "about 9 hours", 9),
        (q.SITTING, "7.5", 8),
        (q.PAIN_NOW, "3/10", 3),
        (q.PAIN_NOW, "no pain", 0),
        (q.SQUEEZE_LEFT, "only the glute", "glute_only"),
        (q.SQUEEZE_LEFT, "my stomach braced", "stomach_braced"),
        (q.PRONE_LEFT, "the back of my thigh", "hamstring_first"),  # not "lower back"
        (q.PRONE_LEFT, "lower back", "lower_back_first"),
    ],
)
def test_typed_choices_are_read(question: q.Question, typed: str, expected: object) -> None:
    assert q.read_choice(question, typed) == expected


@pytest.mark.parametrize(
    ("question", "typed", "expected"),
    [
        (q.EQUIPMENT, "band and dumbbells", ["band", "dumbbell"]),
        (q.EQUIPMENT, "Nothing", []),
        (q.EQUIPMENT, "just me", []),
        (q.ANCHORS, "coffee, stairs & brushing teeth", ["kettle", "stairs", "brushing_teeth"]),
        (q.RED_FLAGS, "none of these", []),
        (q.PAIN_WHERE, "knee and hip", ["knee", "hip"]),
    ],
)
def test_typed_lists_are_read(question: q.Question, typed: str, expected: list[str]) -> None:
    assert q.read_many(question, typed) == expected


@pytest.mark.parametrize(
    ("question", "typed"),
    [
        (q.CONTEXT, "banana"),
        (q.CONTEXT, "9"),
        (q.SITTING, "a lot"),
        (q.SITTING, "25"),
        (q.PAIN_NOW, "-1"),
        (q.EQUIPMENT, "a rowing machine"),
        (q.SQUEEZE_LEFT, "🍑"),
    ],
)
def test_answers_that_do_not_fit_are_re_asked(question: q.Question, typed: str) -> None:
    with pytest.raises(q.Reask):
        if question.kind is q.Kind.MULTI:
            q.read_many(question, typed)
        else:
            q.read_choice(question, typed)


@given(st.text(max_size=300))
def test_any_text_is_either_read_or_re_asked(typed: str) -> None:
    for question in q.QUESTIONS:
        if question.kind not in (q.Kind.CHOICE, q.Kind.MULTI):
            continue
        try:
            value = (q.read_many if question.kind is q.Kind.MULTI else q.read_choice)(
                question, typed
            )
        except q.Reask:
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            assert question.number_range is not None or question.option(str(item)) is not None


def test_where_it_hurts_is_asked_only_with_pain() -> None:
    assert q.next_question("pain_now", {"pain_now": 0}) is q.RED_FLAGS
    assert q.next_question("pain_now", {"pain_now": 2}) is q.PAIN_WHERE
    assert q.progress("red_flags", {"pain_now": 0}) == (6, 13)
    assert q.progress("red_flags", {"pain_now": 2}) == (7, 14)
    assert q.previous_question("context", {}) is None


def test_button_data_fits_telegrams_64_bytes_for_every_option() -> None:
    screen_id = 9_999_999_999
    for question in q.QUESTIONS:
        extra = [question.none_option] if question.none_option else []
        for option in (*question.options, *extra):
            for action in (f"v.{option.value}", f"t.{option.value}"):
                data = f"o:{screen_id}:{question.key}:{action}"
                assert len(data.encode()) <= 64, data


def test_schedule_buttons_move_within_limits() -> None:
    default = Schedule()
    assert default.describe() == "weekdays, 09:00-18:00 your time, about every 75 minutes"
    assert default.adjusted("earlier_start").start == 8 * 60
    assert default.adjusted("more_often").every == 60
    assert default.adjusted("weekends").weekends
    earliest = Schedule(start=5 * 60)
    assert earliest.adjusted("earlier_start") == earliest  # not before 05:00
    narrow = Schedule(start=9 * 60, end=11 * 60)
    assert narrow.adjusted("earlier_end") == narrow  # at least two hours
    assert Schedule(every=INTERVALS[0]).adjusted("more_often").every == INTERVALS[0]


@pytest.mark.parametrize(
    ("typed", "start", "end", "every", "weekends"),
    [
        ("8-17", 480, 1020, 75, False),
        ("08:30 - 17:30", 510, 1050, 75, False),
        ("9 to 5", 540, 1020, 75, False),
        ("8am-4pm every hour", 480, 960, 60, False),
        ("every 2 hours, weekends too", 540, 1080, 120, True),
        ("weekdays only", 540, 1080, 75, False),
    ],
)
def test_typed_schedules(typed: str, start: int, end: int, every: int, weekends: bool) -> None:
    schedule, accepted = read_schedule(typed, Schedule())
    assert (schedule.start, schedule.end, schedule.every, schedule.weekends) == (
        start,
        end,
        every,
        weekends,
    )
    assert not accepted


@pytest.mark.parametrize("typed", ["whenever", "every 7 minutes", "2-3", "25:00-26:00"])
def test_typed_schedules_that_do_not_fit(typed: str) -> None:
    with pytest.raises(q.Reask):
        read_schedule(typed, Schedule())


def test_ok_accepts_the_schedule_as_shown() -> None:
    assert read_schedule("Sounds good", Schedule(every=90)) == (Schedule(every=90), True)


def test_changes_list_only_what_differs() -> None:
    before = {"context": "running", "equipment": ["band"], "pain_now": 4}
    after = {"context": "running", "equipment": ["dumbbell", "band"], "pain_now": 1}
    lines = changes_since(before, after, "strength", "hip extension", "hip_extension")
    assert lines == [
        "Kit: Resistance band → Resistance band, Dumbbells or kettlebell",
        "Pain at rest: 4/10 → 1/10",
        "Focus: strength → hip extension",
    ]
