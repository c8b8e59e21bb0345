"""The progress renderers: chart, streak, /history, export and the physio PDF (issue: progress)."""

from __future__ import annotations

import csv
import gc
import io
import json
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from PIL import Image
from pypdf import PdfReader

from bot.db.models import Decision, Nudge, Report, Screen, ScreenAnswer, User, UserSettings
from bot.progress import chart as chart_module
from bot.progress.chart import CHART_HEIGHT_PX, CHART_WIDTH_PX, progress_chart
from bot.progress.data import DayTotals, LevelChange, ProgressData, ReportLine, ScreenSummary
from bot.progress.export import (
    CSV_HEADER,
    ExportData,
    ExportNudge,
    ExportReport,
    ExportScreen,
    ExportScreenAnswer,
    ExportSettings,
    ExportUser,
    export_csv,
    export_data,
    export_json,
)
from bot.progress.history import CUT_NOTE, TELEGRAM_TEXT_LIMIT, history_text
from bot.progress.physio import PHYSIO_PAGES, PhysioData, physio_report
from bot.progress.streak import Streak, streak_line, weekly_streak

TODAY = date(2025, 3, 12)  # a Wednesday
NAME = "Zoë Łukasz"
T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


# Inputs ------------------------------------------------------------------------------------


def realistic_days(today: date = TODAY, count: int = 28) -> list[DayTotals]:
    """Most days active, a few rest days, pain easing over the weeks."""
    days = []
    for offset in range(count):
        if offset % 7 in (2, 5):
            continue  # rest days
        days.append(
            DayTotals(
                day=today - timedelta(days=offset),
                reps=12 + (offset * 7) % 25,
                sessions=1 + offset % 4,
                pain_during=min(10.0, 1 + offset / 6),
                pain_next_morning=(offset % 4) / 2 if offset % 3 else None,
            )
        )
    return days


def change(day: date, track: str, level_from: int, level_to: int, reason: str) -> LevelChange:
    action = "advance" if level_to > level_from else "regress"
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return LevelChange(at, track, level_from, level_to, action, reason)


CHANGES = [
    change(TODAY - timedelta(days=20), "activation", 1, 2, "Three easy sessions in a row."),
    change(TODAY - timedelta(days=9), "hip_extension", 1, 2, "Felt in the glutes, pain 1/10."),
    change(TODAY - timedelta(days=9), "activation", 2, 3, "Ready for the next rung."),
    change(TODAY - timedelta(days=3), "strength", 2, 1, "Knee pain rose to 6/10 next morning."),
]


def progress(**overrides: object) -> ProgressData:
    values: dict[str, object] = {
        "first_name": NAME,
        "today": TODAY,
        "days": realistic_days(),
        "levels": {"activation": 3, "hip_extension": 2, "strength": 1},
        "level_changes": CHANGES,
        "focus": "hip_extension",
        "timezone": "Europe/Berlin",
    }
    values.update(overrides)
    return ProgressData(**values)  # type: ignore[arg-type]


REALISTIC = progress()
SPARSE = progress(
    days=[
        DayTotals(TODAY - timedelta(days=25), reps=8, sessions=1, pain_during=4),
        DayTotals(TODAY, reps=10, sessions=1),
    ],
    level_changes=[],
    focus=None,
)
EMPTY = ProgressData(first_name=NAME, today=TODAY)


# The chart ---------------------------------------------------------------------------------


