"""A two-page PDF for the user to hand to a clinician: the screen, levels, volume and pain.

Always exactly `PHYSIO_PAGES` (2) pages for any input: page 1 is who, when and the screen;
page 2 is the level changes, the weekly table and the chart. Long content is bounded (at most
`MAX_CHANGES` level changes, `MAX_WEEKS` weeks, `MAX_EXPLANATION_LINES` lines of the why, each
table cell clipped to its column) so it can never spill onto a third page.

Text is set in DejaVu Sans (embedded from matplotlib) because the core PDF fonts are Latin-1
only and names can be in any script; characters it cannot draw, such as emoji, are dropped.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.util import Padding

from bot.onboarding.summary import answer_words
from bot.progress.chart import CHART_HEIGHT_PX, CHART_WIDTH_PX, progress_chart
from bot.progress.data import (
    MONTHS,
    DayTotals,
    LevelChange,
    ProgressData,
    ScreenSummary,
    direction_arrow,
    local_date,
    mean,
    pain_words,
    track_label,
    week_start,
)
from bot.progress.fonts import DEJAVU_SANS, DEJAVU_SANS_BOLD, printable
from content.vocabulary import Track

PHYSIO_PAGES = 2
MAX_CHANGES = 8
MAX_WEEKS = 6
MAX_EXPLANATION_LINES = 8
MAX_REASON_LINES = 2
MAX_TRACK_ROWS = 8

FONT = "DejaVu"
MARGIN = 15  # mm, A4 portrait
CONTENT_WIDTH = 210 - 2 * MARGIN
CHART_WIDTH_MM = 138
ROW = 6.0  # table row height, mm
LINE = 5.0  # text line height, mm

FLAG_WORDS = {
    "gentle_activation_only": "gentle activation only (high pain at rest)",
    "see_clinician_first": "asked to see a clinician before exercising",
    "urgent_same_day": "advised to get a same-day medical check",
}
SIDE_TESTS = (
    ("Seated squeeze (what else tensed)", "squeeze_left", "squeeze_right"),
    ("Prone leg lift (what fired first)", "prone_left", "prone_right"),
)
BACKGROUND = (
    ("Main reason", "context"),
    ("Hours sitting a day", "sitting_hours"),
    ("Training now", "experience"),
    ("Equipment", "equipment"),
)
DISCLAIMER = (
    "This is a coaching log kept by Glutebot from what the user reported in a chat. It is "
    "not a diagnosis or a clinical assessment; the self-tests are rough guides done alone."
)


@dataclass(frozen=True)
class PhysioData:
    """What the physio report shows: progress (days may reach back further) and the screen."""

    progress: ProgressData
    generated_at: datetime
    screen: ScreenSummary | None = None
    member_since: date | None = None


class _Report(FPDF):
    """A4 pages with the disclaimer and page numbers in the footer."""

    def footer(self) -> None:
        self.set_y(-17)
        self.set_font(FONT, size=7.5)
        self.set_text_color(110)
        self.multi_cell(CONTENT_WIDTH, 3.5, DISCLAIMER, align="L")
        self.cell(CONTENT_WIDTH, 3.5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)


def physio_report(data: PhysioData) -> bytes:
    """The report as PDF bytes, exactly `PHYSIO_PAGES` pages long."""
    pdf = _Report(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(FONT, "", str(DEJAVU_SANS))
    pdf.add_font(FONT, "B", str(DEJAVU_SANS_BOLD))
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    # Left on, with the bounds above, so a layout mistake shows up as a third page in tests.
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_creation_date(data.generated_at)  # same input, same bytes
    name = printable(data.progress.first_name) or "the user"
    pdf.set_title(f"Glutebot coaching log: {name}")
    pdf.set_author("Glutebot")

    pdf.add_page()
    _first_page(pdf, data, name)
    pdf.add_page()
    _second_page(pdf, data)
    return bytes(pdf.output())


# Page 1: who, when, the screen -------------------------------------------------------------


def _first_page(pdf: FPDF, data: PhysioData, name: str) -> None:
    progress = data.progress
    _title(pdf, "Glutebot coaching log")
    _pair(pdf, "For", name)
    _pair(pdf, "Prepared on", _date(local_date(data.generated_at, progress.timezone)))
    _pair(pdf, "Time zone", printable(progress.timezone))
    if data.member_since is not None:
        _pair(pdf, "Coached since", _date(data.member_since))
    screen = data.screen
    if screen is not None and screen.completed_at is not None:
        _pair(pdf, "Latest screen", _date(local_date(screen.completed_at, progress.timezone)))
    if progress.focus:
        _pair(pdf, "Current focus", track_label(progress.focus))

    _heading(pdf, "Screen results (self-reported)")
    if screen is None:
        _text(pdf, "No completed screen on record yet.")
    else:
        _screen(pdf, screen)
    _heading(pdf, "Programme: starting and current levels")
    _programme(pdf, screen.result if screen else None, progress.levels)


def _screen(pdf: FPDF, screen: ScreenSummary) -> None:
    answers = screen.answers
    for label, key in BACKGROUND:
        if key in answers:
            _pair(pdf, label, _answer(key, answers[key]))
    pain = _answer("pain_now", answers["pain_now"]) if "pain_now" in answers else "not answered"
    if answers.get("pain_now") and answers.get("pain_sites"):
        pain += f"; where: {_answer('pain_sites', answers['pain_sites'])}"
    _pair(pdf, "Pain at rest", pain)
    flags = _answer("red_flags", answers["red_flags"]) if "red_flags" in answers else "not asked"
    if answers.get("cleared_by_clinician"):
        flags += " (user says a clinician has checked these)"
    _pair(pdf, "Red flags answered", flags)

    pdf.ln(2)
    widths = (70, 55, 55)
    _row(pdf, widths, ("Self-test", "Left", "Right"), bold=True)
    for label, left, right in SIDE_TESTS:
        _row(
            pdf,
            widths,
            (
                label,
                _answer(left, answers[left]) if left in answers else "not done",
                _answer(right, answers[right]) if right in answers else "not done",
            ),
        )


def _programme(pdf: FPDF, result: Mapping[str, Any] | None, current: Mapping[str, int]) -> None:
    result = result or {}
    if result.get("focus"):
        _pair(pdf, "Starting focus", track_label(str(result["focus"])))
    if result.get("mix"):
        _pair(pdf, "Mixed in", ", ".join(track_label(str(track)) for track in result["mix"]))
    if result.get("weaker_side"):
        _pair(pdf, "Weaker side", str(result["weaker_side"]))
    flags = [
        FLAG_WORDS.get(str(flag), str(flag).replace("_", " ")) for flag in result.get("flags", [])
    ]
    _pair(pdf, "Safety flags", "; ".join(flags) if flags else "none")

    starting: Mapping[str, Any] = result.get("levels") or {}
    known = [track.value for track in Track]
    # Unknown tracks (from an older library) still show, but never more rows than fit.
    tracks = (known + sorted((set(starting) | set(current)) - set(known)))[:MAX_TRACK_ROWS]
    pdf.ln(2)
    widths = (80, 50, 50)
    _row(pdf, widths, ("Track", "Starting level", "Current level"), bold=True)
    for track in tracks:
        if track in starting or track in current:
            _row(
                pdf,
                widths,
                (
                    track_label(track),
                    str(starting.get(track, "-")),
                    str(current.get(track, "-")),
                ),
            )

    explanation = [printable(str(line)) for line in result.get("explanation", [])]
    if explanation:
        pdf.ln(2)
        pdf.set_font(FONT, "B", 10)
        pdf.cell(CONTENT_WIDTH, LINE, "Why this start", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, size=9.5)
        lines: list[str] = []
        for paragraph in explanation:
            lines += _wrap(pdf, f"• {paragraph}", CONTENT_WIDTH)
        if len(lines) > MAX_EXPLANATION_LINES:
            lines = [
                *lines[: MAX_EXPLANATION_LINES - 1],
                _fit(pdf, lines[MAX_EXPLANATION_LINES - 1] + " …", CONTENT_WIDTH),
            ]
        for line in lines:
            pdf.cell(CONTENT_WIDTH, 4.5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


# Page 2: levels over time, weekly volume and pain, the chart -------------------------------


def _second_page(pdf: FPDF, data: PhysioData) -> None:
    progress = data.progress
    _heading(pdf, "Levels over time", top=False)
    _changes(pdf, progress.level_changes, progress.timezone)
    _heading(pdf, "Weekly volume and pain (0-10, averages of daily averages)")
    _weeks(pdf, progress.days, progress.today)
    pdf.ln(3)
    height = CHART_WIDTH_MM * CHART_HEIGHT_PX / CHART_WIDTH_PX
    pdf.image(
        io.BytesIO(progress_chart(progress)),
        x=MARGIN + (CONTENT_WIDTH - CHART_WIDTH_MM) / 2,
        w=CHART_WIDTH_MM,
        h=height,
        alt_text="Reps per day and pain over the last four weeks",
    )


def _changes(pdf: FPDF, changes: Sequence[LevelChange], timezone: str) -> None:
    if not changes:
        _text(pdf, "No level changes yet.")
        return
    ordered = sorted(changes, key=lambda change: change.at)
    shown = ordered[-MAX_CHANGES:]
    if len(ordered) > len(shown):
        _text(pdf, f"The latest {len(shown)} of {len(ordered)} changes, oldest first.")
    widths: tuple[float, ...] = (24.0, 46.0, 18.0, CONTENT_WIDTH - 88.0)
    _row(pdf, widths, ("Date", "Track", "Level", "Reason"), bold=True)
    pdf.set_font(FONT, size=8.5)
    for change in shown:
        reason = printable(change.reason) or change.action
        lines = _wrap(pdf, reason, widths[3] - 2)
        if len(lines) > MAX_REASON_LINES:
            last = _fit(pdf, lines[MAX_REASON_LINES - 1] + " …", widths[3] - 2)
            lines = [*lines[: MAX_REASON_LINES - 1], last]
        height = 4.2 * len(lines) + 1.4
        cells = (
            _date(local_date(change.at, timezone)),
            track_label(change.track),
            f"{change.level_from} {direction_arrow(change)} {change.level_to}",
        )
        y = pdf.get_y()
        x = float(MARGIN)
        for width, text in zip(widths[:3], cells, strict=True):
            pdf.set_xy(x, y)
            pdf.cell(width, height, _fit(pdf, text, width - 2), border="B")
            x += width
        pdf.set_xy(x, y)
        pdf.multi_cell(
            widths[3], 4.2, "\n".join(lines), border="B", padding=Padding(top=0.7, bottom=0.7)
        )
        pdf.set_xy(MARGIN, y + height)


def _weeks(pdf: FPDF, days: Sequence[DayTotals], today: date) -> None:
    by_week: dict[date, list[DayTotals]] = {}
    for totals in days:
        if totals.day <= today:
            by_week.setdefault(week_start(totals.day), []).append(totals)
    if not by_week:
        _text(pdf, "No reports yet.")
        return
    this_week = week_start(today)
    first = max(min(by_week), this_week - timedelta(weeks=MAX_WEEKS - 1))
    weeks = [first + timedelta(weeks=n) for n in range((this_week - first).days // 7 + 1)]
    widths = (46, 24, 22, 22, 33, 33)
    header = ("Week of", "Active days", "Sessions", "Reps", "Pain during", "Next morning")
    _row(pdf, widths, header, bold=True)
    pain: dict[str, list[float]] = {"Pain during": [], "Pain next morning": []}
    for week in weeks:
        week_days = by_week.get(week, [])
        during = mean([d.pain_during for d in week_days if d.pain_during is not None])
        morning = mean([d.pain_next_morning for d in week_days if d.pain_next_morning is not None])
        for label, score in (("Pain during", during), ("Pain next morning", morning)):
            if score is not None:
                pain[label].append(score)
        _row(
            pdf,
            widths,
            (
                _date(week) + (" (so far)" if week == this_week else ""),
                str(sum(1 for d in week_days if d.reps or d.sessions)),
                str(sum(d.sessions for d in week_days)),
                str(sum(d.reps for d in week_days)),
                pain_words(during),
                pain_words(morning),
            ),
        )
    pdf.ln(1)
    for label, scores in pain.items():
        if len(scores) >= 2:
            first_score, last_score = scores[0], scores[-1]
            _text(
                pdf,
                f"{label}: {pain_words(first_score)} in the first week shown with a score, "
                f"{pain_words(last_score)} in the latest ({_trend(first_score, last_score)}).",
            )


def _trend(first: float, last: float) -> str:
    # Half a point either way is within the noise of a self-reported 0-10 score.
    if last < first - 0.5:
        return "falling"
    if last > first + 0.5:
        return "rising"
    return "steady"


# Small layout helpers ----------------------------------------------------------------------


def _answer(key: str, value: Any) -> str:
    """An answer in the words the user saw on the buttons; raw when the question is unknown."""
    try:
        words = answer_words(key, value)
    except (KeyError, TypeError, ValueError):
        words = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return printable(words)


def _date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _title(pdf: FPDF, text: str) -> None:
    pdf.set_font(FONT, "B", 18)
    pdf.cell(CONTENT_WIDTH, 10, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)


def _heading(pdf: FPDF, text: str, *, top: bool = True) -> None:
    if top:
        pdf.ln(3)
    pdf.set_font(FONT, "B", 12.5)
    pdf.cell(CONTENT_WIDTH, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _text(pdf: FPDF, text: str) -> None:
    pdf.set_font(FONT, size=10)
    pdf.cell(
        CONTENT_WIDTH, LINE, _fit(pdf, text, CONTENT_WIDTH), new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )


def _pair(pdf: FPDF, label: str, value: str) -> None:
    """A bold label and its value on one line, the value clipped to fit."""
    pdf.set_font(FONT, "B", 10)
    pdf.cell(48, LINE + 0.5, label)
    pdf.set_font(FONT, size=10)
    pdf.cell(
        CONTENT_WIDTH - 48, LINE + 0.5, _fit(pdf, value, CONTENT_WIDTH - 50),
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip


def _row(pdf: FPDF, widths: Sequence[float], cells: Sequence[str], *, bold: bool = False) -> None:
    pdf.set_font(FONT, "B" if bold else "", 9.5)
    for width, text in zip(widths, cells, strict=True):
        pdf.cell(width, ROW, _fit(pdf, text, width - 2), border="B")
    pdf.ln(ROW)


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """`text` broken into lines that fit `width` in the current font."""
    lines = pdf.multi_cell(width, LINE, text, dry_run=True, output="LINES")
    assert isinstance(lines, list)
    return [str(line) for line in lines]


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """`text` on one line of `width`, cut with an ellipsis when it is too long."""
    text = printable(text)
    if pdf.get_string_width(text) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if pdf.get_string_width(text[:middle].rstrip() + "…") <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"
