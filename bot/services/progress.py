"""Reading a user's progress out of the database for /progress, /history, /export, summaries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Decision, Nudge, Report, Screen, ScreenStatus, User
from bot.progress.data import (
    DayTotals,
    LevelChange,
    ProgressData,
    ReportLine,
    ScreenSummary,
    local_date,
    mean,
)
from bot.progress.export import ExportData, export_data
from bot.progress.streak import Streak, weekly_streak
from content import Library, load_library

if TYPE_CHECKING:
    from bot.progress.physio import PhysioData

LOOK_BACK = timedelta(days=42)  # six weeks: the chart shows four, the physio report six


async def progress_data(session: AsyncSession, user: User, now: datetime) -> ProgressData:
    """Daily totals, levels and level changes, in the user's time zone."""
    zone = user.settings.timezone
    reports = await _reports(session, user.id, now - LOOK_BACK)
    by_day: dict[date, list[Report]] = defaultdict(list)
    for report in reports:
        by_day[local_date(report.created_at, zone)].append(report)
    days = [
        DayTotals(
            day=day,
            reps=sum((r.reps or 0) * (r.sets or 1) for r in rows),
            sessions=len(rows),
            pain_during=mean([r.pain_during for r in rows if r.pain_during is not None]),
            pain_next_morning=mean(
                [r.pain_next_morning for r in rows if r.pain_next_morning is not None]
            ),
        )
        for day, rows in sorted(by_day.items())
    ]
    return ProgressData(
        first_name=user.first_name,
        today=local_date(now, zone),
        days=days,
        levels=dict(user.settings.levels),
        level_changes=await level_changes(session, user.id),
        focus=user.settings.focus,
        timezone=zone,
    )


async def level_changes(session: AsyncSession, user_id: int) -> list[LevelChange]:
    """Every progression decision, oldest first."""
    rows = await session.scalars(
        select(Decision).where(Decision.user_id == user_id).order_by(Decision.created_at)
    )
    return [
        LevelChange(
            at=row.created_at,
            track=row.track,
            level_from=row.level_from,
            level_to=row.level_to,
            action=row.action,
            reason=row.reason,
            id=row.id,
            exercise_id=row.exercise_id,
            report_id=row.report_id,
        )
        for row in rows
    ]


async def report_lines(session: AsyncSession, user_id: int, limit: int = 15) -> list[ReportLine]:
    """The latest reports, with exercises named in plain words."""
    library = load_library()
    rows = await session.scalars(
        select(Report)
        .where(Report.user_id == user_id)
        .order_by(Report.created_at.desc())
        .limit(limit)
    )
    return [
        ReportLine(
            at=row.created_at,
            exercise=_exercise_name(library, row.exercise_id),
            track=row.track,
            reps=row.reps,
            sets=row.sets,
            pain_during=row.pain_during,
            pain_next_morning=row.pain_next_morning,
        )
        for row in rows
    ]


def streak_of(data: ProgressData) -> Streak:
    """The forgiving weekly streak from the days with a report."""
    return weekly_streak({day.day for day in data.days if day.sessions}, data.today)


async def physio_data(session: AsyncSession, user: User, now: datetime) -> PhysioData:
    """What the physio report needs: progress and the latest finished screen."""
    screen = await session.scalar(
        select(Screen)
        .where(Screen.user_id == user.id, Screen.status == ScreenStatus.COMPLETED)
        .order_by(Screen.completed_at.desc())
        .limit(1)
    )
    summary = (
        ScreenSummary(
            answers={answer.step: answer.answer for answer in screen.answers},
            result=screen.result,
            completed_at=screen.completed_at,
        )
        if screen is not None
        else None
    )
    from bot.progress.physio import PhysioData  # fpdf and matplotlib: only when asked for

    return PhysioData(
        progress=await progress_data(session, user, now),
        generated_at=now,
        screen=summary,
        member_since=local_date(user.created_at, user.settings.timezone),
    )


async def everything_about(session: AsyncSession, user: User, now: datetime) -> ExportData:
    """Every row stored about the user, for /export."""
    screens = (
        await session.scalars(select(Screen).where(Screen.user_id == user.id).order_by(Screen.id))
    ).all()
    nudges = (
        await session.scalars(select(Nudge).where(Nudge.user_id == user.id).order_by(Nudge.id))
    ).all()
    reports = (
        await session.scalars(select(Report).where(Report.user_id == user.id).order_by(Report.id))
    ).all()
    return export_data(user, screens, nudges, reports, await level_changes(session, user.id), now)


async def _reports(session: AsyncSession, user_id: int, since: datetime) -> list[Report]:
    return list(
        (
            await session.scalars(
                select(Report)
                .where(Report.user_id == user_id, Report.created_at >= since)
                .order_by(Report.created_at)
            )
        ).all()
    )


def _exercise_name(library: Library, exercise_id: str | None) -> str:
    exercise = library.exercises.get(exercise_id or "")
    return exercise.name if exercise is not None else "exercise not named"
