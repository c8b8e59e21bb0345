"""Fixtures for end-to-end tests: the bot running on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import RunningBot, running_bot


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """Glutebot running on a fresh database (SQLite, and PostgreSQL when configured)."""
    async with running_bot(database_url, tmp_path) as running:
        yield running
