"""Shared fixtures: a fresh database per test, on SQLite always and on PostgreSQL when asked.

PostgreSQL runs when GLUTEBOT_TEST_POSTGRES_URL is set (for example
postgresql+asyncpg://postgres@127.0.0.1:5432/test). Without it those tests are skipped with
a visible reason, unless GLUTEBOT_REQUIRE_POSTGRES=1, in which case they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("GLUTEBOT_TEST_POSTGRES_URL", "").strip()
REQUIRE_POSTGRES = os.environ.get("GLUTEBOT_REQUIRE_POSTGRES", "") not in ("", "0", "false")

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return f"glutebot: PostgreSQL tests run against {make_url(POSTGRES_URL).render_as_string()}"
    return "glutebot: PostgreSQL tests skipped (set GLUTEBOT_TEST_POSTGRES_URL to run them)"


async def _create_postgres_database() -> str:
    """Create an empty, uniquely named database beside the configured one; return its URL."""
    import asyncpg

    base = make_url(POSTGRES_URL)
    name = f"glutebot_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(
        host=base.host or "127.0.0.1",
        port=base.port or 5432,
        user=base.username or "postgres",
        password=base.password,
        database=base.database or "postgres",
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(url: str) -> None:
    import asyncpg

    base = make_url(POSTGRES_URL)
    name = make_url(url).database
    conn = await asyncpg.connect(
        host=base.host or "127.0.0.1",
        port=base.port or 5432,
        user=base.username or "postgres",
        password=base.password,
        database=base.database or "postgres",
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'glutebot.db'}"
        return
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("GLUTEBOT_REQUIRE_POSTGRES is set but GLUTEBOT_TEST_POSTGRES_URL is not")
        pytest.skip("PostgreSQL tests need GLUTEBOT_TEST_POSTGRES_URL")
    try:
        url = await _create_postgres_database()
    except (OSError, Exception) as exc:  # a down server must fail loudly when required
        if REQUIRE_POSTGRES:
            pytest.fail(f"cannot reach PostgreSQL at {POSTGRES_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        yield url
    finally:
        await _drop_postgres_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL in the test's own folder (for tests that only need one backend)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'glutebot.db'}"
