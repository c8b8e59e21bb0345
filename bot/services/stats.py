"""The operator's numbers: users by state, nudges sent, how many got a reply, pain trend.

`collect_stats` reads them (a handful of COUNT/AVG queries, no rows loaded) and
`stats_text` writes them as a few short lines, for `glutebot stats` and the admin /stats.
Nudges here are the coaching nudges (kind "nudge"), not morning checks or summaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.db.models import Nudge, NudgeKind, Report, User, UserState

WEEK = timedelta(days=7)
# Average pain must move by at least this much (0-10 scale) to count as up or down.
TREND_STEP = 0.5
# The order states are listed in: the people being coached first.
STATE_ORDER = (
    UserState.ACTIVE,
    UserState.PAUSED,
    UserState.ONBOARDING,
    UserState.NEW,
    UserState.REFERRED,
    UserState.STOPPED,
    UserState.BLOCKED,
)
Trend = Literal["up", "down", "flat"]


@dataclass(frozen=True)
class Stats:
    """What the bot has been doing, as of `at`."""

    at: datetime
    users: dict[UserState, int]  # every state, zeros included
    sent_today: int  # nudges sent since midnight UTC
    sent_week: int  # nudges sent in the last 7 days
    answered_week: int  # of those, nudges with a response or a report
    pain_week: float | None  # average pain during exercise, last 7 days
    pain_week_before: float | None  # the same, the 7 days before that
    reports_week: int  # reports stored in the last 7 days

    @property
    def total_users(self) -> int:
        return sum(self.users.values())

    @property
    def reply_rate(self) -> float | None:
        """Answered nudges / nudges sent, last 7 days (None when none were sent)."""
        return self.answered_week / self.sent_week if self.sent_week else None

    @property
    def pain_trend(self) -> Trend | None:
        """This week's average pain against last week's (None without both)."""
        if self.pain_week is None or self.pain_week_before is None:
            return None
        change = self.pain_week - self.pain_week_before
        if change >= TREND_STEP:
            return "up"
        if change <= -TREND_STEP:
            return "down"
        return "flat"


async def collect_stats(session: AsyncSession, now: datetime) -> Stats:
    """Count users, nudges, replies and pain as of `now` (an aware datetime)."""
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week_ago, two_weeks_ago = now - WEEK, now - 2 * WEEK

    rows = await session.execute(select(User.state, func.count()).group_by(User.state))
    counts = {UserState(state): int(number) for state, number in rows.all()}
    users = {state: counts.get(state, 0) for state in UserState}

    def sent_since(start: datetime) -> tuple[ColumnElement[bool], ...]:
        return (Nudge.kind == NudgeKind.NUDGE, Nudge.sent_at >= start, Nudge.sent_at <= now)

    sent_today = await session.scalar(select(func.count()).where(*sent_since(midnight)))
    sent_week = await session.scalar(select(func.count()).where(*sent_since(week_ago)))
    has_report = exists().where(Report.nudge_id == Nudge.id)
    answered_week = await session.scalar(
        select(func.count()).where(
            *sent_since(week_ago), or_(Nudge.responded_at.is_not(None), has_report)
        )
    )
    reports_week = await session.scalar(
        select(func.count()).where(Report.created_at >= week_ago, Report.created_at <= now)
    )

    async def average_pain(*within: ColumnElement[bool]) -> float | None:
        average = await session.scalar(
            select(func.avg(Report.pain_during)).where(Report.pain_during.is_not(None), *within)
        )
        return float(average) if average is not None else None

    return Stats(
        at=now,
        users=users,
        sent_today=int(sent_today or 0),
        sent_week=int(sent_week or 0),
        answered_week=int(answered_week or 0),
        pain_week=await average_pain(Report.created_at >= week_ago, Report.created_at <= now),
        pain_week_before=await average_pain(
            Report.created_at >= two_weeks_ago, Report.created_at < week_ago
        ),
        reports_week=int(reports_week or 0),
    )


def stats_text(stats: Stats) -> str:
    """A few plain lines for an operator (no markup: fits a terminal and a Telegram message)."""
    lines = [f"Glutebot at {stats.at:%Y-%m-%d %H:%M} UTC"]
    if stats.total_users:
        parts = [f"{stats.users[s]} {s.value}" for s in STATE_ORDER if stats.users.get(s)]
        lines.append(f"Users: {stats.total_users} ({', '.join(parts)})")
    else:
        lines.append("Users: none yet")
    lines.append(
        f"Nudges sent: {stats.sent_today} today (UTC), {stats.sent_week} in the last 7 days"
    )
    rate = stats.reply_rate
    if rate is None:
        lines.append("Replies: no nudges sent in the last 7 days")
    else:
        lines.append(
            f"Replies: {rate:.0%} of the last 7 days' nudges "
            f"({stats.answered_week} of {stats.sent_week})"
        )
    lines.append(f"Reports: {stats.reports_week} in the last 7 days")
    lines.append(_pain_line(stats))
    return "\n".join(lines)


def _pain_line(stats: Stats) -> str:
    week, before = stats.pain_week, stats.pain_week_before
    if week is None and before is None:
        return "Pain: no scores in the last 14 days"
    if week is None:
        return f"Pain: no scores in the last 7 days ({before:.1f}/10 the 7 days before)"
    if before is None:
        return f"Pain: average {week:.1f}/10 in the last 7 days (none the 7 days before)"
    return (
        f"Pain: average {week:.1f}/10 in the last 7 days, {before:.1f}/10 the 7 days "
        f"before ({stats.pain_trend})"
    )
