"""Working copies of the seeded database, each prepared for one benchmark run.

A SQLite copy is the seeded file copied; a PostgreSQL copy is a new database created inside
the given server (and dropped afterwards), seeded from scratch. Nothing here touches a
database the benchmark did not make itself.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from population import DEFAULT_RATE, level_in_memory
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import RowMapping, make_url

from bot.db.engine import create_engine
from bot.db.models import Nudge, NudgeKind, NudgeState, UserSettings
from bot.delivery import planner
from bot.delivery.planner import per_minute
from bot.delivery.timing import MINUTES_PER_DAY, Rhythm, next_nudge_at

NUDGES = Nudge.__table__
SETTINGS = UserSettings.__table__
SHORTEST_BUSY_WINDOW = 120  # minutes: a window opened "now" must still hold a morning


def is_postgres(db: str) -> bool:
    """Whether `db` names a PostgreSQL server rather than a SQLite file."""
    return db.startswith(("postgres://", "postgresql"))


def start_afresh(db: str) -> None:
    """Before seeding a SQLite file: remove it and its -wal/-shm files (PostgreSQL: nothing)."""
    if is_postgres(db):
        return
    path = Path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob(f"{path.name}*"):
        old.unlink()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path.resolve()}"


@contextmanager
def sqlite_copy(path: Path) -> Iterator[str]:
    """The URL of a throw-away copy of the SQLite file at `path` (beside it, same disk)."""
    if not path.exists():
        raise SystemExit(f"{path} does not exist: run the seed subcommand first")
    copy = path.with_name(f"{path.stem}-run-{uuid.uuid4().hex[:8]}{path.suffix}")
    shutil.copyfile(path, copy)
    try:
        yield sqlite_url(copy)
    finally:
        for leftover in path.parent.glob(f"{copy.name}*"):
            leftover.unlink()


async def _admin(server_url: str) -> Any:
    """An asyncpg connection to the database named in `server_url`, for CREATE and DROP."""
    import asyncpg

    url = make_url(server_url)
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
    )


@asynccontextmanager
async def postgres_database(server_url: str) -> AsyncIterator[str]:
    """The URL of a new empty database inside the server of `server_url`; dropped after use."""
    name = f"glutebot_bench_{uuid.uuid4().hex[:10]}"
    connection = await _admin(server_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        connection = await _admin(server_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


async def seeded_at(url: str) -> datetime:
    """The moment the database was seeded (when every scheduled row was created)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            moment = await connection.scalar(select(func.max(NUDGES.c.created_at)))
    finally:
        await engine.dispose()
    if moment is None:
        raise SystemExit(f"{make_url(url).render_as_string()} holds no nudges: seed it first")
    return moment


async def make_due(url: str, count: int, moment: datetime, kind: NudgeKind) -> list[int]:
    """Bring the `count` earliest scheduled messages of `kind` forward to `moment`; their users."""
    engine = create_engine(url)
    earliest = (
        select(NUDGES.c.id)
        .where(NUDGES.c.state == NudgeState.SCHEDULED, NUDGES.c.kind == kind)
        .order_by(NUDGES.c.due_at)
        .limit(count)
    )
    try:
        async with engine.begin() as connection:
            result = await connection.execute(
                update(NUDGES)
                .where(NUDGES.c.id.in_(earliest.scalar_subquery()))
                .values(due_at=moment)
                .returning(NUDGES.c.user_id)
            )
            return list(result.scalars())
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class BusyMorning:
    """A schedule made dense: a share of users whose window opens at `opening`."""

    opening: datetime
    users: int  # whose window opens then
    least_per_minute: int  # scheduled in the quietest minute of the measured stretch
    most_per_minute: int  # and in the busiest
    due_by_end: int  # messages due from the opening to the end of the measured stretch
    chats: list[int]  # users with anything due before the end (their chats must be open)


