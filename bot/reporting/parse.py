"""Read a typed report ("3x10, pain 2, felt it in my glutes") into facts, never guesses.

`parse_report(text)` gives one of three answers:

- `Understood(reading)`: what the message said, nothing filled in;
- `Unclear(question, choices, reading)`: the message could mean more than one thing, so the
  bot asks with buttons; `apply_choice(reading, value)` folds the pressed value into the
  partial `reading` (which holds only what was already certain);
- `NotAReport(hint)`: chat, a question, or nothing that can be logged, with a line back.

A choice value is "key=value" pairs joined by "," (keys reps, sets, pain, side=0/1, done=1,
felt=<FeltIn value>), at most 20 characters, or `NOTHING` ("none of these": ask again).
Parsing is deterministic, so the bot may keep just the text and parse it again on a tap.

Rules for messages that could go more than one way:

- A bare number 1..100 is reps (the nudge asked for reps). 101..500 on its own, or a number
  followed by an unknown plural ("2 kids"), is checked with a yes/no question. Above 500, or
  negative, it is no count anyone did: NotAReport with a hint. A bare 0 asks "no pain, or
  didn't do it?".
- A bare number 0..10 in a message that talks about pain ("hurts a bit, 4") is the pain.
- "N/10" and "N out of 10" are pain, except "10/10" with no pain word (often means "great"),
  which asks. "N/M" for any other M is N reps done of M; "pain 3/5" asks for 0 to 10.
- Three or more bare numbers ask "3 sets of 10?" when they could be one per set ("10, 10,
  10"); otherwise they are too muddled to read.
- Two bare numbers ("12 3") always ask: 12 reps with pain 3, or 3 sets of 12. With a pain word
  and only one way to read them ("12 ... sore 4"), that reading is taken.
- "AxB" is A sets of B when A <= B; "10x3" could be either way round, so it asks, unless a
  unit after B says which ("10x3 sets") or only one way is in range ("30x2").
- "N times" is reps, or sets when reps are given too; after "did it" or "done" it asks.
- "8 of 10", "6 out of 10 reps", "8 instead of 10" are reps done; "at 3pm", "2 minutes",
  "day 3" and "30 seconds" are neither reps nor pain.
- A range or a decimal ("8-10", "2 or 3", "2.5") asks which end. Two different values for one
  thing ("12 reps ... 10 reps") ask which.
- Pain above 10 ("pain 15") asks for a number from 0 to 10. A pain word without a number
  ("a bit sore") asks how much, 0 to 10.
- "each side", "per leg", "10/side" are per side; "both sides" and a lone "10 each" ask.
- A body part is where it was felt unless negated ("not in my back"); two parts, or a vague
  one ("hip", "thigh"), ask; "mostly in X" settles it.
- "yes" or "ok" alone asks whether the exercise was done.
- Clauses about numbness or tingling (found with `content.scan_red_flags`) are left out: they
  are not a report, and the bot handles red flags separately.
- A message that starts with a question word and has a "?" is a question, not a report.

Fast by construction: one tokenising regex with no nested repeats, then passes over the
tokens that each look a bounded distance ahead or back; input is cut at 4096 characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from content.redflags import RedFlag, scan_red_flags
from content.vocabulary import FeltIn

REPS = range(1, 501)
SETS = range(1, 21)
PAIN = range(0, 11)
BARE_REPS = range(1, 101)  # a number this size, alone after a nudge, is its reps
MAX_CHARS = 4096  # Telegram's limit for one message; more is not a person typing
MAX_VALUE_CHARS = 20  # choice values ride in callback data beside the bot's own prefix
NOTHING = "none"  # choice value for "none of these": nothing to log, ask them to retype


@dataclass(frozen=True)
class Reading:
    """What a message says; every part optional."""

    reps: int | None = None  # per set when sets are given, 1..500
    sets: int | None = None  # 1..20
    per_side: bool = False
    done: bool = False
    pain: int | None = None  # 0..10 during the exercise
    felt_in: FeltIn | None = None

    @property
    def empty(self) -> bool:
        """True when the message said nothing that can be logged."""
        return self == Reading()


@dataclass(frozen=True)
class Understood:
    """A report read with certainty."""

    reading: Reading


@dataclass(frozen=True)
class Unclear:
    """A short question with (label, value) buttons, and what was already certain."""

    question: str
    choices: tuple[tuple[str, str], ...]
    reading: Reading


@dataclass(frozen=True)
class NotAReport:
    """Not something to log, with a friendly line to send back."""

    hint: str


Parsed = Understood | Unclear | NotAReport

HINT_GENERIC = 'To log your exercise, tell me what you did and how it felt, like "12 reps, pain 2".'
HINT_GREETING = 'Hi! After an exercise, tell me how it went, like "10 reps, no pain".'
HINT_THANKS = 'You\'re welcome! After your next exercise, send something like "8 reps, pain 1".'
HINT_QUESTION = (
    'I can only read exercise reports here. After a nudge, send something like "12 reps, pain 2".'
)
HINT_NOT_DONE = 'No problem. Whenever you get to it, tell me how it went, like "12 reps, pain 2".'
HINT_TOO_BIG = 'That number looks off to me. Send what you did, like "12 reps" or "3x10".'
HINT_MUDDLED = 'I lost track of which number is which. Try something like "3x10, pain 2".'
HINT_FLAGGED = "Thank you for telling me."

# ---- vocabulary -----------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SPELLED_UNITS = {
    "zero": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_SPELLED_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "dozen": 12,
}  # fmt: skip
_SPELLED_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip

_PAIN_WORDS = _words(
    "pain pains painful hurt hurts hurting hurted sore soreness ache aches aching achy achey "
    "discomfort twinge twinges twingy tender uncomfortable ouch ow owie"
)
_NEGATORS = _words(
    "no not without never nothing none nope non didn't didnt doesn't doesnt don't dont "
    "wasn't wasnt isn't isnt hasn't hasnt haven't havent"
)
# Body words may sit between a negator and a pain word: "no knee pain".
_BODY_SINGLE = _words(
    "glute glutes gluteal gluteus butt bum buttock buttocks booty backside arse ass "
    "hamstring hamstrings hammies hammy quad quads quadriceps knee knees kneecap kneecaps "
    "lumbar psoas flexor flexors hip hips thigh thighs calf calves shin shins ankle ankles "
    "foot feet toes neck shoulder shoulders abs core stomach belly groin adductor adductors "
    "obliques arm arms wrist wrists back lower low"
)
_NOPAIN_FILLER = (
    _words(
        "any real really at all the a it i felt feel feeling have had was there major bad "
        "serious significant noticeable of my in"
    )
    | _BODY_SINGLE
)
_PAIN_TIGHT = frozenset([":", "=", "-", "was", "is", "at", "of", "level", "~"])
_PAIN_FILLER = _PAIN_TIGHT | _words(
    ", ( a bit little tad lot about around roughly approx approximately like maybe were only "
    "just slightly slight mild mildly kinda kind sort quite it score rating rated say i'd id "
    "prob probably max maximum abt rate the scale"
)
_REP_KEYWORDS = _words("rep reps repetition repetitions")
_REP_UNITS = _REP_KEYWORDS | _words(
    "stand stands squeeze squeezes step steps hold holds press presses lift lifts squat squats "
    "bridge bridges lunge lunges thrust thrusts raise raises clam clams clamshell clamshells "
    "kick kicks kickback kickbacks extension extensions hinge hinges deadlift deadlifts swing "
    "swings pulse pulses climber climbers ups bug bugs dog dogs"
)
_COUNT_ADJ = _words("more extra full whole slow good clean solid proper")  # "3 more sets"
_SET_UNITS = _words("set sets round rounds circuit circuits")
_TIMES = frozenset(["times", "time"])
_CROSS = frozenset(["x", "*", "by"])
_UNITS = _words(
    "min mins minute minutes sec secs second seconds s hour hours hr hrs h kg kgs kilo kilos "
    "lb lbs pound pounds km mi mile miles m meter meters metre metres cm mm am pm st nd rd th "
    "day days week weeks month months year years yr yrs % ° degree degrees percent cal kcal "
    "calories bpm k ml o'clock oclock"
)
_IGNORE_BEFORE = _words("at level day week # since until till number than target aim")
_DID_WORDS = _words(
    "did done managed got completed finished made hit only just about around roughly approx like"
)
_DID_FILLER = _words("about around like maybe only just roughly approx all the my")
_SIDE_NOUNS = frozenset(["side", "sides", "leg", "legs"])
_LEFT = frozenset(["left", "l"])
_RIGHT = frozenset(["right", "r"])
_DONE_WORDS = _words(
    "done finished complete completed nailed smashed crushed sorted ✅ 👍 ✔ ☑ 👌 💪 🙌 🎉 ✓"
)
_DID_OBJECTS = _words("it them that those this these all mine both everything the my em 'em")
_DONE_NEGATORS = _words(
    "not no nope never haven't havent hasn't hasnt didn't didnt isn't isnt wasn't wasnt"
)
_NOT_DONE_WORDS = _words(
    "skipped skip skipping missed miss forgot forget forgotten later tomorrow busy tonight "
    "soon postpone snooze"
)
_NOT_DONE_PAIRS = frozenset(
    [("not", "yet"), ("not", "today"), ("will", "do"), ("no", "time"), ("not", "now")]
)
_CANNOT = _words("didn't didnt couldn't couldnt can't cant cannot won't wont")
_ASSENT = _words("yes yep yeah yup ya yea ok okay k kk sure alright aye y")
_GREETINGS = _words(
    "hi hello hey hiya heya yo morning evening afternoon howdy sup hola greetings gm"
)
_THANKS = _words("thanks thank thx ty cheers ta tnx thankyou merci gracias danke")
_QUESTION_WORDS = _words(
    "what what's whats how how's why when where which who should can could is are do does "
    "will would shall am may"
)

_G, _LB, _H, _Q = FeltIn.GLUTES, FeltIn.LOWER_BACK, FeltIn.HAMSTRINGS, FeltIn.QUADS
_FH, _K, _O = FeltIn.FRONT_OF_HIP, FeltIn.KNEE, FeltIn.OTHER
_BODY: dict[str, frozenset[FeltIn]] = {
    **dict.fromkeys(
        _words("glute glutes gluteal gluteus butt bum buttock buttocks booty backside arse ass"),
        frozenset([_G]),
    ),
    **dict.fromkeys(_words("hamstring hamstrings hammies hammy"), frozenset([_H])),
    **dict.fromkeys(_words("quad quads quadriceps"), frozenset([_Q])),
    **dict.fromkeys(_words("knee knees kneecap kneecaps"), frozenset([_K])),
    "lumbar": frozenset([_LB]),
    **dict.fromkeys(_words("psoas flexor flexors"), frozenset([_FH])),
    **dict.fromkeys(["hip", "hips"], frozenset([_FH, _G])),
    **dict.fromkeys(["thigh", "thighs"], frozenset([_Q, _H])),
    **dict.fromkeys(
        _words(
            "calf calves shin shins ankle ankles foot feet toes neck shoulder shoulders abs core "
            "stomach belly groin adductor adductors obliques arm arms wrist wrists"
        ),
        frozenset([_O]),
    ),
}
_FELT_FILLER = _words(
    "feel felt feeling feels it them much in my the really at all anything any that there a "
    "lot of on too so very was were i even work working worked engage engaged activate "
    "activated fire firing fired"
)
_FELT_NEGATORS = _NEGATORS | _words("couldn't couldnt can't cant cannot barely hardly")
_PAIN_PLACE = _words("in on at my the around")  # "no pain in my knee"
_FELT_FINE = _words("fine ok okay good great happy quiet calm better alright relaxed")
_LINKS = _words("is was were are felt feels feel 's totally all")  # "knee was fine"
_FELT_MOSTLY = _words("mostly mainly most primarily more largely")
_UNSURE_BEFORE = _words("sure idea tell know dunno unsure clue")
_POSSESSIVE = _words("my the in your his her")
_NOT_NOUNS = _words("this thanks always plus guys lots less yes its was")

FELT_LABELS: dict[FeltIn, str] = {
    FeltIn.GLUTES: "Glutes",
    FeltIn.LOWER_BACK: "Lower back",
    FeltIn.HAMSTRINGS: "Back of thigh",
    FeltIn.QUADS: "Front of thigh",
    FeltIn.FRONT_OF_HIP: "Front of hip",
    FeltIn.KNEE: "Knee",
    FeltIn.OTHER: "Somewhere else",
    FeltIn.NOT_SURE: "Not sure",
}

# ---- text to tokens -------------------------------------------------------------------------

_SAME_AS = str.maketrans(
    {
        "\u00d7": "x", "\u2715": "x", "\u2716": "x", "\u0445": "x",  # ×, ✕, ✖, Cyrillic х
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'",
        "\u2044": "/", "\u2215": "/",
        "\ufe0f": None, "\u200d": None,  # emoji presentation selector and joiner
        **{chr(c): " " for c in range(32)},
        "\x7f": " ",
    }
)  # fmt: skip
_DIGITS = "0123456789"
# No nested repeats, so matching is linear in the length of the text.
_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+(?:'[^\W\d_]+)*|\S")
_CLAUSE = re.compile(r"([;!?\n]|[.,](?![0-9])|\b(?:but|though|although|however|except)\b)")
_SUBCLAUSE = re.compile(r"(\b(?:and|with|plus|then)\b)")
_NUMB = frozenset([RedFlag.NUMBNESS_TINGLING, RedFlag.SADDLE_NUMBNESS])


@dataclass(frozen=True)
class _Num:
    """A number as typed: exact when low == high, else a range or a decimal between two."""

    low: int
    high: int
    odd: bool = False  # negative or absurdly long: no count anyone did

    @property
    def exact(self) -> bool:
        return self.low == self.high and not self.odd

    def fits(self, allowed: range) -> bool:
        return not self.odd and self.low in allowed and self.high in allowed


@dataclass
class _Token:
    word: str  # the word or symbol; "" for a number
    num: _Num | None = None
    glued: bool = False  # no space before it
    used: bool = False  # a rule has read it
    nopain: bool = False  # the pain word of "no pain"


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold().translate(_SAME_AS)
    text = text[:MAX_CHARS]  # NFKC can make one character eighteen
    if not text.isascii():
        # Arabic-Indic and other decimal digits count as digits.
        text = "".join(
            str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in text
        )
    return text


def _drop_numbness(text: str) -> tuple[str, bool]:
    """The text without clauses about numbness or tingling, and whether any red flag showed."""
    scan = scan_red_flags(text)
    if not scan.flags & _NUMB:
        return text, bool(scan)
    flagged = True
    pieces = _CLAUSE.split(text)
    kept: list[str] = []
    for index, piece in enumerate(pieces):
        if index % 2 or not piece.strip():
            kept.append(piece)
            continue
        if not scan_red_flags(piece).flags & _NUMB:
            kept.append(piece)
            continue
        # Keep "12 reps and my foot went numb" down to "12 reps"; "pins and needles" splits
        # into parts that are clean alone, so then the whole clause goes.
        parts = _SUBCLAUSE.split(piece)
        numb = [i for i in range(0, len(parts), 2) if scan_red_flags(parts[i]).flags & _NUMB]
        if numb:
            kept.append(" ; ".join(parts[i] for i in range(0, len(parts), 2) if i not in numb))
        else:
            kept.append(" ; ")
    return "".join(kept), flagged


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    end = -1
    for match in _TOKEN.finditer(text):
        piece = match.group()
        glued = match.start() == end
        end = match.end()
        if piece[0] in _DIGITS:
            digits = piece.lstrip("0") or "0"
            long = len(digits) > 6  # also keeps int() away from huge digit strings
            value = 10**6 if long else int(digits)
            tokens.append(_Token("", _Num(value, value, odd=long), glued))
        else:
            tokens.append(_Token(piece, None, glued))
    return _negatives(_ranges(_decimals(_spelled(tokens))))


def _word(tokens: list[_Token], i: int) -> str:
    return tokens[i].word if 0 <= i < len(tokens) else ""


def _number(value: int, like: _Token) -> _Token:
    return _Token("", _Num(value, value), like.glued)


def _spelled(tokens: list[_Token]) -> list[_Token]:
    """Spelled numbers to numbers: "twelve", "twenty-one"; "one" only where it counts."""
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        word = token.word
        if word in _SPELLED_TENS:
            value = _SPELLED_TENS[word]
            j = i + 1 + (_word(tokens, i + 1) == "-")
            unit = _SPELLED_UNITS.get(_word(tokens, j), 0)
            if unit:
                value += unit
                i = j
            out.append(_number(value, token))
        elif word in _SPELLED_TEENS or (word in _SPELLED_UNITS and word != "one"):
            out.append(_number(_SPELLED_TEENS.get(word, _SPELLED_UNITS.get(word, 0)), token))
        elif word == "one" and _one_counts(tokens, i):
            out.append(_number(1, token))
        else:
            out.append(token)
        i += 1
    return out


def _one_counts(tokens: list[_Token], i: int) -> bool:
    """ "one" is a count in "did one", "one rep", "pain one", not in "one side" or "one more"."""
    before, after = _word(tokens, i - 1), _word(tokens, i + 1)
    counters = _DID_WORDS | _PAIN_WORDS | {"x", "of", "/", ":", "=", "p"}
    units = _REP_UNITS | _SET_UNITS | _TIMES | {"x", "/", "out", "pain", "each", "per"}
    return len(tokens) == 1 or before in counters or after in units


def _decimals(tokens: list[_Token]) -> list[_Token]:
    """ "2.5" becomes a number between 2 and 3; "3:30" is a clock time, read as nothing."""
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if (
            token.num is not None
            and i + 2 < len(tokens)
            and tokens[i + 1].word in (".", ":")
            and tokens[i + 1].glued
            and tokens[i + 2].num is not None
            and tokens[i + 2].glued
        ):
            fraction = tokens[i + 2].num
            assert fraction is not None
            if tokens[i + 1].word == ":":
                out.append(_Token("<time>", None, token.glued, used=True))
            else:
                low = token.num.low
                high = low + (fraction.low > 0)
                out.append(_Token("", _Num(low, high, token.num.odd), token.glued))
            i += 3
            continue
        out.append(token)
        i += 1
    return out


def _ranges(tokens: list[_Token]) -> list[_Token]:
    """ "8-10", "8 to 10", "2 or 3" become one number between the two."""
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        second = tokens[i + 2].num if i + 2 < len(tokens) else None
        if (
            token.num is not None
            and second is not None
            and tokens[i + 1].word in ("-", "to", "or")
            and token.num.exact
            and second.exact
            and token.num.low < second.low <= token.num.low + 20
        ):
            out.append(_Token("", _Num(token.num.low, second.low), token.glued))
            i += 3
            continue
        out.append(token)
        i += 1
    return out


def _negatives(tokens: list[_Token]) -> list[_Token]:
    """ "-5" after a space is a negative number; "pain -3" and "10-12" are not."""
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            token.word == "-"
            and not token.glued
            and following is not None
            and following.num is not None
            and following.glued
            and not (out and (out[-1].num is not None or out[-1].word in _PAIN_WORDS | {"p"}))
        ):
            num = following.num
            out.append(_Token("", _Num(num.low, num.high, odd=True), token.glued))
            i += 2
            continue
        out.append(token)
        i += 1
    return out


# ---- reading the tokens ---------------------------------------------------------------------


class _Reader:
    """Passes over the tokens, each claiming what it recognises, in order of certainty."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.t = tokens
        self.reps: list[_Num] = []
        self.sets: list[_Num] = []
        self.pain: list[_Num] = []
        self.times: list[_Num] = []
        self.cross: list[tuple[_Num, _Num]] = []  # "10x3": could be either way round
        self.ten_of_ten = False
        self.scale_off = False  # pain given on a scale other than 0 to 10
        self.pain_word = False  # pain mentioned without a number
        self.pain_talk = False  # any pain word that is not "no pain"
        self.per_side = False
        self.side_ask = False
        self.each_alone = False
        self.left: list[_Num] = []
        self.right: list[_Num] = []
        self.done = False
        self.did_object = False  # "did it": the whole nudge, so "3 times" may be sets
        self.not_done = False
        self.assent = False
        self.felt: list[tuple[frozenset[FeltIn], bool]] = []  # candidates, said "mostly"
        self.felt_not: frozenset[FeltIn] = frozenset()  # "didn't feel it in my glutes"
        self.bare: list[tuple[_Num, bool]] = []  # leftovers; True when a plural noun follows

    def read(self) -> _Reader:
        self._units()
        self._no_pain()
        self.pain_talk = any(t.word in _PAIN_WORDS and not t.used for t in self.t)
        self._pain_numbers()
        self._fractions()
        self._ignored()
        self._sides()
        self._counts()
        self._done()
        self._felt()
        self._leftovers()
        return self

    # -- helpers

    def word(self, i: int) -> str:
        """The unused word at i, or "" (numbers, used tokens, out of range)."""
        if 0 <= i < len(self.t) and not self.t[i].used:
            return self.t[i].word
        return ""

    def num(self, i: int) -> _Num | None:
        """The unused number at i, or None."""
        if 0 <= i < len(self.t) and not self.t[i].used:
            return self.t[i].num
        return None

    def use(self, first: int, last: int) -> None:
        for i in range(max(first, 0), min(last, len(self.t) - 1) + 1):
            self.t[i].used = True

    def skip(self, i: int, words: frozenset[str], limit: int, step: int = 1) -> int:
        while limit and self.word(i) in words:
            i += step
            limit -= 1
        return i

    def free(self, i: int) -> bool:
        """The number at i is not followed by a unit that gives it another meaning."""
        if self.word(self.skip(i + 1, _COUNT_ADJ, 2)) in _REP_UNITS | _SET_UNITS | _TIMES:
            return False
        return not (self.word(i + 1) in _CROSS and self.num(i + 2) is not None)

    def count_before(self, i: int) -> bool:
        before = self.t[i - 1] if i > 0 else None
        if before is None:
            return False
        if before.num is not None:
            return True
        return before.word in _REP_UNITS and i > 1 and self.t[i - 2].num is not None

    # -- passes

    def _units(self) -> None:
        """Minutes, kilos, clock times and ordinals are not reps or pain."""
        for i, token in enumerate(self.t):
            if token.num is not None and self.word(i + 1) in _UNITS:
                self.use(i, i + 1)

    def _no_pain(self) -> None:
        for i, token in enumerate(self.t):
            word = self.word(i)
            if word == "painless":
                self._pain(_Num(0, 0), i, i)
            elif word in _PAIN_WORDS:
                j = i + 1 + (self.word(i + 1) == "-")
                k = self.skip(i + 1, frozenset([":", "=", "-", "was", "is"]), 2)
                negator = self.skip(i - 1, _NOPAIN_FILLER, 4, step=-1)
                if self.word(j) == "free" or self.word(k) in ("none", "no"):
                    self._pain(_Num(0, 0), i, max(j, k))
                elif self.word(negator) in _NEGATORS:
                    self._pain(_Num(0, 0), negator, i)
                    if self.word(i + 1) == "at" and self.word(i + 2) == "all":
                        self.use(i + 1, i + 2)
                else:
                    continue
                token.nopain = True

    def _pain(self, value: _Num, first: int, last: int) -> None:
        self.pain.append(value)
        self.use(first, last)

    def _pain_numbers(self) -> None:
        """ "pain 3", "p3", "hurts a bit, 4", "pain: 3 out of 10", "2 pain"."""
        for i in range(len(self.t)):
            word = self.word(i)
            if word == "p":
                j = self.skip(i + 1, frozenset([":", "="]), 1)
                found = self.num(j)
                if found is not None and self.free(j):
                    self._pain(found, i, j)
                    self._scale(j + 1)
                continue
            if word not in _PAIN_WORDS:
                continue
            j = self.skip(i + 1, _PAIN_FILLER, 4)
            tight = all(self.word(k) in _PAIN_TIGHT for k in range(i + 1, j))
            found = self.num(j)
            if found is not None and self.free(j) and (tight or found.high <= 10):
                self._pain(found, i, j)
                self._scale(j + 1)
                continue
            before = self.num(i - 1)
            denominator = i > 1 and self.t[i - 2].word in ("/", "of")  # "10/10 pain"
            if before is not None and before.high <= 10 and not before.odd and not denominator:
                self._pain(before, i - 1, i)
                continue
            self.pain_word = True
            self.use(i, i)

    def _scale(self, i: int) -> None:
        """After a pain number: "/10", "out of 10", "of 10"; any other scale asks again."""
        if self.word(i) == "/" or (self.word(i) == "of"):
            j = i + 1
        elif self.word(i) == "out" and self.word(i + 1) == "of":
            j = i + 2
        else:
            return
        scale = self.num(j)
        if scale is not None:
            self.use(i, j)
            self.scale_off = self.scale_off or scale != _Num(10, 10)

    def _fractions(self) -> None:
        """ "3/10" and "3 out of 10" are pain; "5/5" is reps done of reps asked."""
        for i in range(len(self.t)):
            n = self.num(i)
            if n is None:
                continue
            if self.word(i + 1) in ("/", "of"):
                end = i + 2
            elif self.word(i + 1) == "out" and self.word(i + 2) == "of":
                end = i + 3
            else:
                continue
            of = self.num(end)
            if of is None:
                continue
            after = self.word(end + 1)
            if after in _SET_UNITS:
                self.sets.append(n)
                end += 1
            elif after in _REP_UNITS or self.word(i - 1) in _DID_WORDS:
                self.reps.append(n)
                end += after in _REP_UNITS
            elif of == _Num(10, 10) and self.word(i + 1) != "of":  # "8 of 10" is reps done
                if n.exact and n.low == 10 and not self.pain_talk:
                    self.ten_of_ten = True
                else:
                    self.pain.append(n)
            elif n.exact and of.exact and 1 <= n.low <= of.low:
                self.reps.append(n)
            self.use(i, end)

    def _ignored(self) -> None:
        """ "at 3", "day 2", "instead of 10" on their own are not part of a report."""
        for i in range(len(self.t)):
            if self.num(i) is None:
                continue
            if self.word(i - 1) in _IGNORE_BEFORE:
                self.use(i - 1, i)
            elif self.word(i - 1) == "of" and self.word(i - 2) == "instead":
                self.use(i - 2, i)

    def _sides(self) -> None:
        for i in range(len(self.t)):
            word, following = self.word(i), self.word(i + 1)
            if word == "/" and following in _SIDE_NOUNS and self.count_before(i):
                self.per_side = True
                self.use(i, i + 1)
            elif word in ("each", "per", "every", "a") and following in _SIDE_NOUNS:
                if word != "a" or self.count_before(i):
                    self.per_side = True
                    self.use(i, i + 1)
            elif word == "both" and following in _SIDE_NOUNS | {"side"}:
                self.side_ask = True
                self.use(i, i + 1)
            elif word == "left" and following == "and" and self.word(i + 2) == "right":
                self.side_ask = True
                self.use(i, i + 2)
            elif word == "each" and i > 0 and self.t[i - 1].word == "on":
                self.per_side = True  # "did 10 on each"
                self.use(i - 1, i)
            elif word == "each" and following not in ("time", "day", "one", "other"):
                if self.count_before(i):
                    self.each_alone = True
                    self.use(i, i)
            elif word in _LEFT | _RIGHT:
                self._side_count(i, self.left if word in _LEFT else self.right)

    def _side_count(self, i: int, side: list[_Num]) -> None:
        """ "10 left", "left 10", "l10"; a lone "l" or "r" only when glued to the number."""
        short = len(self.t[i].word) == 1
        j = i + 1 if short else self.skip(i + 1, _words("side leg : -"), 2)  # "left side: 10"
        before, after = self.num(i - 1), self.num(j)
        if before is not None and (not short or self.t[i].glued) and self.free(i - 1):
            side.append(before)
            self.use(i - 1, i)
        elif after is not None and (not short or self.t[j].glued) and self.free(j):
            side.append(after)
            self.use(i, j)

    def _counts(self) -> None:
        """Sets, reps and "times", in all the ways people write them."""
        for i in range(len(self.t)):
            # "sets 2 reps 8", "reps: 12": a keyword first, unless a number owns it ("12 reps").
            word = self.word(i)
            if word in _SET_UNITS | _REP_KEYWORDS and self.num(i - 1) is None:
                j = self.skip(i + 1, frozenset([":", "=", "-"]), 1)
                found = self.num(j)
                if found is not None:
                    (self.sets if word in _SET_UNITS else self.reps).append(found)
                    self.use(i, j)
        for i in range(len(self.t)):
            n = self.num(i)
            if n is not None:
                self._count_from_number(i, n)
                continue
            word = self.word(i)
            if word == "x" and (found := self.num(i + 1)) is not None:
                self.times.append(found)
                self.use(i, i + 1)
            elif word in _DID_WORDS:
                j = self.skip(i + 1, _DID_FILLER, 3)
                found = self.num(j)
                if found is not None and self.free(j):
                    self.reps.append(found)
                    self.use(j, j)

    def _count_from_number(self, i: int, n: _Num) -> None:
        m = self.num(i + 2)
        k = self.skip(i + 1, _COUNT_ADJ, 2)  # the unit, past "more" or "slow"
        after = self.word(k)
        if self.word(i + 1) in _CROSS and m is not None:
            unit = self.word(i + 3)
            if unit in _REP_UNITS:
                self.sets.append(n)
                self.reps.append(m)
            elif unit in _SET_UNITS:
                self.reps.append(n)
                self.sets.append(m)
            else:
                self._cross(n, m)
            self.use(i, i + 2 + (unit in _REP_UNITS | _SET_UNITS))
        elif after in _SET_UNITS:
            self.sets.append(n)
            self.use(i, k)
            j = self.skip(k + 1, frozenset(["of", "x", "*", ",", ":", "-", "with", "and", "by"]), 2)
            reps = self.num(j)
            if reps is not None and self.word(j + 1) not in _SET_UNITS | _TIMES:
                self.reps.append(reps)
                self.use(j, j + (self.word(j + 1) in _REP_UNITS))
        elif after in _REP_UNITS:
            self.reps.append(n)
            self.use(i, k)
            sets = self.num(k + 2)
            if self.word(k + 1) in _CROSS and sets is not None:
                self.sets.append(sets)
                self.use(k + 1, k + 2 + (self.word(k + 3) in _SET_UNITS))
        elif self.word(i + 1) in _TIMES or (self.word(i + 1) == "x" and m is None):
            self.times.append(n)
            self.use(i, i + 1)

    def _cross(self, first: _Num, second: _Num) -> None:
        """ "3x10" is 3 sets of 10; "10x3" asks unless only one way round is in range."""
        as_written = first.fits(SETS) and second.fits(REPS)
        turned = first.fits(REPS) and second.fits(SETS)
        if as_written and first.high <= second.low:
            self.sets.append(first)
            self.reps.append(second)
        elif turned and not as_written:
            self.reps.append(first)
            self.sets.append(second)
        elif as_written and turned:
            self.cross.append((first, second))
        else:  # out of range either way: keep as written so the range check speaks
            self.sets.append(first)
            self.reps.append(second)

    def _done(self) -> None:
        for i in range(len(self.t)):
            word, following = self.word(i), self.word(i + 1)
            did_it = word == "did" and following in _DID_OBJECTS
            if word in _DONE_WORDS or did_it:
                if any(self.word(k) in _DONE_NEGATORS for k in (i - 1, i - 2)):
                    self.not_done = True
                else:
                    self.done = True
                    self.did_object = True  # "done x2" may be the whole nudge twice
            elif (
                word in _NOT_DONE_WORDS
                or (word in _CANNOT and following in ("do", "get", "manage", "have", "make"))
                or (word, following) in _NOT_DONE_PAIRS
            ):
                self.not_done = True
            elif word in _ASSENT:
                self.assent = True

    def _felt(self) -> None:
        i = 0
        while i < len(self.t):
            found = self._body_at(i)
            if found is None:
                i += 1
                continue
            where, end = found
            denial = "" if where == frozenset([FeltIn.NOT_SURE]) else self._denial(i, end, where)
            if not denial:
                self.felt.append((where, self._mostly(i, end)))
            elif denial == "not":
                self.felt_not |= where
            self.use(i, end)
            i = end + 1

    def _mostly(self, start: int, end: int) -> bool:
        """ "mostly glutes", "more in my glutes", "glutes more than hamstrings"."""
        before = [self.t[k].word for k in range(max(start - 3, 0), start)]
        after = [self.t[k].word for k in range(end + 1, min(end + 5, len(self.t)))]
        if "than" in after and not _FELT_MOSTLY.isdisjoint(after):
            return True
        return not _FELT_MOSTLY.isdisjoint(before) and "than" not in before

    def _body_at(self, i: int) -> tuple[frozenset[FeltIn], int] | None:
        """The body part named at i, if any: its possible places and its last token."""
        word = self.word(i)
        if not word:
            return None
        of = self.word(i + 1) == "of"
        j = self.skip(i + 2, frozenset(["my", "the", "your"]), 1) if of else i + 1
        target = self.word(j)
        if of and word == "back":
            if target in ("thigh", "thighs", "leg", "legs"):
                return frozenset([_H]), j
            if target in ("knee", "knees"):
                return frozenset([_K]), j
        if of and word == "front":
            if target in ("hip", "hips"):
                return frozenset([_FH]), j
            if target in ("thigh", "thighs", "leg", "legs"):
                return frozenset([_Q]), j
        if word in ("side", "outside", "outer") and target in ("hip", "hips", "bum", "butt"):
            return frozenset([_G]), j
        if word in ("inner", "outer") and target in ("thigh", "thighs"):
            return frozenset([_O]), j
        after = self.word(i + 1)
        if word in ("lower", "low") and after == "back":
            return frozenset([_LB]), i + 1
        if word in ("upper", "mid", "middle") and after == "back":
            return frozenset([_O]), i + 1
        if word == "hip" and after in ("flexor", "flexors"):
            return frozenset([_FH]), i + 1
        if word == "back":
            before = self.t[i - 1].word if i > 0 else ""
            return (frozenset([_LB]), i) if before in _POSSESSIVE and not of else None
        if word == "where" and i > 0 and self.t[i - 1].word in _UNSURE_BEFORE:
            return frozenset([FeltIn.NOT_SURE]), i
        if word in _BODY:
            return _BODY[word], i
        return None

    def _denial(self, start: int, end: int, where: frozenset[FeltIn]) -> str:
        """ "not": "not in my back", "couldn't feel my glutes"; "quiet": "no pain in my knee",
        "knee was fine"; "" when the place is affirmed."""
        k = self.skip(start - 1, _FELT_FILLER, 6, step=-1)
        if self.word(k) in _FELT_NEGATORS:
            return "not"
        k = self.skip(start - 1, _PAIN_PLACE, 3, step=-1)
        if 0 <= k < len(self.t) and self.t[k].nopain:
            return "quiet"
        if end + 1 < len(self.t) and self.t[end + 1].nopain:
            return "quiet"
        # "glutes felt great" is a good report; "back felt fine" means it stayed out of it.
        k = self.skip(end + 1, _LINKS, 3)
        return "quiet" if where != frozenset([_G]) and self.word(k) in _FELT_FINE else ""

    def _leftovers(self) -> None:
        for i, token in enumerate(self.t):
            if token.num is not None and not token.used and not self._embedded(i):
                following = self.word(i + 1)
                nouny = (
                    len(following) >= 4
                    and following.endswith("s")
                    and not following.endswith("ss")
                    and following.isalpha()
                    and following not in _NOT_NOUNS | _KNOWN
                )
                self.bare.append((token.num, nouny))

    def _embedded(self, i: int) -> bool:
        """A number inside a word or call, as in "mp3" or "alert(1)", counts nothing."""
        if not self.t[i].glued or i == 0:
            return False
        before = self.t[i - 1]
        if before.word[:1].isalpha():
            return True
        return (
            before.word in ("(", "[", "{", "<")
            and before.glued
            and i > 1
            and (self.t[i - 2].word[:1].isalpha())
        )


