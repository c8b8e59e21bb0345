"""The words and buttons of what the outbox sends: nudges, morning checks, weekly summaries."""

from __future__ import annotations

from dataclasses import dataclass

from bot.messages import Button, Screenful
from content import NudgePlan

PREFIX = "n"  # callback data: n:<nudge id>:<action>
SNOOZES = ((15, "15 min"), (30, "30 min"), (60, "1 hour"))
FATIGUE_NOTE = (
    "You've been busy lately, so I'll nudge you less often for a while. Tap any button "
    "on a nudge and we're back to your usual rhythm."
)


def button(nudge_id: int, label: str, action: str) -> Button:
    return Button(label, f"{PREFIX}:{nudge_id}:{action}")


def nudge_text(plan: NudgePlan) -> str:
    """The nudge itself: one specific action and its cues."""
    cues = "\n".join(f"• {cue}" for cue in plan.cues)
    return f"{plan.text}\n\n{cues}"


def nudge_screenful(
    nudge_id: int,
    text: str,
    counts: tuple[int, ...],
    target: int,
    *,
    reminder: bool = False,
    fatigue_note: bool = False,
) -> Screenful:
    """A nudge with its quick replies: done, how many, snooze, not now, skip."""
    body = f"Reminder: {text}" if reminder else text
    if fatigue_note:
        body = f"{body}\n\n{FATIGUE_NOTE}"
    return Screenful(
        body,
        (
            (button(nudge_id, f"✅ Done, all {target}", "done"),),
            tuple(button(nudge_id, f"Did {n}", f"r.{n}") for n in counts if n != target),
            tuple(button(nudge_id, f"⏰ {label}", f"z.{m}") for m, label in SNOOZES),
            (button(nudge_id, "Not now", "later"), button(nudge_id, "Skip this one", "skip")),
        ),
    )


def pain_buttons(data_prefix: str) -> tuple[tuple[Button, ...], ...]:
    """0-10 in two rows, for "how much did it hurt"; each button's data is prefix + score."""
    numbers = [Button(str(n), f"{data_prefix}{n}") for n in range(11)]
    return (tuple(numbers[:6]), tuple(numbers[6:]))


def morning_check(nudge_id: int, exercise_name: str, pain_during: int) -> Screenful:
    """The day after a session that hurt: how does it feel now?"""
    return Screenful(
        f"Good morning! Yesterday's {exercise_name.lower()} hurt a little ({pain_during}/10 "
        "while you did it). How does that spot feel this morning, from 0 to 10?",
        pain_buttons(f"{PREFIX}:{nudge_id}:m."),
    )


@dataclass(frozen=True)
class Week:
    """What a user did in the last seven days."""

    sent: int
    done: int
    reps: int
    average_pain: float | None


def weekly_summary(first_name: str, week: Week) -> str:
    """The Monday message: the week in numbers, kindly."""
    if week.sent == 0:
        return f"Hi {first_name}, a quiet week. New week, fresh start: your nudges keep coming."
    lines = [
        f"Your week, {first_name}: {week.done} of {week.sent} nudges done"
        + (f", {week.reps} reps in all." if week.reps else ".")
    ]
    if week.average_pain is not None:
        lines.append(f"Average pain while moving: {week.average_pain:.1f}/10.")
    if week.done >= max(1, week.sent // 2):
        lines.append("That's a habit taking shape. Keep it going!")
    else:
        lines.append("Every small one counts. Even one a day keeps the glutes awake.")
    return "\n".join(lines)
