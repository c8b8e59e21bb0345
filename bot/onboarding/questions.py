"""The screen's questions: what is asked, the buttons offered, and how typed answers are read.

Pure: no Telegram, no database. Each answer is stored as plain JSON (a string, a number or a
list of strings) under the question's key, so a screen can be saved and resumed at any step.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from content import (
    Anchor,
    Context,
    Equipment,
    Experience,
    PainSite,
    ProneResult,
    RedFlag,
    SqueezeResult,
)

Answers = Mapping[str, Any]


class Kind(StrEnum):
    """How a question is answered."""

    CHOICE = "choice"  # one tap
    MULTI = "multi"  # tap several, then Done (or the one "none" option)
    TIMEZONE = "timezone"  # typed place or offset, or a shared location; then confirm
    SCHEDULE = "schedule"  # adjust a proposed nudge window, then accept


class Reask(ValueError):
    """A typed answer that does not fit; the message says what would."""


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    words: tuple[str, ...] = ()  # typed words that mean this option


@dataclass(frozen=True)
class Question:
    key: str
    kind: Kind
    prompt: str
    options: tuple[Option, ...] = ()
    none_option: Option | None = None  # MULTI: one tap that means "none of these"
    columns: int = 1
    example: str = ""  # what a typed answer looks like, for the re-ask
    asked_if: Callable[[Answers], bool] = field(default=lambda answers: True)
    number_range: tuple[int, int] | None = None  # CHOICE answered by a number

    def option(self, value: str) -> Option | None:
        """The option with this value, including the "none" option."""
        for option in (*self.options, *([self.none_option] if self.none_option else [])):
            if option.value == value:
                return option
        return None


def normalize(text: str) -> str:
    """Lower case, accents removed, punctuation turned into spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w/+:.-]+", " ", plain).split())


NONE_WORDS = ("none", "nothing", "no", "nope", "neither", "nada", "none of these", "n/a")


def _match_length(option: Option, text: str) -> int:
    """How long the longest of the option's words found in `text` is (0: none found)."""
    words = (option.value.replace("_", " "), normalize(option.label), *option.words)
    found = [len(word) for word in words if word and re.search(rf"\b{re.escape(word)}", text)]
    return max(found, default=0)


def _matches(option: Option, text: str) -> bool:
    return _match_length(option, text) > 0


def _best_options(options: tuple[Option, ...], text: str) -> list[str]:
    """The options whose words match `text` best (several when it is a tie)."""
    lengths = {option.value: _match_length(option, text) for option in options}
    best = max(lengths.values(), default=0)
    return [value for value, length in lengths.items() if best and length == best]


def read_choice(question: Question, typed: str) -> str | int:
    """The option (or number) a typed answer picks, or Reask."""
    text = normalize(typed)
    if question.number_range is not None:
        return read_number(text, question.number_range, question.example)
    if text.isdigit() and 1 <= int(text) <= len(question.options):
        return question.options[int(text) - 1].value
    found = _best_options(question.options, text)
    if len(found) == 1:
        return found[0]
    raise Reask(_reask(question))


def read_many(question: Question, typed: str) -> list[str]:
    """The options a typed answer picks (possibly none), or Reask."""
    text = normalize(typed)
    if text in NONE_WORDS or (question.none_option and _matches(question.none_option, text)):
        return []
    # Split before normalizing: normalizing turns the commas into spaces.
    parts = [normalize(part) for part in re.split(r",|;|&|\+|/|\band\b|\bplus\b", typed)]
    chosen: list[str] = []
    for part in filter(None, parts):
        if part.isdigit() and 1 <= int(part) <= len(question.options):
            chosen.append(question.options[int(part) - 1].value)
            continue
        hits = _best_options(question.options, part)
        if not hits:
            raise Reask(_reask(question))
        chosen.extend(hits)
    if not chosen:
        raise Reask(_reask(question))
    return list(dict.fromkeys(chosen))


def read_number(text: str, bounds: tuple[int, int], example: str) -> int:
    """A whole number within bounds from text like "8", "8h", "3/10", "about 9 hours"."""
    if text in ("no pain", "none", "no", "zero", "nothing"):
        return 0
    found = re.findall(r"-?\d+(?:[.,]\d+)?", text)
    if not found:
        raise Reask(f"I need a number here, like {example}.")
    value = float(found[0].replace(",", "."))
    low, high = bounds
    if not low <= value <= high:
        raise Reask(f"That's outside what I can use: a number from {low} to {high}, please.")
    return round(value)


def _reask(question: Question) -> str:
    return (
        "I didn't quite get that. Tap one of the buttons"
        + (f", or type something like {question.example}" if question.example else "")
        + "."
    )


def _pain_above_zero(answers: Answers) -> bool:
    return bool(answers.get("pain_now"))