_KNOWN = (
    _PAIN_WORDS
    | _REP_UNITS
    | _SET_UNITS
    | _TIMES
    | _UNITS
    | _SIDE_NOUNS
    | frozenset(_BODY)
    | _NEGATORS
    | _DONE_WORDS
    | _ASSENT
    | _THANKS
    | _GREETINGS
)


# ---- deciding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ask:
    question: str
    choices: tuple[tuple[str, str], ...]


def parse_report(text: str) -> Parsed:
    """Read a typed report; ask when it could mean two things; never raise."""
    if not isinstance(text, str):
        return NotAReport(HINT_GENERIC)
    normal = _normalise(text)
    kept, flagged = _drop_numbness(normal)
    tokens = _tokenise(kept)
    words = [t.word for t in tokens if t.word]
    if "?" in words and words[0] in _QUESTION_WORDS:
        return NotAReport(HINT_QUESTION)
    reader = _Reader(tokens).read()
    return _conclude(reader, words, flagged)


def _conclude(r: _Reader, words: list[str], flagged: bool) -> Parsed:
    asks: list[_Ask] = []
    pending: set[str] = set()

    _settle_times(r, asks, pending)
    early = _settle_leftovers(r, asks, pending)
    if early is not None:
        return early
    early = _settle_sides(r, asks, pending)
    if early is not None:
        return early

    fields: dict[str, int] = {}
    for slot, nums, allowed in (("reps", r.reps, REPS), ("sets", r.sets, SETS)):
        if any(n.odd or n.high >= allowed.stop for n in nums):
            return NotAReport(HINT_TOO_BIG)
        if any(n.low == 0 for n in nums):
            return NotAReport(HINT_NOT_DONE)
        _settle_slot(slot, nums, fields, asks, pending)
    if r.cross:
        first, second = r.cross[0]
        pending |= {"reps", "sets"}
        fields.pop("reps", None)
        fields.pop("sets", None)
        if first.exact and second.exact:
            asks.insert(0, _ask_cross(first.low, second.low))
        else:
            return NotAReport(HINT_MUDDLED)

    if any(n.odd or n.high > 10 for n in r.pain) or r.scale_off:
        pending.add("pain")
        asks.append(_Ask("Pain goes from 0 (none) to 10 (worst). Which fits?", _pain_choices()))
    else:
        _settle_slot("pain", r.pain, fields, asks, pending)
    if r.ten_of_ten and "pain" not in fields and "pain" not in pending:
        pending.add("pain")
        choices = [(_label(pain=10), _value(pain=10))]
        if "reps" not in fields and "reps" not in pending:
            pending.add("reps")
            choices.insert(0, ("10 reps", _value(reps=10)))
        choices.append(("Something else", NOTHING))
        asks.append(_Ask("Just checking: was 10/10 your pain, or your reps?", tuple(choices)))
    if r.pain_word and "pain" not in fields and "pain" not in pending:
        asks.append(_Ask("Sorry it hurt. How much, from 0 (none) to 10 (worst)?", _pain_choices()))

    felt = _settle_felt(r, asks)
    has_count = bool({"reps", "sets"} & (set(fields) | pending))
    reading = Reading(
        reps=fields.get("reps"),
        sets=fields.get("sets"),
        per_side=r.per_side and has_count,
        done=r.done,
        pain=fields.get("pain"),
        felt_in=felt,
    )
    if reading.empty and flagged and (not asks or asks[0].choices == _pain_choices()):
        return NotAReport(HINT_FLAGGED)
    if asks:
        return Unclear(asks[0].question, asks[0].choices, reading)
    if not reading.empty:
        return Understood(reading)
    if r.assent:
        yes_no = (("Yes, done", _value(done=True)), ("Not yet", NOTHING))
        return Unclear("Did you do the exercise?", yes_no, reading)
    return NotAReport(_hint(r, words, flagged))


