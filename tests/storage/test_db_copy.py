"""`glutebot db copy`: SQLite to PostgreSQL and back loses nothing; mistakes change nothing.

The dataset is made once per module the way the bot makes it (a screen taken through the
local Telegram, a screen cancelled, nudges sent and answered, reports and decisions from
/log, a pause, a red flag), plus rows the bot makes rarely but a copy must still carry:
64-bit ids, emoji, JSON `null` beside SQL NULL, microseconds, every enum value, gaps left
by a deleted user.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import FakeClock
from bot.db.copy import CopyError, copy_database, head_revision
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import current_revision, upgrade
from bot.db.models import (
    Base,
    Broadcast,
    BroadcastState,
    Decision,
    Nudge,
    NudgeKind,
    NudgeState,
    Report,
    ReportSource,
    Screen,
    ScreenAnswer,
    ScreenStatus,
    UserState,
)
from bot.db.repo import delete_user, get_user, mark_update_processed, upsert_user
from tests.e2e.harness import active_user, ask, run_clock, running_bot
from tests.e2e.test_onboarding import TO_THE_MOMENTS, begin, finish_screen, tap_through
from tests.e2e.test_reports import log_session

MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
ODD = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)  # microseconds, DST night
BIG = 7_999_999_999  # Telegram ids outgrow 32 bits

ON_POSTGRESQL = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


# -- the dataset ------------------------------------------------------------------------------


async def _through_the_bot(url: str, data_dir: Path) -> None:
    async with running_bot(url, data_dir, clock=FakeClock(MONDAY)) as bot:
        screened = await begin(bot, 501, "Zoë")
        await tap_through(screened, TO_THE_MOMENTS)
        await finish_screen(screened)
        halfway = await begin(bot, 502, "Sam")
        await tap_through(halfway, TO_THE_MOMENTS[:3])
        await ask(halfway, "/cancel")

        logger = await active_user(bot, 71, name="Lee")
        await log_session(logger, reps=None, pain="1")
        referred = await active_user(bot, 73, name="Kim")
        await log_session(referred, reps=None, pain="8")
        paused = await active_user(bot, 74, name="Pat", timezone="America/New_York")
        await ask(paused, "/pause 3")
        await run_clock(
            bot, MONDAY + timedelta(hours=6), step=timedelta(minutes=30), engaged=logger
        )


async def _rarities(url: str) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        async with sessions.begin() as session:
            await _rare_user(session)
            await _rare_user(session, user_id=BIG + 1)
        async with sessions.begin() as session:
            await delete_user(session, BIG + 1)  # leaves gaps in every id sequence
    finally:
        await engine.dispose()


async def _rare_user(session: AsyncSession, user_id: int = BIG) -> None:
    user, _ = await upsert_user(
        session,
        user_id=user_id,
        chat_id=-1_001_234_567_890,
        first_name='Zoë 💪 "O\'Neil"\nsecond line',
        username="zoe_" + "x" * 200,
        language_code="pt-br",
        now=ODD,
    )
    user.state = UserState.PAUSED
    settings = user.settings
    settings.timezone, settings.paused_until = "Australia/Lord_Howe", ODD + timedelta(days=3)
    settings.levels = {"activation": 3, "hip_flexor_balance": 1, "ünïcode": 0}
    settings.anchors, settings.equipment = ["standing_up", "☕"], []
    settings.weekends = settings.gentle_only = settings.disclaimer_shown = True
    settings.editing = "window"
    screen = Screen(
        user_id=user_id,
        started_at=ODD,
        completed_at=ODD + timedelta(minutes=2),
        status=ScreenStatus.RED_FLAG,
        current_step="red_flags",
        result={"flags": ["numbness"], "nested": {"none": None, "pi": 3.14159, "big": 2**53}},
    )
    for index, answer in enumerate(
        [2, "2", 1.5, True, False, [], {}, [None, "x"], "", "text ✓", {"b": 1, "a": 2}, JSON.NULL]
    ):
        screen.answers.append(ScreenAnswer(step=f"step_{index}", answer=answer, answered_at=ODD))
    broadcast = Broadcast(
        admin_id=user_id, text="Hello <b>all</b> 👋", state=BroadcastState.QUEUED,
        recipients=2, created_at=ODD, queued_at=ODD,
    )  # fmt: skip
    session.add_all([screen, broadcast])
    await session.flush()
    nudges = [
        Nudge(
            user_id=user_id,
            due_at=ODD + timedelta(minutes=index),
            state=state,
            kind=list(NudgeKind)[index % len(NudgeKind)],
            exercise_id="glute_squeeze_seated",
            track="activation",
            anchor="standing_up",
            text="Squeeze 💪\n• cue",
            attempts=index,
            claimed_at=ODD,
            claimed_by="host:1234",
            sent_at=ODD,
            telegram_message_id=2**40 + index,
            last_error="429: retry after 3" if state is NudgeState.FAILED else None,
            created_at=ODD,
            target_reps=10,
            responded_at=ODD,
            response="done",
            broadcast_id=broadcast.id if index == 0 else None,
        )
        for index, state in enumerate(NudgeState)
    ]
    session.add_all(nudges)
    await session.flush()
    report = Report(
        user_id=user_id,
        nudge_id=nudges[0].id,
        exercise_id="glute_squeeze_seated",
        track="activation",
        reps=12,
        sets=3,
        pain_during=0,
        pain_next_morning=10,
        felt_in="lower_back",
        source=ReportSource.TEXT,
        created_at=ODD,
    )
    session.add(report)
    await session.flush()
    session.add(
        Decision(
            user_id=user_id,
            report_id=report.id,
            track="activation",
            action="refer",
            level_from=3,
            level_to=3,
            exercise_id=None,
            reason="Pain rose week over week — see a physiotherapist.",
            created_at=ODD,
        )
    )
    await mark_update_processed(session, 2**62, ODD)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the latest revision with rows in every table (made once)."""
    folder = tmp_path_factory.mktemp("dataset")
    url = f"sqlite+aiosqlite:///{folder / 'source.db'}"

    async def make() -> None:
        await _through_the_bot(url, folder)
        await _rarities(url)

    asyncio.run(make())
    return folder / "source.db"