def decode(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (CHART_WIDTH_PX, CHART_HEIGHT_PX)
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def colour_pixels(pixels: np.ndarray, hex_colour: str, tolerance: int = 12) -> int:
    """How many pixels are (close to) this colour."""
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return int((np.abs(pixels - target).max(axis=2) <= tolerance).sum())


CHART_INPUTS = {"realistic": REALISTIC, "sparse": SPARSE, "empty": EMPTY}


@cache
def chart_of(name: str) -> bytes:
    """Each standard chart rendered once for the whole module: renders are the slow part."""
    return progress_chart(CHART_INPUTS[name])


@pytest.mark.parametrize("name", list(CHART_INPUTS))
def test_chart_is_a_non_blank_png_of_the_documented_size(name: str) -> None:
    pixels = decode(chart_of(name))
    assert CHART_WIDTH_PX == 1200 and CHART_HEIGHT_PX == 800
    assert pixels.std() > 20  # text, axes and legend at least: not a blank canvas


def test_chart_draws_reps_pain_and_level_changes() -> None:
    full, empty = decode(chart_of("realistic")), decode(chart_of("empty"))
    no_changes = decode(progress_chart(replace(REALISTIC, level_changes=[])))
    bars = colour_pixels(full, chart_module.REPS_COLOUR)
    assert bars > 20 * colour_pixels(empty, chart_module.REPS_COLOUR)  # only the legend swatch
    assert colour_pixels(full, chart_module.PAIN_DURING_COLOUR) > 3 * colour_pixels(
        empty, chart_module.PAIN_DURING_COLOUR
    )
    # The level markers: up (green) and down (orange) lines beyond the legend's samples.
    for colour in (chart_module.UP_COLOUR, chart_module.DOWN_COLOUR):
        assert colour_pixels(full, colour) > colour_pixels(no_changes, colour) + 60


def test_chart_survives_odd_input() -> None:
    odd = progress(
        first_name="🍑🍑 " + "Ω" * 200,
        timezone="Not/AZone",
        focus="retired_track",
        days=[*realistic_days(), DayTotals(TODAY + timedelta(days=3), 5, 1)],  # future day
        level_changes=[
            *[change(TODAY, "made_up_track", 1, 2, "x") for _ in range(6)],
            LevelChange(datetime(2025, 3, 1, 9), "strength", 2, 2, "hold", "naive datetime"),
        ],
    )
    decode(progress_chart(odd))


def test_many_charts_do_not_leave_figures_behind() -> None:
    import matplotlib.pyplot as plt  # only to prove the renderer never registers figures there

    def live_figures() -> int:
        gc.collect()
        return sum(isinstance(thing, Figure) for thing in gc.get_objects())

    chart_of("empty")
    before = live_figures()
    for data in [REALISTIC, SPARSE, EMPTY, EMPTY]:
        progress_chart(data)
    assert live_figures() == before
    assert plt.get_fignums() == []


def test_charts_render_the_same_from_several_threads() -> None:
    expected = [chart_of(name) for name in CHART_INPUTS]
    with ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(progress_chart, CHART_INPUTS.values())) == expected


# The streak --------------------------------------------------------------------------------


def days_of(start: date, *offsets: int) -> set[date]:
    return {start + timedelta(days=offset) for offset in offsets}


MON = date(2025, 3, 10)  # the Monday of TODAY's week
MON_WEDS_FRI = set().union(*(days_of(MON - timedelta(weeks=n), 0, 2, 4) for n in range(1, 5)))