def prepare_busy_morning(
    url: str, seeded: datetime, opening: datetime, share: float, minutes: int
) -> BusyMorning:
    """Shift the seeded schedule so the seed moment becomes `opening`, then open the window
    of `share` of the users at `opening` (weekends allowed, same length and gap).

    Their nudges land where `next_nudge_at` puts a window's first nudge (the opening plus
    0-15 minutes of start jitter) and are levelled like `planner.MinuteBook` does at the default
    rate, so every minute fills up to `per_minute(29)` and the overflow moves later.
    """
    return asyncio.run(_prepare_busy_morning(url, seeded, opening, share, minutes))


async def _prepare_busy_morning(
    url: str, seeded: datetime, opening: datetime, share: float, minutes: int
) -> BusyMorning:
    shift = opening - seeded
    end = opening + timedelta(minutes=minutes)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            everyone = (await connection.execute(select(SETTINGS))).mappings().all()
            openers = _openers(everyone, opening, share)
            rows = (
                await connection.execute(
                    select(NUDGES.c.id, NUDGES.c.user_id, NUDGES.c.kind, NUDGES.c.due_at).where(
                        NUDGES.c.state == NudgeState.SCHEDULED
                    )
                )
            ).all()
            load: Counter[datetime] = Counter()
            moved: dict[int, datetime] = {}
            for nudge_id, user_id, kind, due in rows:
                if kind is NudgeKind.NUDGE and user_id in openers:
                    continue
                moved[nudge_id] = due + shift
                load[moved[nudge_id].replace(second=0, microsecond=0)] += 1
            after = opening - timedelta(hours=12)  # yesterday evening's last nudge, roughly
            for nudge_id, user_id, kind, _ in sorted(rows, key=lambda row: row[1]):
                if kind is NudgeKind.NUDGE and user_id in openers:
                    due = next_nudge_at(openers[user_id], after, planner.rng_for(user_id, after))
                    moved[nudge_id] = level_in_memory(due, load, per_minute(DEFAULT_RATE))
            await connection.execute(
                update(NUDGES)
                .where(NUDGES.c.id == bindparam("nudge_id"))
                .values(due_at=bindparam("due")),
                [{"nudge_id": key, "due": due} for key, due in moved.items()],
            )
            await connection.execute(
                update(SETTINGS)
                .where(SETTINGS.c.user_id == bindparam("uid"))
                .values(
                    window_start=bindparam("start"), window_end=bindparam("end"), weekends=True
                ),
                [
                    {"uid": uid, "start": rhythm.window_start, "end": rhythm.window_end}
                    for uid, rhythm in openers.items()
                ],
            )
    finally:
        await engine.dispose()
    by_user = {nudge_id: user_id for nudge_id, user_id, _, _ in rows}
    stretch = [opening + timedelta(minutes=n) for n in range(minutes)]
    return BusyMorning(
        opening=opening,
        users=len(openers),
        least_per_minute=min(load[minute] for minute in stretch),
        most_per_minute=max(load[minute] for minute in stretch),
        due_by_end=sum(load[minute] for minute in stretch),
        chats=sorted(
            {by_user[key] for key, due in moved.items() if due < end + timedelta(minutes=2)}
        ),
    )


def _openers(everyone: Sequence[RowMapping], opening: datetime, share: float) -> dict[int, Rhythm]:
    """`share` of all users (those whose local clock leaves room), with a window from now."""
    wanted = round(share * len(everyone))
    chosen: dict[int, Rhythm] = {}
    for row in random.Random(5).sample(list(everyone), len(everyone)):
        local = opening.astimezone(ZoneInfo(row["timezone"]))
        start = local.hour * 60 + local.minute
        end = min(MINUTES_PER_DAY, start + row["window_end"] - row["window_start"])
        if end - start < SHORTEST_BUSY_WINDOW:
            continue
        chosen[row["user_id"]] = Rhythm(
            row["timezone"], start, end, row["nudge_interval_minutes"], True
        )
        if len(chosen) == wanted:
            break
    return chosen
