"""Typed reports as people send them after a nudge, each with what it should read as.

`Reads` is an `Understood` reading; `Asks` is an `Unclear` with exactly these button values
and this partial reading; `Declines` is a `NotAReport` with this hint.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.reporting.parse import (
    HINT_FLAGGED,
    HINT_GENERIC,
    HINT_GREETING,
    HINT_MUDDLED,
    HINT_NOT_DONE,
    HINT_QUESTION,
    HINT_THANKS,
    HINT_TOO_BIG,
    NOTHING,
    Reading,
)
from content.vocabulary import FeltIn


@dataclass(frozen=True)
class Reads:
    reading: Reading


@dataclass(frozen=True)
class Asks:
    values: frozenset[str]
    reading: Reading


@dataclass(frozen=True)
class Declines:
    hint: str


Expected = Reads | Asks | Declines


def reads(
    *,
    reps: int | None = None,
    sets: int | None = None,
    per_side: bool = False,
    done: bool = False,
    pain: int | None = None,
    felt_in: FeltIn | None = None,
) -> Reads:
    return Reads(Reading(reps, sets, per_side, done, pain, felt_in))


def asks(
    *values: str,
    reps: int | None = None,
    done: bool = False,
    felt_in: FeltIn | None = None,
) -> Asks:
    return Asks(frozenset(values), Reading(reps=reps, done=done, felt_in=felt_in))


PAIN_SCALE = tuple(f"pain={p}" for p in range(11))
G, LB, H, Q = FeltIn.GLUTES, FeltIn.LOWER_BACK, FeltIn.HAMSTRINGS, FeltIn.QUADS
FH, K = FeltIn.FRONT_OF_HIP, FeltIn.KNEE

# The forms the issue lists, word for word; the corpus must contain every one.
ISSUE_FORMS = (
    "12",
    "12 reps",
    "did 12",
    "3x10",
    "3 sets of 10",
    "10 each side",
    "done",
    "pain 3",
    "p3",
    "3/10",
    "12 p2",
    "12, pain 2/10",
    "hurts a bit, 4",
    "no pain",
    "felt it in my hamstrings",
    "felt it in my lower back",
    "felt it in my glutes",
    "twelve reps, no pain",
    "did ten",
    "pain: 3",
    "pain 3 out of 10",
    "0 pain",
    "painless",
    "no pain at all",
    "a bit sore 2/10",
    "8 per leg",
    "did 10 on each side",
)

CORPUS: tuple[tuple[str, Expected], ...] = (
    # The issue's list.
    ("12", reads(reps=12)),
    ("12 reps", reads(reps=12)),
    ("did 12", reads(reps=12)),
    ("3x10", reads(sets=3, reps=10)),
    ("3 sets of 10", reads(sets=3, reps=10)),
    ("10 each side", reads(reps=10, per_side=True)),
    ("done", reads(done=True)),
    ("pain 3", reads(pain=3)),
    ("p3", reads(pain=3)),
    ("3/10", reads(pain=3)),
    ("12 p2", reads(reps=12, pain=2)),
    ("12, pain 2/10", reads(reps=12, pain=2)),
    ("hurts a bit, 4", reads(pain=4)),
    ("no pain", reads(pain=0)),
    ("felt it in my hamstrings", reads(felt_in=H)),
    ("felt it in my lower back", reads(felt_in=LB)),
    ("felt it in my glutes", reads(felt_in=G)),
    ("twelve reps, no pain", reads(reps=12, pain=0)),
    ("did ten", reads(reps=10)),
    ("pain: 3", reads(pain=3)),
    ("pain 3 out of 10", reads(pain=3)),
    ("0 pain", reads(pain=0)),
    ("painless", reads(pain=0)),
    ("no pain at all", reads(pain=0)),
    ("a bit sore 2/10", reads(pain=2)),
    ("8 per leg", reads(reps=8, per_side=True)),
    ("did 10 on each side", reads(reps=10, per_side=True)),
    # Case, spacing, punctuation, emoji, other ways to write the same thing.
    ("DONE!!", reads(done=True)),
    ("  12    Reps  ", reads(reps=12)),
    ("12 reps 🔥🔥", reads(reps=12)),
    ("12 reps 💪", reads(reps=12, done=True)),
    ("3 x 10", reads(sets=3, reps=10)),
    ("3×10", reads(sets=3, reps=10)),
    ("3X10 reps", reads(sets=3, reps=10)),
    ("3х10", reads(sets=3, reps=10)),  # Cyrillic х from a Russian keyboard
    ("１２ reps", reads(reps=12)),  # full-width digits
    ("١٢", reads(reps=12)),  # Arabic-Indic digits
    ("1 rep", reads(reps=1)),
    ("Reps: 12", reads(reps=12)),
    ("sets: 2, reps: 10", reads(sets=2, reps=10)),
    ("10 reps x 3", reads(reps=10, sets=3)),
    ("2 rounds of 8", reads(sets=2, reps=8)),
    ("sets 2 reps 8", reads(sets=2, reps=8)),
    ("3 more sets of 10", reads(sets=3, reps=10)),
    ("done 3/3 sets", reads(sets=3, done=True)),
    ("I did 8 instead of 10", reads(reps=8)),
    ("managed 6 out of 10", reads(reps=6)),
    ("12 reps in 2 minutes", reads(reps=12)),
    ("12 stands", reads(reps=12)),
    ("10 squeezes each side", reads(reps=10, per_side=True)),
    ("2x8 per leg", reads(sets=2, reps=8, per_side=True)),
    ("8/side", reads(reps=8, per_side=True)),
    ("10 left, 10 right", reads(reps=10, per_side=True)),
    ("L10 R10", reads(reps=10, per_side=True)),
    ("left side 10, right side 10", reads(reps=10, per_side=True)),
    ("10, 3 times", reads(reps=10, sets=3)),
    ("did eight", reads(reps=8)),
    ("fifteen", reads(reps=15)),
    ("Twenty reps", reads(reps=20)),
    ("twenty-one reps", reads(reps=21)),
    ("did one", reads(reps=1)),
    ("3 sets", reads(sets=3)),
    ("5/5", reads(reps=5)),
    ("did 8/10", reads(reps=8)),
    ("did 12 at 3pm", reads(reps=12)),
    ("did 12 this morning before work", reads(reps=12)),
    ("✅", reads(done=True)),
    ("👍", reads(done=True)),
    ("did it", reads(done=True)),
    ("did the exercise", reads(done=True)),
    ("finished", reads(done=True)),
    ("all done, no pain", reads(done=True, pain=0)),
    ("Done ✅ 12 reps, pain 1, felt it in my glutes", reads(done=True, reps=12, pain=1, felt_in=G)),
    ("3 sets of 12 each side, no pain", reads(sets=3, reps=12, per_side=True, pain=0)),
    # Pain in its many spellings.
    ("pain two", reads(pain=2)),
    ("zero pain", reads(pain=0)),
    ("pain-free", reads(pain=0)),
    ("didn't hurt at all", reads(pain=0)),
    ("it did not hurt", reads(pain=0)),
    ("pain = 1", reads(pain=1)),
    ("4 hurts", reads(pain=4)),
    ("12 hurts a bit 4", reads(reps=12, pain=4)),
    ("10 reps 10/10 pain", reads(reps=10, pain=10)),
    ("10 reps but lower back pain 4", reads(reps=10, pain=4, felt_in=LB)),
    ("12 reps, pain 2, hamstrings a bit", reads(reps=12, pain=2, felt_in=H)),
    ("pain 3 - felt it in my glutes", reads(pain=3, felt_in=G)),
    # Where it was felt.
    ("the back of my thigh", reads(felt_in=H)),
    ("felt it in the front of my hip", reads(felt_in=FH)),
    ("quads", reads(felt_in=Q)),
    ("my knee", reads(felt_in=K)),
    ("bum on fire", reads(felt_in=G)),
    ("not in my glutes, more in my lower back", reads(felt_in=LB)),
    ("mostly glutes, a little hamstrings", reads(felt_in=G)),
    ("lower back felt it more than glutes", reads(felt_in=LB)),
    ("knee was fine, glutes burning, 12 reps", reads(reps=12, felt_in=G)),
    ("no pain in my knee, 10 reps", reads(reps=10, pain=0)),
    ("no knee pain", reads(pain=0)),
    # Numbness is not a report: those clauses are left out (the bot handles red flags).
    ("12 reps, left foot tingling", reads(reps=12)),
    ("12 reps but tingling in my glutes", reads(reps=12)),
    # Ambiguous: ask, with buttons.
    ("12 3", asks("reps=12,pain=3", "reps=12,sets=3", NOTHING)),
    ("3 12", asks("reps=12,sets=3", NOTHING)),
    ("10x3", asks("reps=10,sets=3", "reps=3,sets=10", NOTHING)),
    ("10/10", asks("reps=10", "pain=10", NOTHING)),
    ("pain 15", asks(*PAIN_SCALE)),
    ("10 reps, pain 3/5", asks(*PAIN_SCALE, reps=10)),
    ("8-10 reps", asks("reps=8", "reps=10", NOTHING)),
    ("pain 2 or 3", asks("pain=2", "pain=3", NOTHING)),
    ("2.5", asks("reps=2", "reps=3", NOTHING)),
    ("150", asks("reps=150", NOTHING)),
    ("2 kids", asks("reps=2", NOTHING)),
    ("0", asks("pain=0", NOTHING)),
    ("12 reps 3", asks("sets=3", "pain=3", NOTHING, reps=12)),
    ("12 reps then 10 reps", asks("reps=10", "reps=12", NOTHING)),
    ("a bit sore", asks(*PAIN_SCALE)),
    ("sore, 12", asks(*PAIN_SCALE, reps=12)),
    ("12 reps, my lower back hurts", asks(*PAIN_SCALE, reps=12, felt_in=LB)),
    ("10 each", asks("side=1", "side=0", reps=10)),
    ("10 on both sides", asks("side=1", "side=0", reps=10)),
    ("10, 10, 10", asks("reps=10,sets=3", NOTHING)),
    ("10 left 8 right", asks("reps=10,side=1", "reps=8,side=1", NOTHING)),
    ("did it 3 times", asks("reps=3", "sets=3", NOTHING, done=True)),
    ("done x2", asks("reps=2", "sets=2", NOTHING, done=True)),
    ("hips", asks("felt=glutes", "felt=front_of_hip", "felt=not_sure")),
    ("glutes and hamstrings", asks("felt=glutes", "felt=hamstrings", "felt=not_sure")),
    (
        "couldn't feel my glutes",
        asks(*(f"felt={p.value}" for p in FeltIn if p is not FeltIn.GLUTES)),
    ),
    ("yes", asks("done=1", NOTHING)),
    ("ok", asks("done=1", NOTHING)),
    # Not reports.
    ("hello", Declines(HINT_GREETING)),
    ("Hi there!", Declines(HINT_GREETING)),
    ("what is this?", Declines(HINT_QUESTION)),
    ("what should I do?", Declines(HINT_QUESTION)),
    ("How many reps should I do?", Declines(HINT_QUESTION)),
    ("is 12 reps enough?", Declines(HINT_QUESTION)),
    ("Should I do 3x10 instead?", Declines(HINT_QUESTION)),
    ("thanks", Declines(HINT_THANKS)),
    ("thank you 🙏", Declines(HINT_THANKS)),
    ("not yet", Declines(HINT_NOT_DONE)),
    ("Not today", Declines(HINT_NOT_DONE)),
    ("skipped it today, too busy", Declines(HINT_NOT_DONE)),
    ("didn't do it", Declines(HINT_NOT_DONE)),
    ("0 reps", Declines(HINT_NOT_DONE)),
    ("999999999999999999999 reps", Declines(HINT_TOO_BIG)),
    ("-5", Declines(HINT_TOO_BIG)),
    ("100000", Declines(HINT_TOO_BIG)),
    ("1 2 3 4", Declines(HINT_MUDDLED)),
    ("my bum went numb", Declines(HINT_FLAGGED)),
    ("pins and needles down my leg", Declines(HINT_FLAGGED)),
    ("I sat for 9 hours today", Declines(HINT_GENERIC)),
    ("'; DROP TABLE users; --", Declines(HINT_GENERIC)),
    ("<script>alert(1)</script>", Declines(HINT_GENERIC)),
    ("%s%n", Declines(HINT_GENERIC)),
    ("", Declines(HINT_GENERIC)),
    ("   ", Declines(HINT_GENERIC)),
    ("🙂", Declines(HINT_GENERIC)),
    ("lol", Declines(HINT_GENERIC)),
)
