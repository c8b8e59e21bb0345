"""The operator's stats: exact counts on each backend, the text, and `glutebot stats`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import cli
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.models import Nudge, NudgeKind, NudgeState, Report, ReportSource, UserState
from bot.db.repo import upsert_user
from bot.services.stats import Stats, collect_stats, stats_text

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday afternoon
EXPECTED_TEXT = """\
Glutebot at 2026-03-04 15:00 UTC
Users: 5 (2 active, 1 paused, 1 onboarding, 1 blocked)
Nudges sent: 3 today (UTC), 6 in the last 7 days
Replies: 67% of the last 7 days' nudges (4 of 6)
Reports: 3 in the last 7 days
Pain: average 3.0/10 in the last 7 days, 1.5/10 the 7 days before (up)"""


async def populate(sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    """Five users, nine outbox rows and six reports around `now` (see the expected numbers)."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = midnight + (now - midnight) / 2  # earlier today, whatever the time now

    def days(n: int) -> datetime:
        return now - timedelta(days=n)

    async with sessions.begin() as session:
        states = {
            1: UserState.ACTIVE,
            2: UserState.ACTIVE,
            3: UserState.PAUSED,
            4: UserState.ONBOARDING,
            5: UserState.BLOCKED,
        }
        for user_id, state in states.items():
            user, _ = await upsert_user(
                session,
                user_id=user_id,
                chat_id=user_id,
                first_name=f"User {user_id}",
                username=None,
                language_code="en",
                now=days(30),
            )
            user.state = state

        def nudge(
            sent_at: datetime | None,
            *,
            responded: bool = False,
            kind: NudgeKind = NudgeKind.NUDGE,
            state: NudgeState = NudgeState.SENT,
        ) -> Nudge:
            row = Nudge(
                user_id=1,
                due_at=sent_at or now + timedelta(hours=1),
                state=state if sent_at else NudgeState.SCHEDULED,
                kind=kind,
                sent_at=sent_at,
                response="done" if responded else None,
                responded_at=sent_at if responded else None,
                created_at=days(30),
            )
            session.add(row)
            return row

        answered_today = nudge(today, responded=True)  # answered (a response and a report)
        reported_today = nudge(today)  # answered by a report only
        nudge(today)  # unanswered
        nudge(days(3), responded=True)  # answered
        nudge(days(6))  # unanswered
        nudge(days(5), responded=True, state=NudgeState.SNOOZED)  # sent, then snoozed
        nudge(days(8), responded=True)  # older than a week
        nudge(today, responded=True, kind=NudgeKind.MORNING_CHECK)  # not a nudge
        nudge(None)  # scheduled, not sent
        await session.flush()

        def report(created_at: datetime, pain: int | None, nudge_id: int | None = None) -> None:
            session.add(
                Report(
                    user_id=1,
                    nudge_id=nudge_id,
                    reps=10,
                    pain_during=pain,
                    source=ReportSource.TEXT,
                    created_at=created_at,
                )
            )

        report(today, 2, answered_today.id)
        report(today, 4, reported_today.id)
        report(days(2), None)  # no pain score yet: counted, not averaged
        report(days(10), 1)
        report(days(12), 2)
        report(days(20), 9)  # older than two weeks


async def test_collect_stats_counts_exactly(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await populate(sessions, NOW)
    async with sessions() as session:
        stats = await collect_stats(session, NOW)
    assert stats.users == {
        UserState.NEW: 0,
        UserState.ONBOARDING: 1,
        UserState.ACTIVE: 2,
        UserState.PAUSED: 1,
        UserState.REFERRED: 0,
        UserState.BLOCKED: 1,
        UserState.STOPPED: 0,
    }
    assert (stats.sent_today, stats.sent_week, stats.answered_week) == (3, 6, 4)
    assert stats.reports_week == 3
    assert stats.pain_week == pytest.approx(3.0)
    assert stats.pain_week_before == pytest.approx(1.5)
    assert stats.pain_trend == "up"
    assert stats_text(stats) == EXPECTED_TEXT


async def test_stats_of_an_empty_database(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        stats = await collect_stats(session, NOW)
    assert stats.total_users == 0 and stats.reply_rate is None and stats.pain_trend is None
    assert stats_text(stats) == (
        "Glutebot at 2026-03-04 15:00 UTC\n"
        "Users: none yet\n"
        "Nudges sent: 0 today (UTC), 0 in the last 7 days\n"
        "Replies: no nudges sent in the last 7 days\n"
        "Reports: 0 in the last 7 days\n"
        "Pain: no scores in the last 14 days"
    )


@pytest.mark.parametrize(
    ("week", "before", "trend", "line"),
    [
        (
            2.0,
            2.4,
            "flat",
            "Pain: average 2.0/10 in the last 7 days, 2.4/10 the 7 days before (flat)",
        ),
        (
            1.0,
            2.0,
            "down",
            "Pain: average 1.0/10 in the last 7 days, 2.0/10 the 7 days before (down)",
        ),
        (3.0, None, None, "Pain: average 3.0/10 in the last 7 days (none the 7 days before)"),
        (None, 2.0, None, "Pain: no scores in the last 7 days (2.0/10 the 7 days before)"),
    ],
)
def test_pain_trend_and_its_line(
    week: float | None, before: float | None, trend: str | None, line: str
) -> None:
    stats = Stats(
        at=NOW,
        users=dict.fromkeys(UserState, 0),
        sent_today=0,
        sent_week=0,
        answered_week=0,
        pain_week=week,
        pain_week_before=before,
        reports_week=0,
    )
    assert stats.pain_trend == trend
    assert stats_text(stats).splitlines()[-1] == line


# ---- `glutebot stats` ----------------------------------------------------------------------


def run_stats(tmp_path: Path, database_url: str) -> tuple[int, str]:
    """`glutebot stats` in-process, with DATABASE_URL set and no .env (cwd is tmp_path)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        result = CliRunner().invoke(
            cli,
            ["stats"],
            env={"DATABASE_URL": database_url, "GLUTEBOT_DATA_DIR": str(tmp_path)},
            catch_exceptions=False,
        )
    return result.exit_code, result.output


def test_glutebot_stats_prints_the_numbers(tmp_path: Path) -> None:
    path = tmp_path / "glutebot.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def prepare() -> None:
        await upgrade(url)
        engine = create_engine(url)
        try:
            await populate(session_factory(engine), datetime.now(UTC))
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    code, output = run_stats(tmp_path, f"sqlite:///{path}")
    assert code == 0, output
    lines = output.strip().splitlines()
    assert lines[0].startswith("Glutebot at ")
    assert lines[1:] == EXPECTED_TEXT.splitlines()[1:]


def test_glutebot_stats_on_a_missing_file_says_so_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "glutebot.db"
    code, output = run_stats(tmp_path, f"sqlite:///{path}")
    assert code == 1
    assert output.strip() == (
        f"glutebot: there is no database at {path} yet; start the bot or run "
        "`glutebot db upgrade` (or set DATABASE_URL to the bot's database)"
    )
    assert not path.parent.exists()


def test_glutebot_stats_on_a_database_without_tables(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    code, output = run_stats(tmp_path, f"sqlite:///{path}")
    assert code == 1
    assert "has no Glutebot tables yet; start the bot or run `glutebot db upgrade`" in output
    assert "Traceback" not in output