def _settle_times(r: _Reader, asks: list[_Ask], pending: set[str]) -> None:
    """ "N times" is sets beside a rep count, else reps; after "did it" it asks."""
    if not r.times:
        return
    if not r.reps and len(r.bare) == 1 and not r.bare[0][1] and r.bare[0][0].fits(REPS):
        r.reps.append(r.bare.pop()[0])  # "10, 3 times"
    if r.reps or r.cross or r.left or r.right:
        r.sets.extend(r.times)
        return
    n = r.times[0]
    if r.did_object and len(r.times) == 1 and n.exact and n.fits(SETS):
        pending |= {"reps", "sets"}
        choices = (
            (f"{n.low} reps", _value(reps=n.low)),
            (f"{n.low} rounds", _value(sets=n.low)),
            ("Something else", NOTHING),
        )
        asks.append(_Ask(f"Was that {n.low} reps, or {n.low} rounds of it?", choices))
        return
    r.reps.extend(r.times)


def _settle_leftovers(r: _Reader, asks: list[_Ask], pending: set[str]) -> Parsed | None:
    """Give bare numbers a meaning, or ask; returns a NotAReport when they make no sense."""
    if not r.bare:
        return None
    if any(n.odd for n, _ in r.bare):
        return NotAReport(HINT_TOO_BIG)
    reps_open = not (r.reps or r.cross or r.left or r.right or "reps" in pending)
    sets_open = not (r.sets or r.cross or "sets" in pending)
    # "10, 10, 8" may be one number per set; offer that, never assume it.
    listed = [n.low for n, _ in r.bare]
    as_sets = []
    if (
        reps_open
        and sets_open
        and len(listed) in SETS
        and len(set(listed)) <= 2
        and all(n.exact and n.fits(REPS) for n, _ in r.bare)
    ):
        as_sets = [{"reps": v, "sets": len(listed)} for v in sorted(set(listed), reverse=True)]
    if len(r.bare) > 2:
        if not as_sets:
            return NotAReport(HINT_MUDDLED)
        pending |= {"reps", "sets"}
        asks.append(_ask_options(f"Was that {len(listed)} sets?", as_sets))
        return None
    pain_open = not (r.pain or r.ten_of_ten)
    wants_pain = r.pain_word and pain_open
    if len(r.bare) == 1:
        n, nouny = r.bare[0]
        if wants_pain and n.fits(PAIN):
            r.pain.append(n)
            r.pain_word = False
        elif reps_open and n == _Num(0, 0):
            if pain_open:
                pending.add("pain")
                choices = (("No pain", _value(pain=0)), ("Didn't do it", NOTHING))
                asks.append(_Ask("Did 0 mean no pain, or that you didn't get to it?", choices))
        elif reps_open and n.fits(BARE_REPS) and not nouny:
            r.reps.append(n)
        elif reps_open and n.fits(REPS) and n.exact:
            pending.add("reps")
            choices = ((f"Yes, {n.low} reps", _value(reps=n.low)), ("No", NOTHING))
            asks.append(_Ask(f"Just checking: {n.low} reps?", choices))
        elif reps_open:
            return NotAReport(HINT_TOO_BIG)
        elif n.exact:
            options: list[dict[str, int]] = []
            if sets_open and n.fits(SETS):
                options.append({"sets": n.low})
            if pain_open and n.fits(PAIN):
                options.append({"pain": n.low})
            if options:
                pending.update(*options)
                asks.append(_ask_options(f"What was the {n.low}?", options))
        return None
    (a, _), (b, _) = r.bare
    if not (reps_open and a.exact and b.exact):
        return NotAReport(HINT_MUDDLED)
    x, y = a.low, b.low
    options = []
    if pain_open and x in REPS and y in PAIN:
        options.append({"reps": x, "pain": y})
    if pain_open and r.pain_word and x in PAIN and y in REPS:
        options.append({"reps": y, "pain": x})
    if sets_open and x in REPS and y in SETS and y <= x:
        options.append({"reps": x, "sets": y})
    if sets_open and x in SETS and y in REPS and x <= y:
        options.append({"reps": y, "sets": x})
    if x == y:
        options.extend(as_sets)
    if wants_pain:
        options = [o for o in options if "pain" in o]
    options = [o for k, o in enumerate(options) if o not in options[:k]]
    if not options:
        return NotAReport(HINT_MUDDLED)
    if wants_pain and len(options) == 1:
        r.reps.append(_Num(options[0]["reps"], options[0]["reps"]))
        r.pain.append(_Num(options[0]["pain"], options[0]["pain"]))
        r.pain_word = False
        return None
    pending.update(*options)
    asks.append(_ask_options(f"What do {x} and {y} stand for?", options))
    return None


