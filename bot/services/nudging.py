"""What users do with nudges: done, how many, how it felt, snooze, not now, skip; pausing.

Every reaction counts as engagement: it resets the fatigue guard, and when the guard had
spaced nudges out, the usual rhythm comes back at once.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Nudge,
    NudgeKind,
    NudgeState,
    ReportSource,
    User,
    UserState,
)
from bot.delivery import compose, planner
from bot.messages import Outcome, Screenful
from bot.onboarding.questions import normalize
from bot.services.reporting import REFERRED, Reporting, cleared_button

BACK_TO_RHYTHM = "Good to hear from you: back to your usual rhythm."
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


class Nudges:
    """One user's nudges, in one database transaction."""

    def __init__(self, session: AsyncSession, user: User, now: datetime, rate: float) -> None:
        self.session = session
        self.user = user
        self.now = now
        self.rate = rate
        self.per_minute = planner.per_minute(rate)

    async def press(self, data: str) -> Outcome:
        """Act on a nudge button: n:<nudge id>:<action>."""
        parts = data.split(":")
        if len(parts) != 3 or not parts[1].isdigit():
            return Outcome(toast="That button has expired.")
        nudge = await self.session.get(Nudge, int(parts[1]))
        if nudge is None or nudge.user_id != self.user.id or nudge.sent_at is None:
            return Outcome(toast="That button has expired.")
        action = parts[2]
        original = nudge.text or ""
        if nudge.kind is NudgeKind.MORNING_CHECK:
            return await self._morning(nudge, action)
        note = await self._engaged(nudge)
        answering = action in ("done", "later", "skip") or action.startswith(("r.", "z."))
        if answering and nudge.response is not None:
            return Outcome(toast="Already noted.")
        if action == "done" or action.startswith("r."):
            reps = nudge.target_reps if action == "done" else _number(action)
            if reps is None or not 0 < reps <= 500:
                return Outcome(toast="That button has expired.")
            return await self._done(nudge, reps, original, note)
        if action.startswith("z."):
            minutes = _number(action)
            if minutes not in {m for m, _ in compose.SNOOZES}:
                return Outcome(toast="That button has expired.")
            return await self._snooze(nudge, minutes, original, note)
        if action == "later":
            self._respond(nudge, "not_now")
            return Outcome(
                Screenful(_after(original, "No problem. I'll catch you at the next one.", note))
            )
        if action == "skip":
            self._respond(nudge, "skipped")
            nudge.state = NudgeState.SKIPPED
            return Outcome(
                Screenful(
                    _after(original, "Skipped. I'll pick something different next time.", note)
                )
            )
        return Outcome(toast="That button has expired.")

    # ---- reactions -------------------------------------------------------------------------

    def _respond(self, nudge: Nudge, response: str) -> None:
        nudge.response = response
        nudge.responded_at = self.now

    async def _engaged(self, nudge: Nudge) -> str:
        """Reset the fatigue guard; returns a note when it had been spacing nudges out."""
        settings = self.user.settings
        was_fatigued = planner.fatigued(settings)
        settings.unanswered_streak = 0
        if not was_fatigued:
            return ""
        await planner.schedule_next_nudge(
            self.session, self.user, self.now, self.now, self.per_minute
        )
        return BACK_TO_RHYTHM

    async def _done(self, nudge: Nudge, reps: int, original: str, note: str) -> Outcome:
        self._respond(nudge, "done")
        reporting = Reporting(self.session, self.user, self.now, self.rate)
        outcome = await reporting.start(source=ReportSource.BUTTON, nudge=nudge, reps=reps)
        shown = outcome.show or Screenful("")
        return Outcome(
            Screenful(_after(original, "✅ " + shown.text, note), shown.buttons),
            toast=outcome.toast,
        )

    async def _snooze(self, nudge: Nudge, minutes: int, original: str, note: str) -> Outcome:
        if not planner.may_send(self.user, self.now):  # paused, stopped or referred since
            return Outcome(toast="Nudges are off right now, so there's nothing to snooze.")
        self._respond(nudge, "snoozed")
        nudge.state = NudgeState.SNOOZED
        await planner.cancel_pending(self.session, self.user.id, (NudgeKind.NUDGE,))
        self.session.add(
            Nudge(
                user_id=self.user.id,
                due_at=self.now + timedelta(minutes=minutes),
                state=NudgeState.SCHEDULED,
                kind=NudgeKind.NUDGE,
                exercise_id=nudge.exercise_id,
                track=nudge.track,
                anchor=nudge.anchor,
                text=nudge.text,  # a snoozed nudge comes back as it was
                target_reps=nudge.target_reps,
                created_at=self.now,
            )
        )
        label = dict(compose.SNOOZES)[minutes]
        return Outcome(
            Screenful(_after(original, f"⏰ Snoozed: I'll remind you in {label}.", note))
        )

    async def _morning(self, nudge: Nudge, action: str) -> Outcome:
        pain = _number(action) if action.startswith("m.") else None
        if pain is None or not 0 <= pain <= 10:
            return Outcome(toast="That button has expired.")
        if nudge.response is not None:
            return Outcome(toast="Already noted.")
        self._respond(nudge, "answered")
        self.user.settings.unanswered_streak = 0
        report = await planner.awaiting_morning_check(self.session, self.user.id, self.now)
        during = report.pain_during if report is not None else None
        decision = ""
        if report is not None:
            report.pain_next_morning = pain
            if (
                report.exercise_id
                and report.track
                and report.reps is not None
                and during is not None
            ):
                reporting = Reporting(self.session, self.user, self.now, self.rate)
                decision = " " + await reporting.decide(report)
        if during is not None and pain > during:
            words = (
                f"Noted: {pain}/10 this morning, more than the {during}/10 while you did it. "
                "Go easy today. If it keeps climbing, please see a physiotherapist."
            )
        elif pain == 0:
            words = "Noted: all settled by this morning. That's what we want."
        else:
            words = f"Noted: {pain}/10 this morning. Thanks, that helps me pace your sessions."
        if self.user.state is UserState.REFERRED:
            return Outcome(Screenful(words + decision + "\n\n" + REFERRED, cleared_button()))
        return Outcome(Screenful(words + decision), toast="Thanks!")

    # ---- pausing -----------------------------------------------------------------------------

    async def pause(self, until: datetime | None) -> str:
        """Pause nudges until a moment (None: until /resume); returns the confirmation."""
        settings = self.user.settings
        self.user.state = UserState.PAUSED
        settings.paused_until = until
        await planner.stop_nudging(self.session, self.user)
        if until is None:
            return "Nudges paused until you send /resume. Take care!"
        await planner.schedule_next_nudge(self.session, self.user, until, self.now, self.per_minute)
        await planner.schedule_weekly_summary(self.session, self.user, until, self.now)
        local = until.astimezone(ZoneInfo(settings.timezone))
        return (
            f"Nudges paused until {local:%A %d %B}. They start again by themselves; "
            "/resume brings them back sooner."
        )

    async def resume(self) -> str:
        """Start nudging again now."""
        if self.user.state not in (UserState.PAUSED, UserState.ACTIVE, UserState.STOPPED):
            return "There's no programme to resume yet. Send /start to set one up."
        if self.user.settings.focus is None:
            return "There's no programme to resume yet. Send /start to set one up."
        self.user.state = UserState.ACTIVE
        self.user.settings.paused_until = None
        self.user.settings.unanswered_streak = 0
        await planner.start_nudging(self.session, self.user, self.now, self.per_minute)
        return "Welcome back! Nudges are on again."