@pytest.fixture
def source(dataset: Path, tmp_path: Path) -> Iterator[str]:
    """A private copy of the dataset, as a URL."""
    path = tmp_path / "source.db"
    shutil.copyfile(dataset, path)
    yield f"sqlite:///{path}"


# -- reading databases back -------------------------------------------------------------------

Dump = dict[str, list[dict[str, Any]]]


async def dump(url: str) -> Dump:
    """Every row of every table, read through the models' types, in primary-key order.

    JSON columns get a second entry saying whether they hold SQL NULL (JSON `null` reads as
    None too), and every value is paired with its Python type (True == 1 otherwise).
    """
    engine = create_engine(url.replace("sqlite://", "sqlite+aiosqlite://"))
    tables: Dump = {}
    try:
        async with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                nulls = [
                    column.is_(None).label(f"{column.name} IS NULL")
                    for column in table.columns
                    if isinstance(column.type, JSON)
                ]
                query = select(table, *nulls).order_by(*table.primary_key.columns)
                rows = (await connection.execute(query)).mappings().all()
                tables[table.name] = [
                    {key: (value, type(value).__name__) for key, value in row.items()}
                    for row in rows
                ]
    finally:
        await engine.dispose()
    return tables


async def raw_sqlite_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Non-JSON columns as SQLite stores them (text datetimes, 0/1 booleans)."""
    engine = create_engine(url.replace("sqlite://", "sqlite+aiosqlite://"))
    try:
        async with engine.connect() as connection:
            rows = {}
            for table in Base.metadata.sorted_tables:
                names = [c.name for c in table.columns if not isinstance(c.type, JSON)]
                order = ", ".join(c.name for c in table.primary_key.columns)
                query = f"SELECT {', '.join(names)} FROM {table.name} ORDER BY {order}"
                rows[table.name] = [tuple(row) for row in await connection.exec_driver_sql(query)]
            return rows
    finally:
        await engine.dispose()


async def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url.replace("sqlite://", "sqlite+aiosqlite://"))
    try:
        async with engine.connect() as connection:
            return {
                table.name: await connection.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables
            }
    finally:
        await engine.dispose()


# -- the round trip ---------------------------------------------------------------------------


async def test_the_dataset_covers_every_table_and_value(source: str) -> None:
    counts = await row_counts(source)
    assert all(counts.values()), counts  # a new table needs rows here, or the copy is untested
    tables = await dump(source)
    assert {row["state"][0] for row in tables["nudges"]} == set(NudgeState)
    assert {row["status"][0] for row in tables["screens"]} >= {
        ScreenStatus.COMPLETED,
        ScreenStatus.CANCELLED,
        ScreenStatus.RED_FLAG,
    }
    assert {row["state"][0] for row in tables["users"]} >= {
        UserState.ACTIVE,
        UserState.PAUSED,
        UserState.REFERRED,
    }
    assert any(row["answer"] == (None, "NoneType") and not row["answer IS NULL"][0]
               for row in tables["screen_answers"])  # fmt: skip


@ON_POSTGRESQL
async def test_sqlite_to_postgresql_and_back_keeps_every_row_and_value(
    source: str, database_url: str, tmp_path: Path
) -> None:
    original = await dump(source)
    original_raw = await raw_sqlite_rows(source)

    there = await copy_database(source, database_url, batch_size=7)  # several batches
    back_url = f"sqlite:///{tmp_path / 'back' / 'glutebot.db'}"
    back = await copy_database(database_url, back_url)

    expected_counts = {name: len(rows) for name, rows in original.items()}
    assert dict(there.counts) == dict(back.counts) == expected_counts
    assert there.total == sum(expected_counts.values()) and there.revision == head_revision()
    on_postgresql = await dump(database_url)
    for name, rows in original.items():
        assert on_postgresql[name] == rows, name
    assert await dump(back_url) == original
    assert await raw_sqlite_rows(back_url) == original_raw  # even the stored text is the same
    assert await dump(source) == original  # the source is only read


@ON_POSTGRESQL
async def test_after_a_copy_to_postgresql_new_rows_get_the_next_ids(
    source: str, database_url: str, tmp_path: Path
) -> None:
    await copy_database(source, database_url)
    copied = await dump(database_url)
    largest = {name: max(row["id"][0] for row in rows) for name, rows in copied.items()
               if rows and "id" in rows[0]}  # fmt: skip

    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with sessions.begin() as session:
            user = await get_user(session, 71)
            assert user is not None
            broadcast = Broadcast(admin_id=1, text="Hi", created_at=MONDAY)
            screen = Screen(user_id=71, started_at=MONDAY, current_step="goal")
            screen.answers.append(ScreenAnswer(step="goal", answer="sitting", answered_at=MONDAY))
            nudge = Nudge(user_id=71, due_at=MONDAY, created_at=MONDAY)
            session.add_all([broadcast, screen, nudge])
            await session.flush()
            report = Report(
                user_id=71, nudge_id=nudge.id, source=ReportSource.LOG, created_at=MONDAY
            )
            session.add(report)
            await session.flush()
            decision = Decision(
                user_id=71,
                report_id=report.id,
                track="activation",
                action="hold",
                level_from=1,
                level_to=1,
                reason="Same again.",
                created_at=MONDAY,
            )
            session.add(decision)
            await session.flush()
            new_ids = {
                "broadcasts": broadcast.id,
                "screens": screen.id,
                "screen_answers": screen.answers[0].id,
                "nudges": nudge.id,
                "reports": report.id,
                "decisions": decision.id,
            }
    finally:
        await engine.dispose()
    serial = {t.name for t in Base.metadata.sorted_tables if t.autoincrement_column is not None}
    assert set(new_ids) == serial  # every table with a sequence is tried
    assert new_ids == {name: largest[name] + 1 for name in new_ids}

    # And the bot itself carries on on the copy: a report, a decision, the next nudges.
    # (A new local Telegram numbers its updates from 1 again, which real Telegram never
    # does: forget the copied update ids, or the bot would ignore them as redeliveries.)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM processed_updates"))
    finally:
        await engine.dispose()
    async with running_bot(database_url, tmp_path, clock=FakeClock(MONDAY)) as bot:
        person = bot.telegram.user(71, "Lee")
        person.open_chat()
        answer = await log_session(person, reps=None, pain="0")
        assert answer.text and "pain 0/10" in answer.text


# -- refusals ---------------------------------------------------------------------------------


async def test_a_target_that_holds_rows_is_refused_and_left_untouched(
    source: str, database_url: str
) -> None:
    await upgrade(database_url, "0001")  # an older installation: not even migrated by the copy
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (id, chat_id, first_name, state, created_at, updated_at,"
                    " last_seen_at) VALUES (5, 5, 'Old', 'active', :now, :now, :now)"
                ),
                {"now": MONDAY},
            )
    finally:
        await engine.dispose()

    with pytest.raises(
        CopyError, match=r"already holds rows \(users: 1\); copy only into an empty"
    ):
        await copy_database(source, database_url)
    assert await current_revision(database_url) == "0001"
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            users = (await connection.execute(text("SELECT id, first_name FROM users"))).all()
    finally:
        await engine.dispose()
    assert [tuple(user) for user in users] == [(5, "Old")]


async def test_a_missing_sqlite_source_is_refused_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "not-here" / "glutebot.db"
    target = tmp_path / "target.db"
    with pytest.raises(CopyError, match=r"^the source database .*not-here/glutebot.db does not"):
        await copy_database(f"sqlite:///{missing}", f"sqlite:///{target}")
    assert not missing.parent.exists()
    assert not target.exists()


async def test_a_source_behind_the_latest_migration_is_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    await upgrade(sqlite_url, "0001")
    target = tmp_path / "target.db"
    with pytest.raises(CopyError, match=r"at revision 0001, not the latest .*glutebot db upgrade"):
        await copy_database(sqlite_url, f"sqlite:///{target}")
    assert await current_revision(sqlite_url) == "0001"
    assert not target.exists()


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("mysql://root@localhost/x", "sqlite:///t.db", "--from uses 'mysql'; Glutebot supports"),
        ("sqlite:///s.db", "", "--to needs a database URL"),
        ("sqlite:///s.db", "sqlite://", "--to needs a file path"),
        ("sqlite:///s.db", "sqlite:///:memory:", "--to is an in-memory SQLite database"),
        ("sqlite:///s.db", "sqlite:///./sub/../s.db", "--from and --to are the same database"),
        (
            "postgresql://u:secret@db/glutebot",
            "postgres://other@db:5432/glutebot",
            "--from and --to are the same database (postgresql+asyncpg://u:***@db/glutebot)",
        ),
    ],
)
async def test_operator_mistakes_are_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, target: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.db").touch()  # these are refused before the file is opened
    with pytest.raises(CopyError) as raised:
        await copy_database(source, target)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value) and "secret" not in str(raised.value)


async def test_a_failing_copy_leaves_no_copied_row(source: str, database_url: str) -> None:
    # A row SQLite let through with foreign keys off: no such user. Copied last-but-one.
    engine = create_engine(
        source.replace("sqlite://", "sqlite+aiosqlite://"), enforce_foreign_keys=False
    )
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO decisions (user_id, track, action, level_from, level_to, reason,"
                    " created_at) VALUES (424242, 'activation', 'hold', 1, 1, 'x', :now)"
                ),
                {"now": MONDAY},
            )
    finally:
        await engine.dispose()
    new_file = database_url.startswith("sqlite")

    with pytest.raises(CopyError, match=r"^copying decisions failed: .*rolled back"):
        await copy_database(source, database_url)
    if new_file:  # the copy made the file, and takes it away again
        assert not Path(database_url.split("///", 1)[1]).exists()
    else:
        assert set((await row_counts(database_url)).values()) == {0}