def _settle_sides(r: _Reader, asks: list[_Ask], pending: set[str]) -> Parsed | None:
    """Left and right counts, "both sides" and a lone "each"."""
    sides = r.left + r.right
    if any(not n.fits(REPS) for n in sides):
        return NotAReport(HINT_TOO_BIG)
    if sides:
        if len(set(sides)) == 1:
            r.reps.append(sides[0])
            r.per_side = r.per_side or bool(r.left and r.right)
        else:
            pending.add("reps")
            values = sorted({v for n in sides for v in (n.low, n.high)}, reverse=True)
            choices = tuple((f"{v} each side", _value(reps=v, per_side=True)) for v in values)
            asks.append(
                _Ask("Left and right were different. Which should I log?", (*choices, _ELSE))
            )
            r.per_side = False
    has_count = bool(r.reps or r.cross or r.times)
    if r.per_side or not has_count:
        return None
    if r.side_ask or (r.each_alone and not (r.sets or r.cross)):
        single = r.reps[0] if len(r.reps) == 1 and r.reps[0].exact else None
        what = f"that {single.low}" if single else "that"
        total = f"No, {single.low} in total" if single else "No, in total"
        choices = (("Yes, each side", _value(per_side=True)), (total, _value(per_side=False)))
        asks.append(_Ask(f"Was {what} on each side?", choices))
    return None


def _settle_slot(
    slot: str, nums: list[_Num], fields: dict[str, int], asks: list[_Ask], pending: set[str]
) -> None:
    """One value is a fact; two values, or a range, ask which."""
    if not nums or slot in pending:
        return
    values = sorted({v for n in nums for v in (n.low, n.high)})
    if (len(nums) == 1 and nums[0].exact) or len(values) == 1:
        fields[slot] = values[0]
        return
    pending.add(slot)
    shown = values if len(values) <= 6 else values[:3] + values[-3:]
    options = [{slot: v} for v in shown]
    question = {
        "reps": "How many reps should I log?",
        "sets": "How many sets should I log?",
        "pain": "Which pain number fits best?",
    }[slot]
    asks.append(_ask_options(question, options))


def _settle_felt(r: _Reader, asks: list[_Ask]) -> FeltIn | None:
    """One place is a fact; a vague place or two places ask, unless one was "mostly"."""
    if not r.felt:
        if r.felt_not:
            # "Didn't feel it in my glutes" says something worth knowing: where, then?
            others = [p for p in FeltIn if p not in r.felt_not | {FeltIn.GLUTES}]
            instead = tuple((FELT_LABELS[p], _value(felt=p)) for p in others)
            asks.append(_Ask("Thanks for saying. Where did you feel it instead?", instead))
        return None
    mostly = [where for where, said in r.felt if said]
    every = [where for where, _ in r.felt]
    for group in (mostly, every):
        if group:
            common = frozenset.intersection(*group)
            if len(common) == 1:
                return next(iter(common))
    named: set[FeltIn] = set()
    for where in every:
        named |= where
    places = [p for p in FeltIn if p in named]
    choices = tuple((FELT_LABELS[p], _value(felt=p)) for p in places)
    if FeltIn.NOT_SURE not in places:
        choices += ((FELT_LABELS[FeltIn.NOT_SURE], _value(felt=FeltIn.NOT_SURE)),)
    asks.append(_Ask("Where did you feel it most?", choices))
    return None


