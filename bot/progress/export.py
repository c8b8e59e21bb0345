"""Everything stored about one user, as a CSV file and a JSON file they can open and keep.

CSV layout: one file in "long" form with four columns, `table, record, field, value`, one row
per stored value (for example `reports, 17, pain_during, 3`). Every table shares that one
header, so any spreadsheet or `csv.DictReader` opens it without knowing our tables, nested
values (screen answers, levels) need no flattening, and filtering on `table` shows one table.
Lists and mappings inside a value are compact JSON. The file is UTF-8 with a byte order mark
so that Excel reads non-Latin names correctly (read it back with encoding "utf-8-sig").

JSON layout: one pretty-printed document with sorted keys, every datetime ISO 8601 with its
offset, screens with their answers nested inside them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from bot.progress.data import LevelChange

if TYPE_CHECKING:
    from bot.db.models import Nudge, Report, Screen, User

EXPORT_FORMAT = "glutebot-export"
EXPORT_VERSION = 1
CSV_HEADER = ("table", "record", "field", "value")
# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportUser:
    """The `users` row."""

    id: int
    chat_id: int
    first_name: str
    username: str | None
    language_code: str | None
    state: str
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class ExportSettings:
    """The `user_settings` row (its `user_id` is the user's id)."""

    timezone: str
    window_start: int
    window_end: int
    nudge_interval_minutes: int
    weekends: bool
    paused_until: datetime | None
    anchors: Sequence[str]
    equipment: Sequence[str]
    focus: str | None
    levels: Mapping[str, int]
    disclaimer_shown: bool
    mix: Sequence[str]
    gentle_only: bool
    weaker_side: str | None
    unanswered_streak: int
    editing: str | None


@dataclass(frozen=True)
class ExportScreenAnswer:
    """One `screen_answers` row."""

    id: int
    step: str
    answer: Any
    answered_at: datetime


@dataclass(frozen=True)
class ExportScreen:
    """One `screens` row with its answers."""

    id: int
    started_at: datetime
    completed_at: datetime | None
    status: str
    current_step: str
    result: Mapping[str, Any] | None
    answers: Sequence[ExportScreenAnswer] = ()


@dataclass(frozen=True)
class ExportNudge:
    """One `nudges` row."""

    id: int
    due_at: datetime
    state: str
    kind: str
    exercise_id: str | None
    track: str | None
    anchor: str | None
    text: str | None
    attempts: int
    claimed_at: datetime | None
    claimed_by: str | None
    sent_at: datetime | None
    telegram_message_id: int | None
    last_error: str | None
    created_at: datetime
    target_reps: int | None
    responded_at: datetime | None
    response: str | None
    broadcast_id: int | None  # set on an operator's broadcast (kind "broadcast")


@dataclass(frozen=True)
class ExportReport:
    """One `reports` row."""

    id: int
    nudge_id: int | None
    exercise_id: str | None
    track: str | None
    reps: int | None
    sets: int | None
    pain_during: int | None
    pain_next_morning: int | None
    felt_in: str | None
    source: str
    created_at: datetime


@dataclass(frozen=True)
class ExportData:
    """Everything stored about one user, as of `exported_at`."""

    exported_at: datetime
    user: ExportUser
    settings: ExportSettings | None
    screens: Sequence[ExportScreen] = ()
    nudges: Sequence[ExportNudge] = ()
    reports: Sequence[ExportReport] = ()
    level_changes: Sequence[LevelChange] = ()


Record = TypeVar("Record")


def _record(cls: type[Record], row: Any, **given: Any) -> Record:
    """A dataclass filled from the same-named attributes of an ORM row."""
    names = [field.name for field in fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: given[name] if name in given else getattr(row, name) for name in names})


def export_data(
    user: User,
    screens: Sequence[Screen],
    nudges: Sequence[Nudge],
    reports: Sequence[Report],
    level_changes: Sequence[LevelChange],
    exported_at: datetime,
) -> ExportData:
    """`ExportData` from loaded ORM rows (screens with their answers, user with settings).

    Reads attributes only, never the database: load the relationships first (they are
    joined/selectin loaded by default), or an async session will refuse the lazy load.
    """
    return ExportData(
        exported_at=exported_at,
        user=_record(ExportUser, user),
        settings=_record(ExportSettings, user.settings) if user.settings is not None else None,
        screens=[
            _record(
                ExportScreen,
                screen,
                answers=[_record(ExportScreenAnswer, answer) for answer in screen.answers],
            )
            for screen in screens
        ],
        nudges=[_record(ExportNudge, nudge) for nudge in nudges],
        reports=[_record(ExportReport, report) for report in reports],
        level_changes=list(level_changes),
    )