STREAKS = [
    # (name, active days, today, target, weeks, this week's days)
    ("nothing yet", set(), TODAY, 3, 0, 0),
    ("rest days between never break it", MON_WEDS_FRI, MON, 3, 4, 1 * (MON in MON_WEDS_FRI)),
    ("week in progress does not break it", MON_WEDS_FRI, MON + timedelta(days=6), 3, 4, 0),
    ("week in progress counts once met", MON_WEDS_FRI | days_of(MON, 0, 1, 2), TODAY, 3, 5, 3),
    ("more than the target", days_of(MON, 0, 1, 2, 3, 4, 5), MON + timedelta(days=6), 3, 1, 6),
    (
        "a finished week below target breaks it",
        days_of(MON - timedelta(weeks=3), 0, 1, 2)
        | days_of(MON - timedelta(weeks=2), 0, 6)  # two days only
        | days_of(MON - timedelta(weeks=1), 1, 3, 5),
        TODAY,
        3,
        1,
        0,
    ),
    (
        "last week below target: no streak until this week is met",
        days_of(MON - timedelta(weeks=2), 0, 2, 4) | days_of(MON - timedelta(weeks=1), 3),
        TODAY,
        3,
        0,
        0,
    ),
    ("days after today are ignored", days_of(MON, 1, 3, 4, 5), TODAY, 3, 0, 1),
    ("a lower target", days_of(MON - timedelta(weeks=1), 6) | days_of(MON, 0), TODAY, 1, 2, 1),
    # 29 Dec 2025 to 4 Jan 2026 is one ISO week (2026-W01) across the new year.
    (
        "an ISO week across new year",
        {date(2025, 12, 29), date(2025, 12, 31), date(2026, 1, 1)}
        | {date(2025, 12, 22), date(2025, 12, 24), date(2025, 12, 28)},
        date(2026, 1, 2),
        3,
        2,
        3,
    ),
    # 2020 had 53 ISO weeks: the week before 2021-W01 is 2020-W53 (28 Dec - 3 Jan).
    (
        "week 53",
        {date(2020, 12, 28), date(2020, 12, 30), date(2021, 1, 3)}
        | {date(2020, 12, 21), date(2020, 12, 22), date(2020, 12, 23)},
        date(2021, 1, 6),
        3,
        2,
        0,
    ),
]


@pytest.mark.parametrize(
    ("active", "today", "target", "weeks", "this_week"),
    [case[1:] for case in STREAKS],
    ids=[case[0] for case in STREAKS],
)
def test_weekly_streak(
    active: set[date], today: date, target: int, weeks: int, this_week: int
) -> None:
    assert weekly_streak(active, today, target_days_per_week=target) == Streak(
        weeks=weeks, this_week_days=this_week, target=target
    )


@pytest.mark.parametrize("target", [0, 8])
def test_streak_target_must_fit_in_a_week(target: int) -> None:
    with pytest.raises(ValueError, match="1-7"):
        weekly_streak(set(), TODAY, target_days_per_week=target)


@pytest.mark.parametrize(
    ("streak", "line"),
    [
        (Streak(3, 2, 3), "3 weeks in a row with at least 3 active days. This week: 2 of 3."),
        (Streak(1, 4, 3), "1 week in a row with at least 3 active days. This week: 4 active days, target met."),  # noqa: E501
        (Streak(0, 0, 3), "No streak yet: aim for at least 3 active days a week. This week: 0 of 3."),  # noqa: E501
        (Streak(2, 1, 1), "2 weeks in a row with at least 1 active day. This week: 1 active day, target met."),  # noqa: E501
    ],
)  # fmt: skip
def test_streak_line(streak: Streak, line: str) -> None:
    assert streak_line(streak) == line


# /history ----------------------------------------------------------------------------------


