"""Migrations: up, up again, down, up; and the migrated schema is exactly the models'."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.engine import Connection

from bot.db.engine import create_engine, session_factory
from bot.db.migrate import alembic_config, current_revision, downgrade, upgrade
from bot.db.models import Base
from bot.db.repo import get_user

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_is_repeatable_and_reversible(database_url: str) -> None:
    assert await current_revision(database_url) is None

    await upgrade(database_url)
    await upgrade(database_url)  # already at head: nothing to do
    assert await current_revision(database_url) == HEAD
    assert await _table_names(database_url) == {*Base.metadata.tables, "alembic_version"}

    await downgrade(database_url, "base")
    assert await current_revision(database_url) is None
    assert await _table_names(database_url) == {"alembic_version"}

    await upgrade(database_url)
    assert await current_revision(database_url) == HEAD


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    differences: list[Any] = compare_metadata(context, Base.metadata)
    # Autogenerate does not compare CHECK constraints; compare their names here.
    inspector = inspect(connection)
    for table in Base.metadata.sorted_tables:
        declared = {
            constraint.name
            for constraint in table.constraints
            if isinstance(constraint, CheckConstraint)
        }
        migrated = {check["name"] for check in inspector.get_check_constraints(table.name)}
        if declared != migrated:
            differences.append(("check constraints", table.name, declared, migrated))
    return differences


async def test_migrated_schema_matches_models(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema_differences) == []
    finally:
        await engine.dispose()


async def test_upgrading_from_0001_keeps_users_and_fills_the_new_programme_columns(
    database_url: str,
) -> None:
    await upgrade(database_url, "0001")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
            await conn.execute(
                text(
                    "INSERT INTO users (id, chat_id, first_name, state, created_at, updated_at,"
                    " last_seen_at) VALUES (5, 5, 'Old', 'active', :now, :now, :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                text(
                    "INSERT INTO user_settings (user_id, timezone, window_start, window_end,"
                    " nudge_interval_minutes, weekends, anchors, equipment, levels,"
                    " disclaimer_shown) VALUES (5, 'Europe/Berlin', 540, 1080, 75, false,"
                    " '[]', '[\"band\"]', '{\"activation\": 2}', true)"
                )
            )
        await upgrade(database_url)
        sessions = session_factory(engine)
        async with sessions() as session:
            user = await get_user(session, 5)
        assert user is not None
        assert (user.settings.timezone, user.settings.equipment) == ("Europe/Berlin", ["band"])
        assert (user.settings.mix, user.settings.gentle_only, user.settings.weaker_side) == (
            [],
            False,
            None,
        )
    finally:
        await engine.dispose()


async def test_0005_broadcasts_up_and_down_keep_regular_nudges(database_url: str) -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    nudge = (
        "INSERT INTO nudges (user_id, due_at, state, kind, attempts, created_at)"
        " VALUES (5, :now, 'scheduled', :kind, 0, :now)"
    )
    await upgrade(database_url, "0004")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, chat_id, first_name, state, created_at, updated_at,"
                    " last_seen_at) VALUES (5, 5, 'Old', 'active', :now, :now, :now)"
                ),
                {"now": now},
            )
            await conn.execute(text(nudge), {"now": now, "kind": "nudge"})
        await upgrade(database_url, "0005")
        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT broadcast_id FROM nudges"))).all() == [(None,)]
            await conn.execute(
                text(
                    "INSERT INTO broadcasts (id, admin_id, text, state, recipients, created_at)"
                    " VALUES (1, 1, 'Hello', 'queued', 1, :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                text(nudge.replace("attempts,", "attempts, broadcast_id,").replace("0,", "0, 1,")),
                {"now": now, "kind": "broadcast"},
            )
        await downgrade(database_url, "0004")
        assert "broadcasts" not in await _table_names(database_url)
        async with engine.begin() as conn:
            kinds = (await conn.execute(text("SELECT kind FROM nudges"))).all()
        assert kinds == [("nudge",)]  # the broadcast's row went with it; the nudge stayed
        await upgrade(database_url)
        assert await current_revision(database_url) == HEAD
    finally:
        await engine.dispose()
