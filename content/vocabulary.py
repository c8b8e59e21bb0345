"""The words the coaching brain, the onboarding screen and the bot share.

Every value is a `StrEnum`, so it can be stored in the database or a callback payload as a
plain string and read back with `Track("strength")`.
"""

from __future__ import annotations

from enum import StrEnum


class Track(StrEnum):
    """A line of work with its own ladder and its own level."""

    ACTIVATION = "activation"
    HIP_EXTENSION = "hip_extension"
    ROTATION_ABDUCTION = "rotation_abduction"
    HIP_FLEXOR_BALANCE = "hip_flexor_balance"
    STRENGTH = "strength"
    POWER_RUNNING = "power_running"

    @property
    def label(self) -> str:
        """The track's name in plain words."""
        return TRACK_LABELS[self]


TRACK_LABELS: dict[Track, str] = {
    Track.ACTIVATION: "glute wake-up",
    Track.HIP_EXTENSION: "hip extension",
    Track.ROTATION_ABDUCTION: "side glutes and turn-out",
    Track.HIP_FLEXOR_BALANCE: "front-of-hip balance",
    Track.STRENGTH: "strength",
    Track.POWER_RUNNING: "power and running",
}


class Setting(StrEnum):
    """The least a place must offer for an exercise to be done there."""

    DESK = "desk"  # standing or sitting by a desk, in work clothes, no floor, no kit
    HOME = "home"  # room to lie down or move, at home or outside
    GYM = "gym"  # a barbell, a rack, a bar to hang from


class Place(StrEnum):
    """Where the user is when a nudge goes out."""

    DESK = "desk"
    HOME = "home"
    GYM = "gym"

    @property
    def settings(self) -> frozenset[Setting]:
        """The exercise settings that can be done here."""
        return PLACE_SETTINGS[self]


PLACE_SETTINGS: dict[Place, frozenset[Setting]] = {
    Place.DESK: frozenset({Setting.DESK}),
    Place.HOME: frozenset({Setting.DESK, Setting.HOME}),
    Place.GYM: frozenset({Setting.DESK, Setting.HOME, Setting.GYM}),
}


class Equipment(StrEnum):
    """Kit an exercise needs; having none of it means body weight only."""

    BAND = "band"  # a resistance or mini band
    DUMBBELL = "dumbbell"  # dumbbells or a kettlebell
    BARBELL = "barbell"  # a barbell or a gym (rack, bench, a bar to hang from)


class Load(StrEnum):
    """External load, the first key of every ladder (COACHING.md: body weight -> barbell)."""

    BODYWEIGHT = "bodyweight"
    BAND = "band"
    DUMBBELL = "dumbbell"
    BARBELL = "barbell"

    @property
    def rank(self) -> int:
        return LOAD_RANK[self]


LOAD_RANK: dict[Load, int] = {
    Load.BODYWEIGHT: 0,
    Load.BAND: 1,
    Load.DUMBBELL: 2,
    Load.BARBELL: 3,
}

LOAD_WORDS: dict[Load, str] = {
    Load.BODYWEIGHT: "body weight",
    Load.BAND: "band",
    Load.DUMBBELL: "dumbbell or kettlebell",
    Load.BARBELL: "barbell or gym",
}


class Legs(StrEnum):
    """Whether both legs share the work or one leg does it alone."""

    TWO = "two"
    ONE = "one"


class Anchor(StrEnum):
    """A moment the user already has in their day, to hang a nudge on."""

    STANDING_UP = "standing_up"
    KETTLE = "kettle"
    STAIRS = "stairs"
    BATHROOM = "bathroom"
    BRUSHING_TEETH = "brushing_teeth"


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"


class FeltIn(StrEnum):
    """Where the user felt an exercise working."""

    GLUTES = "glutes"
    LOWER_BACK = "lower_back"
    HAMSTRINGS = "hamstrings"
    QUADS = "quads"
    FRONT_OF_HIP = "front_of_hip"  # hip flexors and deep belly
    KNEE = "knee"
    OTHER = "other"
    NOT_SURE = "not_sure"