def export_json(data: ExportData) -> bytes:
    """The export as a pretty-printed UTF-8 JSON document with stable (sorted) keys."""
    text = json.dumps(_document(data), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def export_csv(data: ExportData) -> bytes:
    """The export as one CSV file: `table, record, field, value` (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: quoted as needed, CRLF line ends
    writer.writerow(CSV_HEADER)
    writer.writerows(
        (table, str(record), field, _cell(value)) for table, record, field, value in _cells(data)
    )
    return buffer.getvalue().encode("utf-8-sig")


def _document(data: ExportData) -> dict[str, Any]:
    return {
        "export": {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": _plain(data.exported_at),
        },
        "user": _fields(data.user),
        "settings": _fields(data.settings) if data.settings is not None else None,
        "screens": [
            {**_fields(screen), "answers": [_fields(answer) for answer in _answers(screen)]}
            for screen in _screens(data)
        ],
        "nudges": [_fields(nudge) for nudge in _nudges(data)],
        "reports": [_fields(report) for report in _reports(data)],
        "level_changes": [_fields(change) for change in _changes(data)],
    }


def _cells(data: ExportData) -> Iterator[tuple[str, object, str, Any]]:
    """(table, record, field, value) for every stored value, table by table."""
    yield "export", "", "format", EXPORT_FORMAT
    yield "export", "", "version", EXPORT_VERSION
    yield "export", "", "exported_at", data.exported_at
    for name, value in _fields(data.user).items():
        yield "user", data.user.id, name, value
    if data.settings is not None:
        for name, value in _fields(data.settings).items():
            yield "settings", data.user.id, name, value
    for screen in _screens(data):
        for name, value in _fields(screen).items():
            yield "screens", screen.id, name, value
    for screen in _screens(data):
        for answer in _answers(screen):
            yield "screen_answers", answer.id, "screen_id", screen.id
            for name, value in _fields(answer).items():
                yield "screen_answers", answer.id, name, value
    for nudge in _nudges(data):
        for name, value in _fields(nudge).items():
            yield "nudges", nudge.id, name, value
    for report in _reports(data):
        for name, value in _fields(report).items():
            yield "reports", report.id, name, value
    for number, change in enumerate(_changes(data), start=1):
        for name, value in _fields(change).items():
            yield "level_changes", number, name, value


# Sorted by time, then id, so the same data gives the same file whatever order it came in.
def _screens(data: ExportData) -> list[ExportScreen]:
    return sorted(data.screens, key=lambda screen: (_utc(screen.started_at), screen.id))


def _answers(screen: ExportScreen) -> list[ExportScreenAnswer]:
    return sorted(screen.answers, key=lambda answer: (_utc(answer.answered_at), answer.id))


def _nudges(data: ExportData) -> list[ExportNudge]:
    return sorted(data.nudges, key=lambda nudge: (_utc(nudge.due_at), nudge.id))


def _reports(data: ExportData) -> list[ExportReport]:
    return sorted(data.reports, key=lambda report: (_utc(report.created_at), report.id))


def _changes(data: ExportData) -> list[LevelChange]:
    return sorted(
        data.level_changes,
        key=lambda change: (
            _utc(change.at),
            change.track,
            change.level_from,
            change.level_to,
            change.reason,
        ),
    )


def _fields(row: object) -> dict[str, Any]:
    """A dataclass's own fields as plain JSON values (nested screen answers left out)."""
    return {
        field.name: _plain(getattr(row, field.name))
        for field in fields(row)  # type: ignore[arg-type]
        if field.name != "answers" or not isinstance(row, ExportScreen)
    }


def _utc(moment: datetime) -> datetime:
    """Aware UTC; naive datetimes (as SQLite hands them back raw) are taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _plain(value: Any) -> Any:
    """A JSON-ready value: ISO 8601 datetimes and dates, enum values, lists, str keys."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_plain(item) for item in value), key=str)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)


def _cell(value: Any) -> str:
    """One CSV cell: empty for None, true/false, compact JSON for lists and mappings."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(_plain(value))
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text  # shown as text, never run; the JSON export keeps the raw value
    return text