CONTEXT = Question(
    key="context",
    kind=Kind.CHOICE,
    prompt="What brings you here? Pick the one that fits best.",
    options=(
        Option(Context.DESK_WORK, "Long hours sitting", ("desk", "sit", "office", "chair", "work")),
        Option(Context.RUNNING, "Running", ("run", "jog", "marathon")),
        Option(Context.LIFTING, "Lifting weights", ("lift", "gym", "weight", "squat")),
        Option(Context.GENERAL_ACHES, "Aches and stiffness", ("ache", "stiff", "sore", "tight")),
    ),
    columns=2,
    example='"desk" or "running"',
)
SITTING = Question(
    key="sitting_hours",
    kind=Kind.CHOICE,
    prompt=("Roughly how many hours a day do you spend sitting? Work, commute and sofa all count."),
    options=(
        Option("3", "Under 4"),
        Option("5", "4 to 6"),
        Option("7", "6 to 8"),
        Option("9", "8 to 10"),
        Option("11", "Over 10"),
    ),
    columns=3,
    example='"8" or "about 9 hours"',
    number_range=(0, 24),
)
EXPERIENCE = Question(
    key="experience",
    kind=Kind.CHOICE,
    prompt="How much do you train at the moment?",
    options=(
        Option(Experience.NEW, "Not at all (yet)", ("not", "never", "beginner", "new")),
        Option(Experience.SOME, "Now and then", ("sometimes", "occasionally", "bit", "some")),
        Option(Experience.REGULAR, "Most weeks", ("regular", "often", "weekly", "every")),
    ),
    example='"now and then"',
)
EQUIPMENT = Question(
    key="equipment",
    kind=Kind.MULTI,
    prompt="What do you have at hand? Tap everything that applies, then Done.",
    options=(
        Option(Equipment.BAND, "Resistance band", ("band", "loop")),
        Option(Equipment.DUMBBELL, "Dumbbells or kettlebell", ("dumbbell", "kettlebell", "db")),
        Option(Equipment.BARBELL, "Barbell or a gym", ("barbell", "gym", "rack")),
    ),
    none_option=Option("none", "Nothing, just me", ("just me", "bodyweight", "body weight")),
    example='"band and dumbbells" or "nothing"',
)
PAIN_NOW = Question(
    key="pain_now",
    kind=Kind.CHOICE,
    prompt=(
        "How much pain do you have right now, sitting still? "
        "0 means none, 10 the worst you can imagine."
    ),
    options=tuple(Option(str(n), str(n)) for n in range(11)),
    columns=6,
    example='"3" or "no pain"',
    number_range=(0, 10),
)
PAIN_WHERE = Question(
    key="pain_sites",
    kind=Kind.MULTI,
    prompt="Where do you feel it? Tap every place that applies, then Done.",
    options=(
        Option(PainSite.LOWER_BACK, "Lower back", ("back",)),
        Option(PainSite.HIP, "Hip", ("hip", "groin")),
        Option(PainSite.HAMSTRING, "Back of the thigh", ("hamstring", "thigh")),
        Option(PainSite.KNEE, "Knee", ("knee",)),
        Option(PainSite.OTHER, "Somewhere else", ("other", "elsewhere", "neck", "shoulder")),
    ),
    columns=2,
    example='"lower back" or "knee and hip"',
    asked_if=_pain_above_zero,
)
RED_FLAGS = Question(
    key="red_flags",
    kind=Kind.MULTI,
    prompt=(
        "A quick safety check. Does any of this apply to you right now? Tap any that do, then Done."
    ),
    options=(
        Option(RedFlag.SADDLE_NUMBNESS, "Numbness in the groin or saddle area", ("groin",)),
        Option(RedFlag.BLADDER_BOWEL, "New bladder or bowel problems", ("bladder", "bowel")),
        Option(RedFlag.BOTH_LEGS, "Pain or tingling down both legs", ("both legs",)),
        Option(RedFlag.PROGRESSIVE_WEAKNESS, "Legs getting weaker", ("weak",)),
        Option(RedFlag.TRAUMA, "A recent fall or injury", ("fall", "fell", "injur", "accident")),
        Option(RedFlag.FEVER, "Fever or chills", ("fever", "chills")),
        Option(RedFlag.WEIGHT_LOSS, "Weight loss I can't explain", ("weight loss",)),
        Option(RedFlag.NIGHT_PAIN, "Night pain that won't settle", ("night",)),
        Option(RedFlag.CANCER_HISTORY, "A history of cancer", ("cancer",)),
    ),
    none_option=Option("none", "None of these", ("all good", "fine")),
    example='"none of these"',
)
SQUEEZE_OPTIONS = (
    Option(SqueezeResult.GLUTE_ONLY, "Only the glute", ("only", "just the glute")),
    Option(SqueezeResult.BACK_TIGHTENED, "My lower back tightened", ("back",)),
    Option(SqueezeResult.QUAD_JUMPED, "My thigh tensed", ("thigh", "quad")),
    Option(SqueezeResult.STOMACH_BRACED, "My stomach braced", ("stomach", "belly", "abs")),
    Option(SqueezeResult.COULD_NOT_TELL, "I couldn't tell", ("not sure", "dont know", "unsure")),
)
SQUEEZE_HOW = (
    "Self-test 1, the seated squeeze. Sit with both feet flat on the floor. Squeeze only your "
    "{side} buttock for a few seconds and notice what else moves. What happened?"
)
SQUEEZE_LEFT = Question(
    key="squeeze_left",
    kind=Kind.CHOICE,
    prompt=SQUEEZE_HOW.format(side="LEFT"),
    options=SQUEEZE_OPTIONS,
    example='"only the glute" or "my back tightened"',
)
SQUEEZE_RIGHT = Question(
    key="squeeze_right",
    kind=Kind.CHOICE,
    prompt="Same test on the other side: squeeze only your RIGHT buttock. What happened?",
    options=SQUEEZE_OPTIONS,
    example='"only the glute" or "my back tightened"',
)
PRONE_OPTIONS = (
    Option(ProneResult.GLUTE_FIRST, "My glute", ("glute", "bum", "butt")),
    Option(ProneResult.HAMSTRING_FIRST, "Back of my thigh", ("hamstring", "thigh")),
    Option(ProneResult.LOWER_BACK_FIRST, "My lower back", ("back",)),
    Option(ProneResult.COULD_NOT_TELL, "Can't tell / can't lie down now", ("not sure", "skip")),
)
PRONE_LEFT = Question(
    key="prone_left",
    kind=Kind.CHOICE,
    prompt=(
        "Self-test 2, the leg lift. Lie face down with your forehead on your hands. Keep the "
        "LEFT leg straight and lift it a little off the floor. What tightened first?"
    ),
    options=PRONE_OPTIONS,
    columns=2,
    example='"glute" or "lower back"',
)
PRONE_RIGHT = Question(
    key="prone_right",
    kind=Kind.CHOICE,
    prompt="Now the RIGHT leg: lift it straight, a little off the floor. What tightened first?",
    options=PRONE_OPTIONS,
    columns=2,
    example='"glute" or "lower back"',
)
ANCHORS = Question(
    key="anchors",
    kind=Kind.MULTI,
    prompt=(
        "Which of these moments happen in your day? I'll tie nudges to them, so they fit "
        "into things you already do. Tap all that apply, then Done."
    ),
    options=(
        Option(Anchor.STANDING_UP, "Getting up from my chair", ("stand", "chair", "desk")),
        Option(Anchor.KETTLE, "Making tea or coffee", ("kettle", "tea", "coffee")),
        Option(Anchor.STAIRS, "Taking the stairs", ("stair", "steps")),
        Option(Anchor.BATHROOM, "Bathroom breaks", ("bathroom", "toilet", "loo")),
        Option(Anchor.BRUSHING_TEETH, "Brushing my teeth", ("teeth", "brush")),
    ),
    none_option=Option("none", "None of these"),
    example='"coffee and stairs"',
)
TIMEZONE = Question(
    key="timezone",
    kind=Kind.TIMEZONE,
    prompt=(
        "Where are you, so I nudge you at the right local time? Type your city (like Berlin "
        "or São Paulo), share your location (paperclip, then Location), or type a UTC offset "
        "such as UTC+2."
    ),
    example='"Berlin" or "UTC+2"',
)
SCHEDULE = Question(
    key="schedule",
    kind=Kind.SCHEDULE,
    prompt="Last step: when should I nudge you?",
    example='"8-17", "every 60 minutes" or "weekends too"',
)

