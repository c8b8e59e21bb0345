"""`glutebot db copy` as an operator runs it: its output, its one-line refusals, exit codes."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from bot.db.copy import head_revision
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.models import Base, Nudge
from bot.db.repo import mark_update_processed, upsert_user
from tests.e2e.test_cli import glutebot

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def installation(path: Path) -> str:
    """A small SQLite installation at the latest revision: two users, a nudge, an update."""
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            for user_id in (11, 12):
                await upsert_user(
                    session,
                    user_id=user_id,
                    chat_id=user_id,
                    first_name="Ada",
                    username=None,
                    language_code="en",
                    now=NOW,
                )
            session.add(Nudge(user_id=11, due_at=NOW, created_at=NOW))
            await mark_update_processed(session, 1, NOW)
    finally:
        await engine.dispose()
    return f"sqlite:///{path}"


def test_db_copy_prints_the_counts_then_refuses_to_copy_twice(tmp_path: Path) -> None:
    # In-process (click's runner) to stay fast; SQLite to SQLite, so it runs everywhere.
    # PostgreSQL targets are covered in tests/storage/test_db_copy.py.
    source = asyncio.run(installation(tmp_path / "old" / "glutebot.db"))
    target = f"sqlite:///{tmp_path / 'new' / 'glutebot.db'}"
    command = ["db", "copy", "--from", source, "--to", target]

    copied = CliRunner().invoke(cli, command, prog_name="glutebot")
    assert copied.exit_code == 0, copied.output
    lines = copied.stdout.splitlines()
    assert lines[0].startswith("Copying sqlite+aiosqlite:///")
    assert lines[0].endswith(f"(revision {head_revision()}).")
    assert re.fullmatch(r"table +rows", lines[1])
    rows = dict(line.split() for line in lines[2:-1])
    assert list(rows) == [table.name for table in Base.metadata.sorted_tables]
    assert (rows["users"], rows["user_settings"], rows["nudges"]) == ("2", "2", "1")
    assert rows["processed_updates"] == "1"
    assert lines[-1] == "All 6 rows copied and counted."

    again = CliRunner().invoke(cli, command, prog_name="glutebot")
    assert again.exit_code == 1
    assert isinstance(again.exception, SystemExit)  # a clean exit, not an error escaping
    assert again.stderr.count("\n") == 1
    assert again.stderr.startswith("glutebot: the target database ")
    assert "already holds rows (processed_updates: 1, users: 2," in again.stderr


def test_db_copy_from_a_missing_file_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    result = glutebot(  # a real process: its stderr and exit code
        "db",
        "copy",
        "--from",
        "sqlite:///typo/glutebot.db",
        "--to",
        "sqlite:///new.db",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "glutebot: the source database typo/glutebot.db does not exist (check --from)\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == []
