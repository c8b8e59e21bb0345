"""Copy a whole Glutebot database into an empty one: SQLite to PostgreSQL, and back.

`copy_database(source, target)` refuses a source that is not at the latest migration and a
target that already holds rows, migrates the target, then copies every table in
foreign-key order in batches, inside one transaction on the target (a failure leaves it
without a single copied row), keeping every primary key. On PostgreSQL each serial
sequence then starts after the largest copied id. Before the commit the rows are counted
on both sides; any difference rolls the copy back.

Rows travel as Core rows through the models' column types, so aware datetimes, JSON
documents and booleans convert between the dialects; enum columns travel as their stored
strings, so a value the current code no longer knows is copied, not refused.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import (
    JSON,
    Column,
    Enum,
    MetaData,
    String,
    Table,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import Settings
from bot.db.engine import create_engine
from bot.db.migrate import alembic_config, upgrade
from bot.db.models import Base

BATCH_SIZE = 1000
_NULL_FLAG = "_glutebot_copy_is_null_"
ROLLED_BACK = "the copy was rolled back and the target holds no copied row"


class CopyError(Exception):
    """Something the operator can fix; the message is one line."""


@dataclass(frozen=True)
class CopyReport:
    """What was copied: the schema revision and the rows counted in each table."""

    revision: str
    counts: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(rows for _, rows in self.counts)


def normalise_url(value: str, option: str) -> str:
    """A URL in the driver form Glutebot uses, checked as DATABASE_URL is checked."""
    try:
        url = Settings._check_database_url(value)
    except ValueError as exc:
        raise CopyError(f"{option} {exc}") from None
    if not url:
        raise CopyError(f"{option} needs a database URL, e.g. sqlite:///data/glutebot.db")
    return url


def label(url: str) -> str:
    """The URL with any password hidden, safe to print."""
    return make_url(url).render_as_string(hide_password=True)


def head_revision() -> str:
    """The latest migration revision this version of Glutebot knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # there is at least one migration
    return head


async def copy_database(source: str, target: str, *, batch_size: int = BATCH_SIZE) -> CopyReport:
    """Copy every row of `source` into the empty database `target`; see the module docstring.

    Raises CopyError, with one line for the operator, for every expected problem. The
    source is only read. A target SQLite file that did not exist before is removed again
    if the copy fails.
    """
    source = normalise_url(source, "--from")
    target = normalise_url(target, "--to")
    _check_urls(source, target)
    created = _new_sqlite_file(target)
    head = head_revision()
    source_engine = create_engine(source)
    target_engine: AsyncEngine | None = None
    try:
        async with _explained(f"cannot read the source database {label(source)}: {{reason}}"):
            await _check_source_revision(source_engine, source, head)
        target_engine = create_engine(target)
        async with _explained(f"cannot open the target database {label(target)}: {{reason}}"):
            await _refuse_rows(target_engine, target)
        async with _explained(f"cannot migrate the target database {label(target)}: {{reason}}"):
            await upgrade(target)
        async with _explained(f"the copy failed: {{reason}}; {ROLLED_BACK}"):
            counts = await _copy_all(source_engine, target_engine, target, batch_size)
        return CopyReport(revision=head, counts=counts)
    except BaseException:
        if target_engine is not None:
            await target_engine.dispose()
        if created is not None:
            _remove_sqlite_files(created)
        raise
    finally:
        await source_engine.dispose()
        if target_engine is not None:
            await target_engine.dispose()


# -- checks before anything is written ------------------------------------------------------


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL and SQLite URI forms)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.query.get("uri"):
        return None
    return Path(parsed.database or "")


def _new_sqlite_file(url: str) -> Path | None:
    """The target's SQLite file if the copy will create it (removed again on failure)."""
    path = _sqlite_path(url)
    return path if path is not None and not path.exists() else None


def _identity(url: str) -> tuple[str, ...]:
    parsed = make_url(url)
    path = _sqlite_path(url)
    if path is not None:
        return ("sqlite", str(path.resolve()))
    if parsed.get_backend_name() == "sqlite":
        return ("sqlite", parsed.database or "")
    return (
        "postgresql",
        (parsed.host or "localhost").lower(),
        str(parsed.port or 5432),
        parsed.database or parsed.username or "",
    )


def _check_urls(source: str, target: str) -> None:
    for option, url in (("--from", source), ("--to", target)):
        if make_url(url).database == ":memory:":
            raise CopyError(f"{option} is an in-memory SQLite database; give a file path")
    source_path, target_path = _sqlite_path(source), _sqlite_path(target)
    if source_path is not None and not source_path.is_file():
        # Checked before any engine exists: opening it would create an empty database.
        raise CopyError(f"the source database {source_path} does not exist (check --from)")
    same = _identity(source) == _identity(target) or (
        source_path is not None
        and target_path is not None
        and target_path.exists()
        and source_path.samefile(target_path)
    )
    if same:
        raise CopyError(f"--from and --to are the same database ({label(source)})")


async def _check_source_revision(engine: AsyncEngine, url: str, head: str) -> None:
    async with engine.connect() as connection:
        revision = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    if revision == head:
        return
    if revision is None:
        raise CopyError(f"the source database {label(url)} holds no Glutebot tables; check --from")
    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    if revision not in known:
        raise CopyError(
            f"the source database {label(url)} is at revision {revision}, which this version "
            "of Glutebot does not know; copy it with the version that wrote it"
        )
    raise CopyError(
        f"the source database {label(url)} is at revision {revision}, not the latest ({head}); "
        f"run `glutebot db upgrade` with DATABASE_URL={label(url)} first, then copy again"
    )