def _hint(r: _Reader, words: list[str], flagged: bool) -> str:
    said = set(words)
    if flagged:
        return HINT_FLAGGED
    if r.not_done:
        return HINT_NOT_DONE
    if said & _GREETINGS:
        return HINT_GREETING
    if said & _THANKS:
        return HINT_THANKS
    if "?" in said:
        return HINT_QUESTION
    return HINT_GENERIC


# ---- choices --------------------------------------------------------------------------------

_ELSE = ("Something else", NOTHING)


def _value(
    *,
    reps: int | None = None,
    sets: int | None = None,
    pain: int | None = None,
    per_side: bool | None = None,
    done: bool | None = None,
    felt: FeltIn | None = None,
) -> str:
    """A button value such as "reps=12,pain=3": short enough for callback data."""
    parts = [
        f"{key}={value}"
        for key, value in (("reps", reps), ("sets", sets), ("pain", pain))
        if value is not None
    ]
    if per_side is not None:
        parts.append(f"side={int(per_side)}")
    if done is not None:
        parts.append(f"done={int(done)}")
    if felt is not None:
        parts.append(f"felt={felt.value}")
    return ",".join(parts)


def _label(*, reps: int | None = None, sets: int | None = None, pain: int | None = None) -> str:
    """A button label in plain words: "3 sets of 12, pain 2"."""
    parts = []
    if sets is not None and reps is not None:
        parts.append(f"{sets} sets of {reps}")
    elif sets is not None:
        parts.append(f"{sets} sets")
    elif reps is not None:
        parts.append(f"{reps} reps")
    if pain is not None:
        parts.append(f"pain {pain}" if parts else f"Pain {pain}")
    return ", ".join(parts)