def pause_until(text: str, now: datetime, zone: str) -> datetime | None:
    """When a pause typed as "3", "3 days", "2 weeks", "until 2026-12-24" or "until 24 dec"
    ends: the start of that local day. ValueError with a friendly message otherwise."""
    words = normalize(text)
    local_today = now.astimezone(ZoneInfo(zone)).date()
    amount = re.fullmatch(r"(\d{1,3})\s*(d|days?|w|weeks?)?", words)
    if amount:
        count = int(amount.group(1))
        days = count * 7 if (amount.group(2) or "d").startswith("w") else count
        if not 1 <= days <= 365:
            raise ValueError("A pause can last from 1 day to a year.")
        return _start_of(local_today + timedelta(days=days), zone)
    words = words.removeprefix("until ").strip()
    day = _date_in(words, local_today)
    if day is None:
        raise ValueError(
            "Tell me how long, like /pause 3 (days), /pause 2 weeks or /pause until 24 dec."
        )
    if not local_today < day <= local_today + timedelta(days=365):
        raise ValueError("That date needs to be after today and within a year.")
    return _start_of(day, zone)


def _date_in(words: str, today: date) -> date | None:
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", words)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        named = re.fullmatch(r"(\d{1,2})\s*([a-z]+)|([a-z]+)\s*(\d{1,2})", words)
        if named:
            day_text, month_text = (named[1], named[2]) if named[1] else (named[4], named[3])
            month = MONTHS.get(month_text)
            if month is None:
                return None
            candidate = date(today.year, month, int(day_text))
            return candidate if candidate > today else date(today.year + 1, month, int(day_text))
    except ValueError:
        return None
    return None


def _start_of(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(zone)).astimezone(ZoneInfo("UTC"))


def _number(action: str) -> int | None:
    value = action.split(".", 1)[1] if "." in action else ""
    return int(value) if value.isdigit() else None


def _after(original: str, line: str, note: str = "") -> str:
    return "\n\n".join(part for part in (original, line, note) if part)
