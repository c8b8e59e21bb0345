"""The /history message: the last 14 days, recent level changes and reports, in plain text.

Plain text on purpose (send it with no parse mode): exercise names and reasons need no
escaping. The message always fits one Telegram message: Telegram counts its 4096-character
limit in UTF-16 code units, so that is what is measured here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.progress.data import (
    LevelChange,
    ProgressData,
    ReportLine,
    day_words,
    direction_arrow,
    local_date,
    local_time,
    pain_words,
    track_label,
)

HISTORY_DAYS = 14
TELEGRAM_TEXT_LIMIT = 4096
MAX_LEVEL_CHANGES = 10
MAX_REPORTS = 15
LINE_LIMIT = 300  # one runaway reason or exercise name must not crowd out everything else
CUT_NOTE = "… (cut short to fit one message)"


def telegram_length(text: str) -> int:
    """The length Telegram checks against its limit: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def history_text(
    data: ProgressData, recent_reports: Sequence[ReportLine], *, limit: int = TELEGRAM_TEXT_LIMIT
) -> str:
    """The /history message, newest first, at most `limit` UTF-16 units long."""
    lines = [*_days_section(data), *_changes_section(data), *_reports_section(data, recent_reports)]
    return _fit([_clip(line) for line in lines], limit)


def _days_section(data: ProgressData) -> list[str]:
    first = data.today - timedelta(days=HISTORY_DAYS - 1)
    by_day = {totals.day: totals for totals in data.days if first <= totals.day <= data.today}
    name = " ".join(data.first_name.split())
    lines = [f"Your last {HISTORY_DAYS} days{', ' + name if name else ''} (newest first)"]
    if not by_day:
        return [
            *lines,
            "Nothing logged in these two weeks yet. Tap Done on a nudge and it shows up here.",
        ]
    reps = sum(totals.reps for totals in by_day.values())
    sessions = sum(totals.sessions for totals in by_day.values())
    lines.append(
        f"{reps} reps in {sessions} session{'s' * (sessions != 1)} "
        f"on {len(by_day)} of {HISTORY_DAYS} days."
    )
    lines.append("")
    for offset in range(HISTORY_DAYS):
        day = data.today - timedelta(days=offset)
        totals = by_day.get(day)
        if totals is None:
            lines.append(f"{day_words(day)}: rest")
            continue
        words = (
            f"{day_words(day)}: {totals.reps} reps, "
            f"{totals.sessions} session{'s' * (totals.sessions != 1)}"
        )
        pain = _pain(totals.pain_during, totals.pain_next_morning)
        lines.append(f"{words}, {pain}" if pain else words)
    return lines


def _changes_section(data: ProgressData) -> list[str]:
    if not data.level_changes:
        return []
    latest = sorted(data.level_changes, key=lambda change: change.at, reverse=True)
    lines = ["", "Level changes"]
    lines += [_change_line(change, data.timezone) for change in latest[:MAX_LEVEL_CHANGES]]
    if len(latest) > MAX_LEVEL_CHANGES:
        lines.append(f"… and {len(latest) - MAX_LEVEL_CHANGES} earlier")
    return lines


def _change_line(change: LevelChange, timezone: str) -> str:
    return (
        f"{day_words(local_date(change.at, timezone))}, {track_label(change.track)} "
        f"{change.level_from} {direction_arrow(change)} {change.level_to}: "
        f"{' '.join(change.reason.split()) or change.action}"
    )


def _reports_section(data: ProgressData, reports: Sequence[ReportLine]) -> list[str]:
    if not reports:
        return []
    latest = sorted(reports, key=lambda report: report.at, reverse=True)[:MAX_REPORTS]
    lines = ["", "Recent reports"]
    for report in latest:
        at = local_time(report.at, data.timezone)
        words = f"{day_words(at.date())} {at:%H:%M}, {' '.join(report.exercise.split())}"
        if report.reps is not None:
            words += f": {report.reps} reps"
            if report.sets and report.sets > 1:
                words += f" × {report.sets} sets"
        pain = _pain(report.pain_during, report.pain_next_morning)
        lines.append(f"{words}, {pain}" if pain else words)
    return lines


def _pain(during: float | None, next_morning: float | None) -> str:
    parts = []
    if during is not None:
        parts.append(f"pain {pain_words(during)}/10 during")
    if next_morning is not None:
        parts.append(f"{'' if parts else 'pain '}{pain_words(next_morning)}/10 next morning")
    return ", ".join(parts)


def _clip(line: str) -> str:
    return line if len(line) <= LINE_LIMIT else line[: LINE_LIMIT - 1].rstrip() + "…"


def _fit(lines: list[str], limit: int) -> str:
    """Whole lines up to the limit; when some do not fit, a note says so instead."""
    text = "\n".join(lines)
    if telegram_length(text) <= limit:
        return text
    budget = limit - telegram_length("\n" + CUT_NOTE)
    kept: list[str] = []
    used = -1  # the first line has no newline before it
    for line in lines:
        cost = telegram_length(line) + 1
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    while kept and not kept[-1].strip():
        kept.pop()  # no blank line right before the note
    return "\n".join([*kept, CUT_NOTE])
