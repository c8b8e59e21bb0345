"""The four-week progress chart: reps per day, pain during and next morning, level changes.

Drawn with matplotlib's object API on an Agg canvas: no pyplot, so no global figure registry
to leak into and no display. A lock serialises renders because matplotlib does not promise
thread safety (shared font caches, text layout); a render takes a fraction of a second, so
callers on `asyncio.to_thread` just queue briefly.
"""

from __future__ import annotations

import io
import math
import threading
from collections import defaultdict

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bot.progress.data import (
    WINDOW_DAYS,
    LevelChange,
    ProgressData,
    day_words,
    direction_arrow,
    local_date,
    track_label,
    window_days,
)
from bot.progress.fonts import printable

# The PNG is exactly 1200 x 800 px (12 x 8 in at 100 dpi): sharp on a phone, and Telegram
# shows photos up to 1280 px on the long side without rescaling them.
CHART_WIDTH_PX = 1200
CHART_HEIGHT_PX = 800
CHART_DPI = 100

REPS_COLOUR = "#9ecae1"
PAIN_DURING_COLOUR = "#d62728"
PAIN_MORNING_COLOUR = "#7b3294"
UP_COLOUR = "#2ca02c"
DOWN_COLOUR = "#ff7f0e"
SAME_COLOUR = "#7f7f7f"
TEXT_COLOUR = "#333333"

# At most this many level-change labels on one day; the rest become "+2 more".
LABELS_PER_DAY = 3
NAME_LIMIT = 40

_RENDER_LOCK = threading.Lock()


def progress_chart(data: ProgressData) -> bytes:
    """A PNG of `CHART_WIDTH_PX` x `CHART_HEIGHT_PX` px showing the last four weeks."""
    with _RENDER_LOCK:
        figure = Figure(
            figsize=(CHART_WIDTH_PX / CHART_DPI, CHART_HEIGHT_PX / CHART_DPI), dpi=CHART_DPI
        )
        FigureCanvasAgg(figure)  # attach an Agg canvas: no GUI backend, no pyplot
        try:
            _draw(figure, data)
            buffer = io.BytesIO()
            # The whole figure as the box, so a global savefig.bbox = "tight" cannot resize it.
            figure.savefig(
                buffer, format="png", dpi=CHART_DPI, bbox_inches=figure.bbox_inches,
                facecolor="white", metadata={"Software": None},
            )  # fmt: skip
            return buffer.getvalue()
        finally:
            figure.clear()  # drop the artists now, not whenever the cycle collector runs


def _draw(figure: Figure, data: ProgressData) -> None:
    days = window_days(data.today)
    index = {day: position for position, day in enumerate(days)}
    by_day = {totals.day: totals for totals in data.days if totals.day in index}
    reps = [by_day[day].reps if day in by_day else 0 for day in days]
    sessions = sum(totals.sessions for totals in by_day.values())
    changes = [
        (index[local_date(change.at, data.timezone)], change)
        for change in data.level_changes
        if local_date(change.at, data.timezone) in index
    ]

    figure.subplots_adjust(left=0.08, right=0.92, top=0.84, bottom=0.17)
    name = printable(data.first_name)[:NAME_LIMIT]
    figure.suptitle(
        f"{name}: your last four weeks" if name else "Your last four weeks",
        fontsize=26,
        fontweight="bold",
        color=TEXT_COLOUR,
        y=0.97,
    )
    figure.text(
        0.5, 0.895, _summary(data, sum(reps), sessions, len(by_day)),
        ha="center", fontsize=16, color=TEXT_COLOUR,
    )  # fmt: skip

    reps_axes = figure.add_subplot()
    reps_axes.bar(range(WINDOW_DAYS), reps, width=0.75, color=REPS_COLOUR, zorder=2)
    top = max(reps, default=0)
    reps_axes.set_ylim(0, max(10, math.ceil(top * 1.3)))  # headroom for change labels
    reps_axes.set_xlim(-0.7, WINDOW_DAYS - 0.3)
    reps_axes.set_ylabel("Reps per day", fontsize=16, color=TEXT_COLOUR)
    reps_axes.grid(axis="y", color="#e5e5e5", zorder=0)
    reps_axes.tick_params(labelsize=14)
    mondays = [position for position, day in enumerate(days) if day.weekday() == 0]
    reps_axes.set_xticks(mondays, [day_words(days[position]) for position in mondays])
    reps_axes.set_xticks(range(WINDOW_DAYS), minor=True)
    reps_axes.spines["top"].set_visible(False)

    pain_axes = reps_axes.twinx()
    pain_axes.set_ylim(0, 10)
    pain_axes.set_yticks(range(0, 11, 2))
    pain_axes.set_ylabel("Pain (0-10)", fontsize=16, color=TEXT_COLOUR)
    pain_axes.tick_params(labelsize=14)
    pain_axes.spines["top"].set_visible(False)
    for attribute, colour, style in (
        ("pain_during", PAIN_DURING_COLOUR, "-"),
        ("pain_next_morning", PAIN_MORNING_COLOUR, "--"),
    ):
        # Only days that have a score, joined up: a pain trend should not vanish on rest days.
        points = [
            (position, value)
            for position, day in enumerate(days)
            if day in by_day and (value := getattr(by_day[day], attribute)) is not None
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            pain_axes.plot(
                xs, ys, style, color=colour, linewidth=2.5, marker="o", markersize=7,
                clip_on=False, zorder=3,
            )  # fmt: skip

    _mark_level_changes(reps_axes, changes)

    if not by_day and not changes:
        reps_axes.text(
            0.5, 0.55,
            "Nothing logged in these four weeks yet.\nYour first report will show up here.",
            transform=reps_axes.transAxes, ha="center", va="center", fontsize=22,
            color="#777777", linespacing=1.6,
        )  # fmt: skip

    figure.legend(
        handles=[
            Patch(color=REPS_COLOUR, label="Reps"),
            Line2D([], [], color=PAIN_DURING_COLOUR, linewidth=2.5, marker="o",
                   label="Pain during"),
            Line2D([], [], color=PAIN_MORNING_COLOUR, linewidth=2.5, marker="o", linestyle="--",
                   label="Pain next morning"),
            Line2D([], [], color=UP_COLOUR, linestyle=":", linewidth=2, label="Level up"),
            Line2D([], [], color=DOWN_COLOUR, linestyle=":", linewidth=2, label="Level down"),
        ],
        loc="lower center", ncol=5, frameon=False, fontsize=14, bbox_to_anchor=(0.5, 0.01),
    )  # fmt: skip


def _summary(data: ProgressData, reps: int, sessions: int, active_days: int) -> str:
    """The line under the title: totals, and the focus when there is one."""
    if not active_days:
        words = "No reports in these four weeks yet"
    else:
        words = (
            f"{reps} reps in {sessions} session{'s' * (sessions != 1)} "
            f"on {active_days} day{'s' * (active_days != 1)}"
        )
    if data.focus:
        words += f"  ·  focus: {track_label(data.focus)}"
    return words


def _mark_level_changes(axes: Axes, changes: list[tuple[int, LevelChange]]) -> None:
    """A dotted line per day with changes, labelled with the tracks and their new levels."""
    by_position: dict[int, list[LevelChange]] = defaultdict(list)
    for position, change in changes:
        by_position[position].append(change)
    for position, day_changes in sorted(by_position.items()):
        arrows = {direction_arrow(change) for change in day_changes}
        colour = UP_COLOUR if arrows == {"↑"} else DOWN_COLOUR if arrows == {"↓"} else SAME_COLOUR
        axes.axvline(position, color=colour, linestyle=":", linewidth=2, zorder=1)
        labels = [
            f"{direction_arrow(change)} {printable(track_label(change.track))} {change.level_to}"
            for change in day_changes[:LABELS_PER_DAY]
        ]
        if len(day_changes) > LABELS_PER_DAY:
            labels.append(f"+{len(day_changes) - LABELS_PER_DAY} more")
        axes.text(
            position - 0.1, 0.98, "\n".join(labels),
            transform=axes.get_xaxis_transform(), rotation=90, ha="right", va="top",
            fontsize=12, color=colour, zorder=4,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5},
        )  # fmt: skip
