"""Reading typed reports: the corpus, the buttons that settle a doubt, and hostile input."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.reporting.parse import (
    MAX_VALUE_CHARS,
    NOTHING,
    PAIN,
    REPS,
    SETS,
    NotAReport,
    Parsed,
    Reading,
    Unclear,
    Understood,
    apply_choice,
    parse_report,
)
from content.vocabulary import FeltIn
from tests.unit.report_corpus import CORPUS, ISSUE_FORMS, Asks, Declines, Reads

SPELLED = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
]  # fmt: skip


def check_shape(result: Parsed) -> None:
    """What every answer promises, whatever the input."""
    if isinstance(result, Understood):
        check_reading(result.reading)
        assert result.reading != Reading(), "an empty reading is not a report"
    elif isinstance(result, Unclear):
        assert result.question.strip()
        assert len(result.choices) >= 2
        check_reading(result.reading)
        for label, value in result.choices:
            assert label.strip()
            assert 0 < len(value) <= MAX_VALUE_CHARS
            folded = apply_choice(result.reading, value)
            assert (folded is None) == (value == NOTHING), value
            if folded is not None:
                check_reading(folded)
    else:
        assert isinstance(result, NotAReport)
        assert result.hint.strip()


def check_reading(reading: Reading) -> None:
    assert reading.reps is None or reading.reps in REPS
    assert reading.sets is None or reading.sets in SETS
    assert reading.pain is None or reading.pain in PAIN
    assert reading.felt_in is None or isinstance(reading.felt_in, FeltIn)


# ---- the corpus --------------------------------------------------------------------------


@pytest.mark.parametrize(("message", "expected"), CORPUS, ids=[repr(m)[:40] for m, _ in CORPUS])
def test_corpus_reads_as_expected(message: str, expected: Reads | Asks | Declines) -> None:
    result = parse_report(message)
    check_shape(result)
    if isinstance(expected, Reads):
        assert result == Understood(expected.reading)
    elif isinstance(expected, Asks):
        assert isinstance(result, Unclear), result
        assert {value for _, value in result.choices} == expected.values
        assert result.reading == expected.reading
    else:
        assert result == NotAReport(expected.hint)


def test_corpus_is_big_and_covers_the_issue() -> None:
    messages = [m for m, _ in CORPUS]
    assert len(messages) >= 80
    assert len(set(messages)) == len(messages), "no message twice"
    assert set(ISSUE_FORMS) <= set(messages)
    kinds = {type(e) for _, e in CORPUS}
    assert kinds == {Reads, Asks, Declines}


FIELDS = {"reps": "reps", "sets": "sets", "pain": "pain", "side": "per_side", "done": "done"}


def test_every_button_in_the_corpus_settles_its_question() -> None:
    """Pressing a button gives the partial reading with the chosen facts filled in."""
    for message, _ in CORPUS:
        result = parse_report(message)
        if not isinstance(result, Unclear):
            continue
        for _, value in result.choices:
            folded = apply_choice(result.reading, value)
            if value == NOTHING:
                assert folded is None
                continue
            assert folded is not None, (message, value)
            for part in value.split(","):
                key, _, raw = part.partition("=")
                if key == "felt":
                    assert folded.felt_in == FeltIn(raw), (message, value)
                else:
                    assert getattr(folded, FIELDS[key]) == int(raw), (message, value)


# ---- rules, checked across their whole range ---------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 9, 50, 100])
def test_bare_numbers_up_to_100_are_reps(n: int) -> None:
    assert parse_report(str(n)) == Understood(Reading(reps=n))


@pytest.mark.parametrize("n", [101, 250, 500])
def test_bare_numbers_above_100_are_checked(n: int) -> None:
    result = parse_report(str(n))
    assert isinstance(result, Unclear)
    assert (f"Yes, {n} reps", f"reps={n}") in result.choices


@pytest.mark.parametrize("n", [501, 1000, 10**30])
def test_implausible_counts_are_not_reports(n: int) -> None:
    assert isinstance(parse_report(f"{n} reps"), NotAReport)
    assert isinstance(parse_report(str(n)), NotAReport)


@given(st.integers(1, 500), st.sampled_from(["reps", "rep", "REPS", "reps.", "reps!"]))
def test_counted_reps_are_read(n: int, word: str) -> None:
    assert parse_report(f"{n} {word}") == Understood(Reading(reps=n))


@given(st.integers(0, 10), st.sampled_from(["pain {}", "p{}", "pain: {}", "{}/10", "pain {}/10"]))
def test_pain_is_read_in_every_spelling(p: int, form: str) -> None:
    text = form.format(p)
    if text == "10/10":
        return  # asks on purpose: often means "great"
    assert parse_report(text) == Understood(Reading(pain=p))


@given(st.integers(11, 10**6))
def test_pain_above_ten_asks_for_the_scale(p: int) -> None:
    result = parse_report(f"pain {p}")
    assert isinstance(result, Unclear)
    assert [value for _, value in result.choices] == [f"pain={n}" for n in range(11)]


@given(st.integers(1, 20), st.integers(1, 500))
def test_sets_by_reps(sets: int, reps: int) -> None:
    result = parse_report(f"{sets}x{reps}")
    if sets <= reps:
        assert result == Understood(Reading(reps=reps, sets=sets))
    else:  # "10x3" could be either way round
        assert isinstance(result, Unclear)
        assert f"reps={reps},sets={sets}" in {v for _, v in result.choices}
    assert parse_report(f"{sets} sets of {reps}") == Understood(Reading(reps=reps, sets=sets))


@pytest.mark.parametrize(("word", "n"), [(w, n) for n, w in enumerate(SPELLED) if n])
def test_spelled_numbers_to_twenty(word: str, n: int) -> None:
    assert parse_report(f"did {word}") == Understood(Reading(reps=n))
    assert parse_report(f"{word.title()} reps, no pain") == Understood(Reading(reps=n, pain=0))


@pytest.mark.parametrize(
    "message", ["no pain", "No pain at all.", "painless", "pain free", "didn't hurt", "0 pain"]
)
def test_no_pain_means_zero(message: str) -> None:
    assert parse_report(message) == Understood(Reading(pain=0))


def test_two_bare_numbers_never_become_a_guess() -> None:
    for a in range(1, 21):
        for b in range(1, 11):
            result = parse_report(f"{a} {b}")
            assert not isinstance(result, Understood), (a, b)


# ---- apply_choice ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("reps=12", Reading(reps=12, pain=1)),
        ("reps=12,sets=3", Reading(reps=12, sets=3, pain=1)),
        ("pain=0", Reading(pain=0)),
        ("side=1", Reading(per_side=True, pain=1)),
        ("done=1", Reading(done=True, pain=1)),
        ("felt=front_of_hip", Reading(pain=1, felt_in=FeltIn.FRONT_OF_HIP)),
    ],
)
def test_apply_choice_fills_in_the_answer(value: str, expected: Reading) -> None:
    assert apply_choice(Reading(pain=1), value) == expected


@pytest.mark.parametrize(
    "value",
    [
        NOTHING,
        "",
        "reps",
        "reps=",
        "reps=0",
        "reps=501",
        "sets=21",
        "pain=11",
        "pain=-1",
        "pain=²",
        "reps=12,reps=3",
        "felt=elbow",
        "side=2",
        "admin=1",
        "reps=1" + "0" * 30,
        "reps=500,sets=20,pain=10",  # each part fine, but longer than any value we make
        "'; DROP TABLE users; --",
    ],
)
def test_apply_choice_refuses_what_it_did_not_make(value: str) -> None:
    assert apply_choice(Reading(), value) is None


# ---- hostile and odd input ---------------------------------------------------------------

HOSTILE = [
    "'; DROP TABLE users; --",
    "<script>alert('x')</script>",
    "{{7*7}}",
    "${7*7}",
    "%s%n%x%d",
    "\x00\x00\x00",
    "12\x00reps",
    "\u202e12 reps",
    "🏳️‍🌈" * 50,
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇" * 20,
    "999999999999999999999 reps",
    "9" * 4096,
    "-" * 4096,
    "\ufdfa" * 4096,  # one character that NFKC turns into eighteen
    "\ud800",  # a lone surrogate
    "a" * 5000,
]


@pytest.mark.parametrize("message", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_gets_an_answer(message: str) -> None:
    check_shape(parse_report(message))


ADVERSARIAL = {
    "digits": "1 " * 2048,
    "crosses": "1x" * 2048,
    "ranges": "1-" * 2048,
    "fractions": "3/" * 2048,
    "decimals": "1." * 2048,
    "pain words": "pain " * 819,
    "negations": "no " * 1000 + "pain " * 400,
    "numbness": "no " * 1000 + "numb " * 400,
    "numb clauses": "numb, a, " * 455,
    "apostrophes": "a'" * 2048,
    "body parts": "not in my back of my " * 200,
    "mixed": "12 reps pain 3 each side 3x10 ✅ hips " * 100,
    "emoji": "👍" * 4096,
    "brackets": "a(1" * 1365,
}


@pytest.mark.parametrize("message", list(ADVERSARIAL.values()), ids=list(ADVERSARIAL))
def test_long_adversarial_input_stays_fast(message: str) -> None:
    message = message[:4096]
    started = time.perf_counter()
    check_shape(parse_report(message))
    assert time.perf_counter() - started < 0.5


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=4096))
def test_any_text_gets_an_answer(message: str) -> None:
    check_shape(parse_report(message))


KEYWORDS = [
    "reps", "rep", "sets", "set", "of", "x", "×", "*", "/", "-", ".", ",", ":", ";", "?", "!",
    "out", "pain", "p", "hurts", "sore", "no", "not", "didn't", "each", "side", "per", "leg",
    "left", "right", "l", "r", "both", "done", "did", "it", "✅", "👍", "felt", "in", "my",
    "glutes", "lower", "back", "hamstrings", "hips", "knee", "numb", "tingling", "yes", "ok",
    "hello", "thanks", "at", "pm", "times", "a", "bit", "mostly",
]  # fmt: skip
PIECES = st.one_of(
    st.integers(-5, 1000).map(str),
    st.sampled_from(SPELLED),
    st.sampled_from(KEYWORDS),
    st.text(max_size=4),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=12), st.sampled_from([" ", "", ", "]))
def test_mixtures_of_numbers_and_keywords_get_a_sound_answer(pieces: list[str], glue: str) -> None:
    check_shape(parse_report(glue.join(pieces)))
