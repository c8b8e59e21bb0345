"""Fixtures for the coaching-brain tests: the packaged library and an exercise factory."""

from __future__ import annotations

import pytest

from content.library import Library, load_library

from .factories import ExerciseFactory, build_exercise


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library()


@pytest.fixture(scope="session")
def make_exercise() -> ExerciseFactory:
    return build_exercise
