"""Red flags: signs that mean "see a clinician before exercising" (COACHING.md, NICE CKS).

`scan_red_flags(text)` reads any message for phrases that may point to one, so the bot can
pause and refer. It errs on the side of asking: a false alarm costs a check-up, a missed one
can cost much more. The bot never names a diagnosis; `referral_lines` says what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class RedFlag(StrEnum):
    # Urgent, same day (possible nerve compression: never named to the user).
    SADDLE_NUMBNESS = "saddle_numbness"
    BLADDER_BOWEL = "bladder_bowel"
    SEXUAL_DYSFUNCTION = "sexual_dysfunction"
    BOTH_LEGS = "both_legs"
    PROGRESSIVE_WEAKNESS = "progressive_weakness"
    # See a clinician before exercising.
    NUMBNESS_TINGLING = "numbness_tingling"
    TRAUMA = "trauma"
    FEVER = "fever"
    WEIGHT_LOSS = "weight_loss"
    NIGHT_PAIN = "night_pain"
    CANCER_HISTORY = "cancer_history"
    WEAK_IMMUNE_SYSTEM = "weak_immune_system"

    @property
    def urgent(self) -> bool:
        return self in URGENT_FLAGS


URGENT_FLAGS = frozenset(
    {
        RedFlag.SADDLE_NUMBNESS,
        RedFlag.BLADDER_BOWEL,
        RedFlag.SEXUAL_DYSFUNCTION,
        RedFlag.BOTH_LEGS,
        RedFlag.PROGRESSIVE_WEAKNESS,
    }
)

# What each flag means in the user's words, for a "you told me ..." line.
FLAG_WORDS: dict[RedFlag, str] = {
    RedFlag.SADDLE_NUMBNESS: "numbness around the groin or saddle area",
    RedFlag.BLADDER_BOWEL: "new bladder or bowel trouble",
    RedFlag.SEXUAL_DYSFUNCTION: "new changes in sexual function",
    RedFlag.BOTH_LEGS: "pain or pins and needles down both legs",
    RedFlag.PROGRESSIVE_WEAKNESS: "legs getting weaker",
    RedFlag.NUMBNESS_TINGLING: "numbness or tingling",
    RedFlag.TRAUMA: "a recent fall or injury",
    RedFlag.FEVER: "fever or chills",
    RedFlag.WEIGHT_LOSS: "weight loss you can't explain",
    RedFlag.NIGHT_PAIN: "pain at night that won't settle",
    RedFlag.CANCER_HISTORY: "a history of cancer",
    RedFlag.WEAK_IMMUNE_SYSTEM: "a weakened immune system",
}

_LEG_SYMPTOM = (
    r"\b(?:pain\w*|hurt\w*|ach\w*|sore|shooting|burn\w*|tingl\w*|pins and needles|numb\w*|"
    r"sciatic\w*|radiat\w*|weak\w*|cramp\w*|electric\w*)"
)
_NUMB = (
    r"(?:numb(?:ness)?|tingl\w*|pins and needles|can'?not feel|can'?t feel|no feeling|"
    r"lost feeling)"
)
# A numb bottom after long sitting is common and positional, so "bum" or "buttock" alone
# reads as plain numbness (still referred), not as the urgent saddle pattern.
_GROIN = (
    r"(?:groin|saddle|crotch|genitals?|genital area|between my legs|inner thighs?|perine\w*|"
    r"private)"
)

_PATTERNS: dict[RedFlag, tuple[str, ...]] = {
    RedFlag.SADDLE_NUMBNESS: (
        rf"{_NUMB}\W+(?:\w+\W+){{0,4}}{_GROIN}",
        rf"{_GROIN}\W+(?:\w+\W+){{0,4}}{_NUMB}",
        r"\bsaddle\b",
    ),
    RedFlag.BLADDER_BOWEL: (
        r"\bbladder\b",
        r"\bbowels?\b",
        r"\bincontinen\w*",
        r"\b(?:wet|soiled) myself\b",
        r"\bcan'?t (?:pee|wee|urinate)\b",
        r"\b(?:trouble|problems?|difficulty) (?:peeing|weeing|urinating)\b",
        r"\b(?:lost|losing|no) control of my (?:bladder|bowels?|pee|wee)\b",
    ),
    RedFlag.SEXUAL_DYSFUNCTION: (
        r"\berect(?:ion|ile)\b",
        r"\bimpoten\w*",
        r"\bsexual (?:problems?|dysfunction|function)\b",
    ),
    # "Both legs" alone is everyday exercise talk ("10 on both legs"): it needs a symptom
    # in the same clause, or the radiating "down both legs".
    RedFlag.BOTH_LEGS: (
        rf"{_LEG_SYMPTOM}[^.;!?,]{{0,40}}\bboth (?:legs|thighs|calves|feet)\b",
        rf"\bboth (?:legs|thighs|calves|feet)\b[^.;!?,]{{0,40}}{_LEG_SYMPTOM}",
        r"\bdown (?:both|my two|two|2) legs\b",
    ),
    RedFlag.PROGRESSIVE_WEAKNESS: (
        r"\blegs? (?:is |are |keeps? )?(?:getting |growing )?(?:weaker|giving way|gave way)\b",
        r"\bfoot drop\b",
        r"\bcan'?t lift my (?:foot|feet|toes|leg)\b",
        r"\b(?:weakness|weak) in (?:my )?(?:legs?|feet|foot)\b",
    ),
    RedFlag.NUMBNESS_TINGLING: (_NUMB,),
    RedFlag.TRAUMA: (
        r"\bfell\b(?! (?:asleep|behind|for|in love|off the wagon))",
        r"\b(?:a|had a|bad|nasty) fall\b",
        r"\bfallen\b(?! (?:asleep|behind))",
        r"\b(?:car|bike|cycling|skiing|work) (?:accident|crash)\b",
        r"\bcrashed\b",
        r"\bhit by\b",
        r"\bbroke(?:n)? (?:a |my )?(?:bone|hip|leg|back|pelvis)\b",
        r"\bfracture\w*",
    ),
    RedFlag.FEVER: (r"\bfever\w*", r"\bchills\b", r"\bhigh temperature\b", r"\bnight sweats?\b"),
    RedFlag.WEIGHT_LOSS: (
        r"\b(?:unexplained|unexpected|unintentional|sudden) weight loss\b",
        r"\b(?:lost|losing) (?:a lot of )?weight (?:without (?:trying|dieting)|for no reason)\b",
    ),
    RedFlag.NIGHT_PAIN: (
        r"\bnight pain\b",
        r"\bpain (?:at|during the) night\b",
        r"\b(?:pain|it) (?:wakes|woke|keeps) me (?:up|awake)\b",
        r"\bcan'?t sleep (?:for|because of|with) (?:the )?pain\b",
    ),
    RedFlag.CANCER_HISTORY: (
        r"\bcancer\b",
        r"\btumou?rs?\b",
        r"\bchemo\w*",
        r"\bradiotherapy\b",
        r"\boncolog\w*",
    ),
    RedFlag.WEAK_IMMUNE_SYSTEM: (
        r"\bimmunosuppress\w*",
        r"\b(?:weak|weakened|low) immune system\b",
        r"\borgan transplant\b",
    ),
}

_COMPILED = {
    flag: tuple(re.compile(p, re.IGNORECASE) for p in patterns)
    for flag, patterns in _PATTERNS.items()
}

# A negation right before a phrase, with only filler words between ("no numbness", "haven't
# had any trouble with my bladder"), cancels it within its clause; "I don't know why my groin
# went numb" and "no fever but a numb groin" still count.
_FILLER = (
    r"(?:any|anything|at|all|a|an|the|my|of|in|with|around|more|new|real|really|sign|signs|"
    r"problem|problems|trouble|issue|issues|change|changes|have|had|got|get|getting|feel|felt|"
    r"notice|noticed|like)"
)
_NEGATION = re.compile(
    r"\b(?:no|not|never|without|nor|none|zero|don'?t|doesn'?t|didn'?t|haven'?t|hasn'?t|"
    rf"isn'?t|aren'?t|wasn'?t)(?:\W+{_FILLER})*\W*$",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[.;!?,\n]|\b(?:but|although|though|however|except)\b", re.IGNORECASE)


@dataclass(frozen=True)
class RedFlagScan:
    """What a scan found: the flags, and whether any needs a clinician today."""

    flags: frozenset[RedFlag]

    @property
    def urgent(self) -> bool:
        return bool(self.flags & URGENT_FLAGS)

    def __bool__(self) -> bool:
        return bool(self.flags)


def scan_red_flags(text: str) -> RedFlagScan:
    """Find red-flag phrases in free text (case-insensitive, ignoring plainly negated ones)."""
    text = _normalise(text)
    found = {
        flag for flag, patterns in _COMPILED.items() if any(_affirmed(p, text) for p in patterns)
    }
    if RedFlag.SADDLE_NUMBNESS in found:
        found.discard(RedFlag.NUMBNESS_TINGLING)  # the urgent reading covers it
    return RedFlagScan(frozenset(found))


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'")


def _affirmed(pattern: re.Pattern[str], text: str) -> bool:
    for match in pattern.finditer(text):
        before = text[: match.start()]
        breaks = list(_CLAUSE_BREAK.finditer(before))
        clause = before[breaks[-1].end() :] if breaks else before
        if not _NEGATION.search(clause):
            return True
    return False


def is_urgent(flags: Iterable[RedFlag]) -> bool:
    """True when any of these flags means "see someone today"."""
    return any(flag.urgent for flag in flags)


def referral_lines(flags: Iterable[RedFlag]) -> tuple[str, ...]:
    """What the bot says when flags are present: plain, kind, no diagnosis."""
    flags = frozenset(flags)
    if not flags:
        return ()
    said = ", ".join(FLAG_WORDS[f] for f in sorted(flags, key=list(RedFlag).index))
    if is_urgent(flags):
        return (
            f"You mentioned {said}. That needs a doctor today, not tomorrow.",
            "Please call your doctor or an urgent care line now, or go to an emergency "
            "department if it is getting worse.",
            "I'm pausing the exercises. Tell me when you've been checked and cleared.",
        )
    lines = [
        f"You mentioned {said}. That's worth showing a doctor or physiotherapist before we train.",
        "Please book a check-up. Until then I'll pause the exercises.",
    ]
    if RedFlag.NUMBNESS_TINGLING in flags:
        # A "numb bum" can be saddle numbness: say when it cannot wait.
        lines.append(
            "If the numbness is around your groin or between your legs, or comes with new "
            "bladder or bowel trouble, don't wait: see a doctor today."
        )
    lines.append("When a clinician says you're good to go, tell me and we'll start gently.")
    return tuple(lines)
