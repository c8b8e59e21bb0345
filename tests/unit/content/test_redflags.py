"""Red-flag scanning of free text: what it catches, what it lets pass, and what is urgent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from content.redflags import (
    URGENT_FLAGS,
    RedFlag,
    is_urgent,
    referral_lines,
    scan_red_flags,
)

CATCHES = [
    ("My groin has gone numb since Tuesday", RedFlag.SADDLE_NUMBNESS),
    ("numbness between my legs when I sit", RedFlag.SADDLE_NUMBNESS),
    ("I can't feel my inner thighs properly", RedFlag.SADDLE_NUMBNESS),
    ("some tingling in the saddle area", RedFlag.SADDLE_NUMBNESS),
    ("I've had trouble peeing since the weekend", RedFlag.BLADDER_BOWEL),
    ("new bladder problems", RedFlag.BLADDER_BOWEL),
    ("my bowels feel off", RedFlag.BLADDER_BOWEL),
    ("I wet myself on the stairs", RedFlag.BLADDER_BOWEL),
    ("problems getting an erection lately", RedFlag.SEXUAL_DYSFUNCTION),
    ("the pain shoots down both legs", RedFlag.BOTH_LEGS),
    ("my legs are getting weaker every day", RedFlag.PROGRESSIVE_WEAKNESS),
    ("my left leg keeps giving way", RedFlag.PROGRESSIVE_WEAKNESS),
    ("I can't lift my foot properly", RedFlag.PROGRESSIVE_WEAKNESS),
    ("pins and needles in my right foot", RedFlag.NUMBNESS_TINGLING),
    ("my bum goes numb when I sit all day", RedFlag.NUMBNESS_TINGLING),
    ("I fell off my bike yesterday", RedFlag.TRAUMA),
    ("had a bad fall on the ice", RedFlag.TRAUMA),
    ("car accident last month", RedFlag.TRAUMA),
    ("I've got a fever", RedFlag.FEVER),
    ("chills and aching all over", RedFlag.FEVER),
    ("losing weight without trying", RedFlag.WEIGHT_LOSS),
    ("unexplained weight loss this year", RedFlag.WEIGHT_LOSS),
    ("the pain wakes me up at 3am", RedFlag.NIGHT_PAIN),
    ("night pain that won't go", RedFlag.NIGHT_PAIN),
    ("I can't sleep because of the pain", RedFlag.NIGHT_PAIN),
    ("I had breast cancer five years ago", RedFlag.CANCER_HISTORY),
    ("finished chemo in spring", RedFlag.CANCER_HISTORY),
    ("I'm on immunosuppressants", RedFlag.WEAK_IMMUNE_SYSTEM),
    ("MY GROIN IS NUMB", RedFlag.SADDLE_NUMBNESS),
    ("I can\u2019t feel my groin", RedFlag.SADDLE_NUMBNESS),
]

LETS_PASS = [
    "Did 10 bridges, felt it in my glutes!",
    "No numbness, no tingling, just tight hamstrings",
    "I don't have any numbness",
    "haven't had any trouble with my bladder",
    "I fell asleep at my desk again",
    "It's not my bladder, it's my lower back",
    "Never had cancer",
    "sore glutes this morning, 2/10",
    "I'm trying to lose weight",
    "both glutes worked today",
    "",
]


@pytest.mark.parametrize(("text", "flag"), CATCHES)
def test_catches(text: str, flag: RedFlag) -> None:
    assert flag in scan_red_flags(text).flags


@pytest.mark.parametrize("text", LETS_PASS)
def test_lets_everyday_messages_pass(text: str) -> None:
    scan = scan_red_flags(text)
    assert not scan and not scan.flags and not scan.urgent


def test_negation_stays_in_its_clause() -> None:
    scan = scan_red_flags("no fever, but my groin is numb")
    assert scan.flags == {RedFlag.SADDLE_NUMBNESS} and scan.urgent


def test_a_negation_that_is_not_about_the_symptom_does_not_hide_it() -> None:
    assert scan_red_flags("I don't know why my groin went numb").urgent


def test_saddle_numbness_is_not_also_reported_as_plain_numbness() -> None:
    assert scan_red_flags("numb groin").flags == {RedFlag.SADDLE_NUMBNESS}


def test_urgency() -> None:
    assert scan_red_flags("pain down both legs").urgent
    assert not scan_red_flags("I had a fall").urgent
    assert is_urgent([RedFlag.FEVER, RedFlag.BLADDER_BOWEL])
    assert not is_urgent([RedFlag.FEVER])
    assert {
        RedFlag.SADDLE_NUMBNESS,
        RedFlag.BLADDER_BOWEL,
        RedFlag.SEXUAL_DYSFUNCTION,
        RedFlag.BOTH_LEGS,
        RedFlag.PROGRESSIVE_WEAKNESS,
    } == URGENT_FLAGS


def test_referral_lines_are_plain_and_never_diagnose() -> None:
    urgent = " ".join(referral_lines([RedFlag.SADDLE_NUMBNESS]))
    assert "today" in urgent and "groin" in urgent
    routine = " ".join(referral_lines([RedFlag.FEVER]))
    assert "today" not in routine and "check-up" in routine
    for flag in RedFlag:
        text = " ".join(referral_lines([flag])).lower()
        assert "cauda" not in text and "syndrome" not in text and "diagnos" not in text
    assert referral_lines([]) == ()


URGENT_PHRASES = {
    "my groin is numb": RedFlag.SADDLE_NUMBNESS,
    "I can't control my bladder": RedFlag.BLADDER_BOWEL,
    "pain down both legs": RedFlag.BOTH_LEGS,
    "my legs are getting weaker": RedFlag.PROGRESSIVE_WEAKNESS,
}


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(max_size=80),
    after=st.text(max_size=80),
    phrase=st.sampled_from(sorted(URGENT_PHRASES)),
)
def test_an_urgent_sentence_is_found_in_any_message(before: str, after: str, phrase: str) -> None:
    scan = scan_red_flags(f"{before}. {phrase}. {after}")
    assert URGENT_PHRASES[phrase] in scan.flags and scan.urgent


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_never_crashes_and_urgent_means_an_urgent_flag(text: str) -> None:
    scan = scan_red_flags(text)
    assert scan.urgent == bool(scan.flags & URGENT_FLAGS)


def test_plain_numbness_referral_still_says_when_it_is_urgent() -> None:
    scan = scan_red_flags("my bum goes numb after sitting all day")
    assert not scan.urgent
    text = " ".join(referral_lines(scan.flags))
    assert "groin" in text and "see a doctor today" in text
    assert "see a doctor today" not in " ".join(referral_lines([RedFlag.FEVER]))


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("did 10 on both legs", False),
        ("bridges with both legs, no pain", False),
        ("10 reps, both legs felt fine", False),
        ("pain down both legs", True),
        ("tingling in both legs", True),
        ("both legs tingle since monday", True),
        ("shooting pain in both legs", True),
    ],
)
def test_both_legs_needs_a_symptom_not_just_the_words(text: str, flagged: bool) -> None:
    assert (RedFlag.BOTH_LEGS in scan_red_flags(text).flags) is flagged