async def _refuse_rows(engine: AsyncEngine, url: str) -> None:
    """Refuse a target that holds any row (checked before it is migrated, so it is untouched)."""
    async with engine.connect() as connection:
        present = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        tables = [table for table in Base.metadata.sorted_tables if table.name in present]
        held = await _nonempty(connection, tables)
    if held:
        raise CopyError(
            f"the target database {label(url)} already holds rows ({held}); "
            "copy only into an empty database"
        )


async def _nonempty(connection: AsyncConnection, tables: list[Table]) -> str:
    """'users: 3, nudges: 12' for the tables holding rows; '' when all are empty."""
    held = []
    for table in tables:
        rows = await connection.scalar(select(func.count()).select_from(table))
        if rows:
            held.append(f"{table.name}: {rows}")
    return ", ".join(held)


# -- the copy --------------------------------------------------------------------------------


async def _copy_all(
    source_engine: AsyncEngine, target_engine: AsyncEngine, target: str, batch_size: int
) -> tuple[tuple[str, int], ...]:
    tables = Base.metadata.sorted_tables  # parents before children
    async with source_engine.connect() as source:
        if source.dialect.name == "postgresql":
            # One snapshot of every table, even while something else writes.
            source = await source.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        # On SQLite the engine begins with BEGIN IMMEDIATE: no writer can change the source
        # while it is read.
        async with source.begin(), target_engine.connect() as copy, copy.begin():
            if copy.dialect.name == "postgresql":
                names = ", ".join(copy.dialect.identifier_preparer.quote(t.name) for t in tables)
                await copy.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
            held = await _nonempty(copy, tables)
            if held:  # rows arrived since the first check
                raise CopyError(
                    f"the target database {label(target)} already holds rows ({held}); "
                    "copy only into an empty database"
                )
            copied = {}
            for table in tables:
                async with _explained(f"copying {table.name} failed: {{reason}}; {ROLLED_BACK}"):
                    copied[table.name] = await _copy_table(source, copy, table, batch_size)
            if copy.dialect.name == "postgresql":
                for table in tables:
                    await _restart_sequence(copy, table)
            counts = []
            for table in tables:
                expected = await source.scalar(select(func.count()).select_from(table))
                counted = await copy.scalar(select(func.count()).select_from(table))
                if not expected == copied[table.name] == counted:
                    raise CopyError(
                        f"table {table.name}: {expected} rows in the source, "
                        f"{copied[table.name]} copied, {counted} counted in the target; "
                        + ROLLED_BACK
                    )
                counts.append((table.name, int(counted or 0)))
    return tuple(counts)


def _transfer_table(table: Table) -> Table:
    """`table` with enum columns as plain strings, for moving stored values as they are."""
    columns = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, Enum):
            kind = String(kind.length)
        columns.append(
            Column(column.name, kind, primary_key=column.primary_key, autoincrement=False)
        )
    return Table(table.name, MetaData(), *columns, implicit_returning=False)


async def _copy_table(
    source: AsyncConnection, target: AsyncConnection, table: Table, batch_size: int
) -> int:
    moving = _transfer_table(table)
    documents = [column.name for column in moving.columns if isinstance(column.type, JSON)]
    # A JSON column holds either SQL NULL or the JSON document `null`; both read as None,
    # so ask which it was and write the same back.
    flags = [moving.c[name].is_(None).label(_NULL_FLAG + name) for name in documents]
    query = select(*moving.columns, *flags).order_by(*moving.primary_key.columns)
    insert = moving.insert()
    copied = 0
    result = await source.stream(query.execution_options(yield_per=batch_size))
    async for batch in result.mappings().partitions(batch_size):
        rows = [_row(row, moving, documents) for row in batch]
        await target.execute(insert, rows)
        copied += len(rows)
    return copied


def _row(row: Any, table: Table, documents: list[str]) -> dict[str, Any]:
    values = {column.name: row[column.name] for column in table.columns}
    for name in documents:
        if values[name] is None and not row[_NULL_FLAG + name]:
            values[name] = JSON.NULL
    return values


async def _restart_sequence(connection: AsyncConnection, table: Table) -> None:
    """Make a serial column's next value one past the largest copied id (PostgreSQL)."""
    column = table.autoincrement_column
    if column is None:
        return
    largest = select(func.max(column)).scalar_subquery()
    await connection.execute(
        select(
            func.setval(
                func.pg_get_serial_sequence(table.name, column.name),
                func.coalesce(largest, 0) + 1,
                False,
            )
        )
    )


# -- errors and clean-up ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _explained(message: str) -> AsyncIterator[None]:
    """Turn a database, network or migration error into one CopyError line: `message`
    with the error's first line in place of {reason}."""
    try:
        yield
    except CopyError:
        raise
    except (SQLAlchemyError, OSError, CommandError, ValueError, LookupError) as exc:
        raise CopyError(message.replace("{reason}", _reason(exc))) from exc


def _reason(exc: BaseException) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    # asyncpg errors come through the adapter as "<class 'asyncpg....'>: message".
    return re.sub(r"^<class '[\w.]+'>: ", "", lines[0])


def _remove_sqlite_files(path: Path) -> None:
    for name in _sqlite_files(path):
        name.unlink(missing_ok=True)


def _sqlite_files(path: Path) -> Iterator[Path]:
    yield path
    for suffix in ("-wal", "-shm", "-journal"):
        yield path.with_name(path.name + suffix)
