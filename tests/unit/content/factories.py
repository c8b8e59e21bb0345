"""Builders for test exercises: valid by default, any field overridable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from content.exercise import Exercise

ExerciseFactory = Callable[..., Exercise]


def build_exercise(id: str, track: str = "strength", level: int = 1, **fields: Any) -> Exercise:
    """A valid body-weight home exercise, with any field overridden."""
    data: dict[str, Any] = {
        "id": id,
        "name": id.replace("_", " ").capitalize(),
        "track": track,
        "level": level,
        "family": id,
        "setting": "home",
        "legs": "two",
        "floor": False,
        "dose": {"sets": 2, "reps": 8},
        "cues": ["Stand tall and squeeze.", "Move slowly and under control."],
        "compensations": ["Lower back arching"],
        "source": "test fixture",
    }
    data.update(fields)
    return Exercise.model_validate(data)