def _ask_options(question: str, options: Iterable[dict[str, int]]) -> _Ask:
    choices = tuple(
        (
            _label(reps=o.get("reps"), sets=o.get("sets"), pain=o.get("pain")),
            _value(reps=o.get("reps"), sets=o.get("sets"), pain=o.get("pain")),
        )
        for o in options
    )
    return _Ask(question, (*choices, _ELSE))


def _ask_cross(first: int, second: int) -> _Ask:
    options = [{"sets": second, "reps": first}, {"sets": first, "reps": second}]
    return _ask_options(f"Was that {second} sets of {first}, or {first} sets of {second}?", options)


def _pain_choices() -> tuple[tuple[str, str], ...]:
    return tuple((str(p), _value(pain=p)) for p in PAIN)


def apply_choice(reading: Reading, value: str) -> Reading | None:
    """Fold a pressed button's value into the partial reading.

    None when the value is `NOTHING` (ask the user to type it again) or is not one this
    module makes: callback data comes from the client, so it is checked, not trusted.
    """
    if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS or value == NOTHING:
        return None
    reps, sets, pain = reading.reps, reading.sets, reading.pain
    per_side, done, felt_in = reading.per_side, reading.done, reading.felt_in
    seen: set[str] = set()
    for part in value.split(","):
        key, sep, raw = part.partition("=")
        if not sep or key in seen:
            return None
        seen.add(key)
        if key in ("reps", "sets", "pain"):
            allowed = {"reps": REPS, "sets": SETS, "pain": PAIN}[key]
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and int(raw) in allowed):
                return None
            if key == "reps":
                reps = int(raw)
            elif key == "sets":
                sets = int(raw)
            else:
                pain = int(raw)
        elif key == "side" and raw in ("0", "1"):
            per_side = raw == "1"
        elif key == "done" and raw in ("0", "1"):
            done = raw == "1"
        elif key == "felt" and raw in _FELT_VALUES:
            felt_in = FeltIn(raw)
        else:
            return None
    return Reading(reps, sets, per_side, done, pain, felt_in)


_FELT_VALUES = frozenset(f.value for f in FeltIn)