REPORTS = [
    ReportLine(datetime(2025, 3, 12, 13, 5, tzinfo=UTC), "Glute bridge", "hip_extension", 12, 2, 2),
    ReportLine(datetime(2025, 3, 11, 7, 30, tzinfo=UTC), "Seated squeeze", "activation", 10, 1),
]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_history_shows_days_changes_and_reports() -> None:
    text = history_text(REALISTIC, REPORTS)
    lines = text.splitlines()
    assert NAME in lines[0]
    day_lines = [
        line for line in lines if line[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    ]
    # 14 days newest first, then changes and reports (which also start with a weekday).
    assert day_lines[0].startswith("Wed 12 Mar: 12 reps, 1 session, pain 1/10 during")
    assert "Mon 10 Mar: rest" in lines  # offset 2 is a rest day in realistic_days
    assert not any(line.startswith("Wed 26 Feb") for line in lines)  # 15 days ago: outside
    assert "Sun 9 Mar, strength 2 ↓ 1: Knee pain rose to 6/10 next morning." in lines
    assert "Mon 3 Mar, hip extension 1 ↑ 2: Felt in the glutes, pain 1/10." in lines
    # Local time: Berlin is UTC+1 in March.
    assert "Wed 12 Mar 14:05, Glute bridge: 12 reps × 2 sets, pain 2/10 during" in lines
    assert "Tue 11 Mar 08:30, Seated squeeze: 10 reps" in lines
    assert CUT_NOTE not in text


def test_history_when_nothing_happened_is_friendly() -> None:
    text = history_text(EMPTY, [])
    assert "Nothing logged" in text and "rest" not in text


def test_history_fits_one_telegram_message_with_huge_data() -> None:
    huge = progress(
        first_name="Z" * 5000,
        level_changes=[change(TODAY, "strength", 1, 2, "🍑 pain " * 800)] * 500,
    )
    reports = [ReportLine(T0, "🍑" * 2000, "strength", 10, 3, 4, 5)] * 2000
    text = history_text(huge, reports)
    # Telegram counts UTF-16 code units: each emoji is two.
    assert utf16_units(text) <= TELEGRAM_TEXT_LIMIT
    assert text.endswith(CUT_NOTE)
    assert text.splitlines()[0].startswith("Your last 14 days")


@settings(max_examples=40, deadline=None)
@given(
    reason=st.text(max_size=600),
    exercise=st.text(max_size=600),
    changes=st.integers(0, 40),
    reports=st.integers(0, 60),
)
def test_history_never_exceeds_the_limit(
    reason: str, exercise: str, changes: int, reports: int
) -> None:
    data = progress(level_changes=[change(TODAY, "strength", 1, 2, reason)] * changes)
    text = history_text(data, [ReportLine(T0, exercise, None, 1)] * reports)
    assert utf16_units(text) <= TELEGRAM_TEXT_LIMIT


# Export ------------------------------------------------------------------------------------


def orm_rows() -> tuple[User, list[Screen], list[Nudge], list[Report]]:
    """Transient ORM rows (no session), the way the lead will have loaded them."""
    user = User(
        id=42, chat_id=42, first_name="=HYPERLINK(\"x\")", username=None, language_code="de",
        state="active", created_at=T0, updated_at=T0, last_seen_at=T0 + timedelta(days=60),
    )  # fmt: skip
    user.settings = UserSettings(
        user_id=42, timezone="Europe/Berlin", window_start=540, window_end=1080,
        nudge_interval_minutes=75, weekends=False, paused_until=None, anchors=["kettle"],
        equipment=["band"], focus="hip_extension", levels={"activation": 3}, disclaimer_shown=True,
        mix=["activation"], gentle_only=False, weaker_side="right", unanswered_streak=0,
        editing=None,
    )  # fmt: skip
    screen = Screen(
        id=7, user_id=42, started_at=T0, completed_at=T0 + timedelta(minutes=9),
        status="completed", current_step="done",
        result={"focus": "hip_extension", "levels": {"activation": 1}},
    )  # fmt: skip
    screen.answers = [
        ScreenAnswer(id=71, screen_id=7, step="pain_now", answer=3, answered_at=T0),
        ScreenAnswer(
            id=72,
            screen_id=7,
            step="red_flags",
            answer=["trauma"],
            answered_at=T0 + timedelta(minutes=1),
        ),
    ]
    nudges = [
        Nudge(
            id=100 + n,
            user_id=42,
            due_at=T0 + timedelta(hours=n),
            state="sent",
            kind="nudge",
            exercise_id="glute_bridge",
            track="hip_extension",
            anchor=None,
            text="Bridge ×10",
            attempts=1,
            claimed_at=None,
            claimed_by=None,
            sent_at=T0 + timedelta(hours=n),
            telegram_message_id=900 + n,
            last_error=None,
            created_at=T0,
            target_reps=10,
            responded_at=None,
            response="done",
        )
        for n in range(3)
    ]
    reports = [
        Report(
            id=500 + n,
            user_id=42,
            nudge_id=100 + n,
            exercise_id="glute_bridge",
            track="hip_extension",
            reps=10,
            sets=2,
            pain_during=n,
            pain_next_morning=None,
            felt_in="glutes",
            source="button",
            created_at=T0 + timedelta(hours=n, minutes=5),
        )
        for n in range(3)
    ]
    return user, [screen], nudges, reports


def sample_export() -> ExportData:
    user, screens, nudges, reports = orm_rows()
    return export_data(user, screens, nudges, reports, CHANGES, T0 + timedelta(days=70))


@pytest.mark.parametrize(
    ("model", "record", "implied"),
    [
        (User, ExportUser, set()),
        (UserSettings, ExportSettings, {"user_id"}),
        (Screen, ExportScreen, {"user_id"}),
        (ScreenAnswer, ExportScreenAnswer, {"screen_id"}),
        (Nudge, ExportNudge, {"user_id"}),
        (Report, ExportReport, {"user_id"}),
        (Decision, LevelChange, {"user_id"}),
    ],
)
def test_export_covers_every_stored_column(model: type, record: type, implied: set[str]) -> None:
    # A new column must be added to the export too: "everything stored about one user".
    columns = {column.name for column in model.__table__.columns} - implied  # type: ignore[attr-defined]
    renamed = {"at": "created_at"}  # a decision's time is `at` in LevelChange
    exported = {renamed.get(field.name, field.name) for field in fields(record)} - {"answers"}
    assert columns == exported


def read_csv(data: ExportData) -> list[dict[str, str]]:
    raw = export_csv(data)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for spreadsheets
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_export_csv_parses_back_with_every_value() -> None:
    rows = read_csv(sample_export())
    assert tuple(rows[0]) == CSV_HEADER
    records = {(row["table"], row["record"]) for row in rows}
    tables = {table for table, _ in records}
    assert tables == {
        "export", "user", "settings", "screens", "screen_answers", "nudges", "reports",
        "level_changes",
    }  # fmt: skip
    assert sum(table == "nudges" for table, _ in records) == 3
    assert sum(table == "reports" for table, _ in records) == 3
    assert sum(table == "level_changes" for table, _ in records) == len(CHANGES)
    value = {(row["table"], row["record"], row["field"]): row["value"] for row in rows}
    assert value["reports", "501", "pain_during"] == "1"
    assert value["reports", "500", "pain_next_morning"] == ""  # None is an empty cell
    assert value["settings", "42", "weekends"] == "false"
    assert json.loads(value["settings", "42", "levels"]) == {"activation": 3}
    assert json.loads(value["screen_answers", "72", "answer"]) == ["trauma"]
    assert value["screen_answers", "72", "screen_id"] == "7"
    assert value["user", "42", "first_name"] == '\'=HYPERLINK("x")'  # never run as a formula
    created = datetime.fromisoformat(value["reports", "502", "created_at"])
    assert created == T0 + timedelta(hours=2, minutes=5) and created.tzinfo is not None
    assert value["level_changes", "4", "reason"] == CHANGES[-1].reason


def test_export_json_parses_back_with_every_section() -> None:
    document = json.loads(export_json(sample_export()).decode("utf-8"))
    assert set(document) == {
        "export", "user", "settings", "screens", "nudges", "reports", "level_changes",
    }  # fmt: skip
    assert document["user"]["first_name"] == '=HYPERLINK("x")'  # raw in JSON
    assert document["settings"]["levels"] == {"activation": 3}
    [screen] = document["screens"]
    assert [answer["step"] for answer in screen["answers"]] == ["pain_now", "red_flags"]
    assert screen["result"]["focus"] == "hip_extension"
    assert len(document["nudges"]) == 3 and len(document["reports"]) == 3
    in_order = sorted(CHANGES, key=lambda change: (change.at, change.track))
    assert [c["reason"] for c in document["level_changes"]] == [c.reason for c in in_order]
    for moment in (
        document["export"]["exported_at"],
        document["user"]["created_at"],
        screen["answers"][0]["answered_at"],
        document["nudges"][0]["due_at"],
        document["level_changes"][0]["at"],
    ):
        assert datetime.fromisoformat(moment).tzinfo is not None


def test_exports_are_stable_whatever_order_rows_come_in() -> None:
    data = sample_export()
    shuffled = replace(
        data,
        nudges=random.Random(1).sample(list(data.nudges), k=len(data.nudges)),
        reports=list(reversed(data.reports)),
        level_changes=list(reversed(data.level_changes)),
    )
    assert export_json(shuffled) == export_json(data)
    assert export_csv(shuffled) == export_csv(data)
    text = export_json(data).decode("utf-8")
    assert text.startswith('{\n  "export"')  # pretty-printed, keys sorted


def test_export_of_a_user_with_no_settings_and_no_rows() -> None:
    data = ExportData(T0, replace(sample_export().user, first_name=NAME), None)
    assert json.loads(export_json(data))["settings"] is None
    rows = read_csv(data)
    assert {row["table"] for row in rows} == {"export", "user"}
    assert any(row["value"] == NAME for row in rows)


# The physio PDF ----------------------------------------------------------------------------


ANSWERS = {
    "context": "desk_work",
    "sitting_hours": 9,
    "experience": "some",
    "equipment": ["band"],
    "pain_now": 3,
    "pain_sites": ["lower_back"],
    "red_flags": ["trauma"],
    "cleared_by_clinician": True,
    "squeeze_left": "glute_only",
    "squeeze_right": "back_tightened",
    "prone_left": "hamstring_first",
    "prone_right": "glute_first",
    "anchors": ["kettle"],
    "timezone": {"zone": "Europe/Berlin"},
}
RESULT = {
    "focus": "hip_extension",
    "levels": {"activation": 1, "hip_extension": 1, "strength": 1},
    "mix": ["activation"],
    "flags": [],
    "weaker_side": "right",
    "explanation": ["Your right side needed more help in the self-tests."],
}


def physio_data(data: ProgressData = REALISTIC, *, screen: bool = True) -> PhysioData:
    return PhysioData(
        progress=data,
        generated_at=datetime(2025, 3, 12, 18, tzinfo=UTC),
        screen=ScreenSummary(ANSWERS, RESULT, T0) if screen else None,
        member_since=T0.date(),
    )


@cache
def standard_pdf() -> bytes:
    return physio_report(physio_data())


def pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_physio_report_shows_who_the_screen_and_the_levels() -> None:
    pages, text = pdf_text(standard_pdf())
    assert pages == PHYSIO_PAGES == 2
    assert NAME in text
    for words in (
        "Only the glute",  # left seated squeeze, in the words of the buttons
        "My lower back tightened",
        "Back of my thigh",
        "3/10; where: Lower back",
        "A recent fall or injury",
        "clinician has checked",
        "Starting focus hip extension",
        "Why this start",
        "Felt in the glutes, pain 1/10.",  # level-change reasons
        "Knee pain rose to 6/10 next morning.",
        "Weekly volume and pain",
        "not a diagnosis",
    ):
        assert words in text, words


def test_physio_report_embeds_the_chart() -> None:
    reader = PdfReader(io.BytesIO(standard_pdf()))
    assert len(reader.pages[1].images) == 1
    assert not reader.pages[0].images


@pytest.mark.parametrize(
    "data",
    [
        physio_data(EMPTY, screen=False),
        physio_data(progress(first_name="🍑 Zoë Łukasz 🍑")),
        physio_data(
            progress(
                first_name="W" * 300,
                days=realistic_days(count=400),
                level_changes=[change(TODAY, "x" * 90, 1, 2, "long reason " * 90)] * 300,
                levels={f"track_{n}": n for n in range(40)},
            )
        ),
    ],
    ids=["empty", "emoji-name", "huge"],
)
def test_physio_report_is_always_two_pages(data: PhysioData) -> None:
    pages, text = pdf_text(physio_report(data))
    assert pages == PHYSIO_PAGES
    assert "🍑" not in text  # dropped, not drawn as empty boxes


def test_physio_report_is_the_same_for_the_same_input() -> None:
    assert physio_report(physio_data()) == standard_pdf()
