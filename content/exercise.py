"""One exercise and its dose, as the schema every entry of the library must satisfy."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    model_validator,
)

from content.vocabulary import (
    LOAD_RANK,
    Anchor,
    Equipment,
    FeltIn,
    Legs,
    Load,
    Place,
    Setting,
    Track,
)

ExerciseId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{2,47}$")]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=140)]

_LOAD_OF_EQUIPMENT: dict[Equipment, Load] = {
    Equipment.BAND: Load.BAND,
    Equipment.DUMBBELL: Load.DUMBBELL,
    Equipment.BARBELL: Load.BARBELL,
}


class Dose(BaseModel):
    """How much to do: sets of reps (each rep optionally a hold), maybe per side."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sets: int = Field(ge=1, le=6)
    reps: int = Field(ge=1, le=30)
    hold_seconds: int | None = Field(default=None, ge=1, le=60)
    per_side: bool = False
    rep_word: str = Field(default="reps", min_length=2, max_length=20)

    def describe(self) -> str:
        """The dose in plain words, e.g. '2 sets of 8 reps per side, 3-second hold'."""
        text = f"{self.reps} {self.rep_word}"
        if self.sets > 1:
            text = f"{self.sets} sets of {text}"
        if self.per_side:
            text += " per side"
        if self.hold_seconds and self.rep_word == "holds":
            text += f", {self.hold_seconds} s each"
        elif self.hold_seconds:
            text += f", {self.hold_seconds}-second hold"
        return text


class Exercise(BaseModel):
    """An exercise with its place on a ladder, its dose, cues and neighbours."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: ExerciseId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=60)]
    track: Track
    level: int = Field(ge=1, le=30, description="rung on the track's ladder, 1 = easiest")
    family: ExerciseId = Field(description="movement pattern shared by variants, e.g. 'bridge'")
    setting: Setting
    equipment: frozenset[Equipment] = frozenset()
    legs: Legs
    floor: bool = Field(description="lying or kneeling on the floor")
    anchors: frozenset[Anchor] = frozenset()
    anchor_only: bool = Field(
        default=False, description="only offer it when the user has one of its anchors"
    )
    dose: Dose
    cues: tuple[Line, ...] = Field(min_length=2, max_length=3)
    compensations: tuple[Line, ...] = Field(min_length=1, max_length=4)
    fixes: dict[FeltIn, Line] = Field(
        default_factory=dict, description="a cue for when it is felt in the wrong place"
    )
    easier: tuple[ExerciseId, ...] = ()
    harder: tuple[ExerciseId, ...] = ()
    emg: float | None = Field(
        default=None, ge=0, le=200, description="glute max %MVIC from COACHING.md, if published"
    )
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8)]

    @property
    def load(self) -> Load:
        """The heaviest kind of external load this exercise needs."""
        loads = [_LOAD_OF_EQUIPMENT[item] for item in self.equipment]
        return max(loads, key=LOAD_RANK.__getitem__, default=Load.BODYWEIGHT)

    def fits(
        self,
        equipment: frozenset[Equipment],
        place: Place | None = None,
        anchors: frozenset[Anchor] | None = None,
    ) -> bool:
        """True when the user has the kit for it and, where given, can do it at `place` and
        has one of its moments (`anchors`) if it is only ever done at such a moment."""
        if not self.equipment <= equipment:
            return False
        if anchors is not None and self.anchor_only and not self.anchors & anchors:
            return False
        return place is None or self.setting in place.settings

    @field_serializer("equipment", "anchors")
    def _sorted(self, items: frozenset[str]) -> list[str]:
        return sorted(items)  # stable JSON and diffs

    @model_validator(mode="after")
    def _consistent(self) -> Exercise:
        if self.setting is Setting.DESK and (self.floor or self.equipment):
            raise ValueError("a desk exercise cannot need the floor or any equipment")
        if (self.setting is Setting.GYM) != (Equipment.BARBELL in self.equipment):
            raise ValueError("setting 'gym' goes with equipment 'barbell' and only with it")
        if self.floor and self.anchors:
            raise ValueError("a floor exercise cannot hang on an everyday moment")
        if self.anchor_only and not self.anchors:
            raise ValueError("anchor_only needs at least one anchor")
        if self.id in self.easier or self.id in self.harder:
            raise ValueError("an exercise cannot be its own neighbour")
        if set(self.easier) & set(self.harder):
            raise ValueError("a neighbour cannot be both easier and harder")
        return self
