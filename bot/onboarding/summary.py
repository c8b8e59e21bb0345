"""From saved answers to the content module's `ScreenAnswers`, and the words of the summary."""

from __future__ import annotations

from datetime import time
from typing import Any

from bot.onboarding.questions import BY_KEY, QUESTIONS, Answers, Kind
from bot.onboarding.schedule import Schedule
from content import (
    Anchor,
    Context,
    Equipment,
    Experience,
    NudgeWindow,
    PainSite,
    Programme,
    ProneResult,
    RedFlag,
    ScreenAnswers,
    Side,
    SqueezeResult,
    Track,
)
from content.screen import suggested_interval_minutes


def schedule_of(answers: Answers) -> Schedule:
    """The schedule the user accepted (or is editing)."""
    hours = int(answers.get("sitting_hours", 8))
    return Schedule.from_json(answers.get("schedule"), suggested_interval_minutes(hours))


def to_screen_answers(answers: Answers) -> ScreenAnswers:
    """The finished screen in the content module's vocabulary."""
    pain_now = int(answers["pain_now"])
    schedule = schedule_of(answers)
    return ScreenAnswers(
        contexts=frozenset({Context(answers["context"])}),
        sitting_hours=int(answers["sitting_hours"]),
        experience=Experience(answers["experience"]),
        equipment=frozenset(Equipment(value) for value in answers.get("equipment", [])),
        pain_now=pain_now,
        pain_sites=frozenset(PainSite(v) for v in answers.get("pain_sites", []))
        if pain_now
        else frozenset(),
        red_flags=frozenset(RedFlag(value) for value in answers.get("red_flags", [])),
        cleared_by_clinician=bool(answers.get("cleared_by_clinician")),
        squeeze_test={
            Side.LEFT: SqueezeResult(answers["squeeze_left"]),
            Side.RIGHT: SqueezeResult(answers["squeeze_right"]),
        },
        prone_test={
            Side.LEFT: ProneResult(answers["prone_left"]),
            Side.RIGHT: ProneResult(answers["prone_right"]),
        },
        anchors=frozenset(Anchor(value) for value in answers.get("anchors", [])),
        timezone=str(answers["timezone"]["zone"]),
        window=NudgeWindow(
            start=time(schedule.start // 60, schedule.start % 60),
            end=time(schedule.end // 60, schedule.end % 60),
            every_minutes=schedule.every,
            weekends=schedule.weekends,
        ),
    )


def programme_record(programme: Programme) -> dict[str, Any]:
    """The programme as JSON, kept on the screen row."""
    return {
        "focus": programme.focus.value,
        "levels": {track.value: level for track, level in programme.levels.items()},
        "mix": [track.value for track in programme.mix],
        "flags": sorted(flag.value for flag in programme.flags),
        "weaker_side": programme.weaker_side.value if programme.weaker_side else None,
        "explanation": list(programme.explanation),
    }


# Short names of what each answer is about, for "what changed" lines.
TOPICS = {
    "context": "Main reason",
    "sitting_hours": "Hours sitting",
    "experience": "Training",
    "equipment": "Kit",
    "pain_now": "Pain at rest",
    "pain_sites": "Where it hurts",
    "red_flags": "Safety check",
    "squeeze_left": "Left seated squeeze",
    "squeeze_right": "Right seated squeeze",
    "prone_left": "Left leg lift",
    "prone_right": "Right leg lift",
    "anchors": "Moments",
}


def answer_words(key: str, value: Any) -> str:
    """An answer as the user saw it on the buttons."""
    question = BY_KEY[key]
    if question.kind is Kind.MULTI:
        labels = [_label(key, item) for item in value or []]
        return ", ".join(labels) if labels else "none"
    if question.number_range is not None:
        return f"{value}/10" if key == "pain_now" else f"about {value} hours"
    return _label(key, value)


def _label(key: str, value: Any) -> str:
    option = BY_KEY[key].option(str(value))
    return option.label if option else str(value)


def changes_since(
    previous: Answers,
    current: Answers,
    previous_focus: str | None,
    focus_label: str,
    current_focus: str,
) -> list[str]:
    """One line per answer (and the focus) that differs from the earlier screen."""
    lines: list[str] = []
    for question in QUESTIONS:
        key = question.key
        if key not in TOPICS:
            continue
        old, new = previous.get(key), current.get(key)
        if question.kind is Kind.MULTI:
            old, new = sorted(old or []), sorted(new or [])
        if old != new and new is not None and old is not None:
            lines.append(f"{TOPICS[key]}: {answer_words(key, old)} → {answer_words(key, new)}")
    if previous_focus and previous_focus != current_focus:
        lines.append(f"Focus: {Track(previous_focus).label} → {focus_label}")
    return lines