QUESTIONS: tuple[Question, ...] = (
    CONTEXT,
    SITTING,
    EXPERIENCE,
    EQUIPMENT,
    PAIN_NOW,
    PAIN_WHERE,
    RED_FLAGS,
    SQUEEZE_LEFT,
    SQUEEZE_RIGHT,
    PRONE_LEFT,
    PRONE_RIGHT,
    ANCHORS,
    TIMEZONE,
    SCHEDULE,
)
BY_KEY: dict[str, Question] = {question.key: question for question in QUESTIONS}


def asked(answers: Answers) -> list[Question]:
    """The questions this user is asked, given what they answered so far."""
    return [question for question in QUESTIONS if question.asked_if(answers)]


def next_question(key: str | None, answers: Answers) -> Question | None:
    """The question after `key` (the first when None); None after the last."""
    keys = [question.key for question in QUESTIONS]
    start = 0 if key is None else keys.index(key) + 1
    for question in QUESTIONS[start:]:
        if question.asked_if(answers):
            return question
    return None


def previous_question(key: str, answers: Answers) -> Question | None:
    """The question before `key` that this user was asked; None at the first."""
    keys = [question.key for question in QUESTIONS]
    for question in reversed(QUESTIONS[: keys.index(key)]):
        if question.asked_if(answers):
            return question
    return None


def progress(key: str, answers: Answers) -> tuple[int, int]:
    """(position, total) of a question among those this user is asked, for "3/13"."""
    keys = [question.key for question in asked(answers)]
    return keys.index(key) + 1 if key in keys else len(keys), len(keys)
