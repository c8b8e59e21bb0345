"""The exercise library: read `exercises.toml`, check every entry and every link, and serve it.

`load_library()` reads the packaged file once and caches it; `parse_library(text)` checks any
other text (a content author's draft, a test fixture). Both raise `LibraryError` with one
readable line per problem, so an author sees every mistake in one go.
"""

from __future__ import annotations

import functools
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from content.exercise import Exercise
from content.ladders import Ladder, build_ladders, ladder_problems
from content.vocabulary import Track

LIBRARY_FILE = "exercises.toml"
MIN_EXERCISES = 35


class LibraryError(ValueError):
    """The library data breaks the schema or the ladder rules."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("the exercise library has problems:\n- " + "\n- ".join(self.problems))


class _LibraryFile(BaseModel):
    """The shape of the TOML file: a list of `[[exercise]]` tables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exercise: tuple[Exercise, ...]


@dataclass(frozen=True)
class Library:
    """Checked exercises by id, and one ladder per track."""

    exercises: Mapping[str, Exercise]
    ladders: Mapping[Track, Ladder]

    @classmethod
    def build(cls, exercises: Iterable[Exercise], *, min_exercises: int = 0) -> Library:
        """Check the exercises together and build the ladders; raise `LibraryError` if unsound."""
        items = list(exercises)
        problems = library_problems(items)
        if len(items) < min_exercises:
            problems.insert(
                0, f"the library needs at least {min_exercises} exercises, has {len(items)}"
            )
        if problems:
            raise LibraryError(problems)
        return cls({e.id: e for e in items}, build_ladders(items))

    def __getitem__(self, exercise_id: str) -> Exercise:
        return self.exercises[exercise_id]

    def __contains__(self, exercise_id: object) -> bool:
        return exercise_id in self.exercises

    def __iter__(self) -> Iterator[Exercise]:
        return iter(self.exercises.values())

    def __len__(self) -> int:
        return len(self.exercises)

    def ladder(self, track: Track) -> Ladder:
        return self.ladders[track]


def library_problems(exercises: Sequence[Exercise]) -> list[str]:
    """Cross-entry problems: duplicate ids, broken or misdirected neighbour links, ladders."""
    problems = [
        f"id {i!r} is used {n} times" for i, n in Counter(e.id for e in exercises).items() if n > 1
    ]
    by_id = {e.id: e for e in exercises}
    ladders = build_ladders(exercises)
    for exercise in exercises:
        problems.extend(_neighbour_problems(exercise, by_id, ladders[exercise.track].top))
    for track, ladder in ladders.items():
        problems.extend(ladder_problems(track, ladder.rungs))
    return problems


def _neighbour_problems(exercise: Exercise, by_id: Mapping[str, Exercise], top: int) -> list[str]:
    problems = []
    for direction, ids in (("easier", exercise.easier), ("harder", exercise.harder)):
        for other_id in ids:
            other = by_id.get(other_id)
            if other is None:
                problems.append(f"{exercise.id}: {direction} neighbour {other_id!r} does not exist")
            elif not _points_the_right_way(exercise, other, harder=direction == "harder"):
                problems.append(
                    f"{exercise.id}: {direction} neighbour {other_id!r} is not {direction}"
                )
    if exercise.level > 1 and not exercise.easier:
        problems.append(f"{exercise.id}: needs at least one easier neighbour")
    if exercise.level < top and not exercise.harder:
        problems.append(f"{exercise.id}: needs at least one harder neighbour")
    return problems


def _points_the_right_way(exercise: Exercise, other: Exercise, *, harder: bool) -> bool:
    """On one track compare levels; across tracks the load must not go the wrong way."""
    if other.track == exercise.track:
        return other.level > exercise.level if harder else other.level < exercise.level
    if harder:
        return other.load.rank >= exercise.load.rank
    return other.load.rank <= exercise.load.rank


def parse_library(text: str, *, min_exercises: int = 0) -> Library:
    """Parse and check library TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LibraryError([f"not valid TOML: {exc}"]) from exc
    try:
        parsed = _LibraryFile.model_validate(data)
    except ValidationError as exc:
        raise LibraryError(_schema_problems(exc, data)) from exc
    return Library.build(parsed.exercise, min_exercises=min_exercises)


def _schema_problems(error: ValidationError, data: Mapping[str, Any]) -> list[str]:
    """Pydantic errors as 'exercise 3 (glute_bridge): cues: ...' lines."""
    entries = data.get("exercise")
    lines = []
    for item in error.errors():
        loc = list(item["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] == "exercise" and isinstance(loc[1], int):
            index = loc[1]
            entry = entries[index] if isinstance(entries, list) and index < len(entries) else {}
            where = f"exercise {index + 1} ({entry.get('id', '?')})"
            loc = loc[2:]
        field = ".".join(str(part) for part in loc)
        lines.append(f"{where}: {field}: {item['msg']}".lstrip(": ").replace(": : ", ": "))
    return lines


def load_library(path: Path | None = None) -> Library:
    """The packaged library (read once, cached) or the library in another file."""
    if path is None:
        return _packaged_library()
    return parse_library(path.read_text(encoding="utf-8"), min_exercises=MIN_EXERCISES)


@functools.cache
def _packaged_library() -> Library:
    text = resources.files("content").joinpath(LIBRARY_FILE).read_text(encoding="utf-8")
    return parse_library(text, min_exercises=MIN_EXERCISES)
