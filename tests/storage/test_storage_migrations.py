"""Migrations: up, up again, down, up; and the migrated schema is exactly the models'."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, inspect
from sqlalchemy.engine import Connection

from bot.db.engine import create_engine
from bot.db.migrate import alembic_config, current_revision, downgrade, upgrade
from bot.db.models import Base

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
