"""/settings: window, rhythm, time zone and moments, changed at any time.

Every change replaces the user's pending nudge at once, so the schedule follows the new
settings from the next nudge on. A time zone is typed (or a location shared) while
`user_settings.editing` says what the next typed message is for.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Nudge, NudgeKind, NudgeState, User
from bot.delivery import planner
from bot.messages import Button, Outcome, Screenful
from bot.onboarding import questions as q
from bot.onboarding.schedule import CHANGES, Schedule, read_schedule
from bot.timezones import is_valid_zone, local_time_label, resolve_zone_text, zone_for_location

PREFIX = "st"  # callback data: st:<action>
EDITING_ZONE = "timezone"
EDITING_HOURS = "hours"
NOT_YET = "Settings come once your programme is set up. Send /start to begin."


def button(label: str, action: str) -> Button:
    return Button(label, f"{PREFIX}:{action}")


class SettingsEditor:
    """One user's settings, in one database transaction."""

    def __init__(self, session: AsyncSession, user: User, now: datetime, rate: float) -> None:
        self.session = session
        self.user = user
        self.settings = user.settings
        self.now = now
        self.per_minute = planner.per_minute(rate)

    @property
    def has_programme(self) -> bool:
        return self.settings.focus is not None

    # ---- screens -------------------------------------------------------------------------

    async def main(self, note: str = "") -> Screenful:
        """The overview, with a button for each thing that can change."""
        self.settings.editing = None
        zone = self.settings.timezone
        moments = [q.ANCHORS.option(a) for a in self.settings.anchors]
        moment_words = ", ".join(o.label.lower() for o in moments if o) or "none chosen"
        lines = [
            "Your settings:",
            f"• Nudges: {self.schedule.describe()}",
            f"• Time zone: {zone} (it's {local_time_label(zone, self.now)} there)",
            f"• Moments: {moment_words}",
            f"• {await self._next_nudge_line()}",
        ]
        body = "\n".join(lines)
        return Screenful(
            f"{note}\n\n{body}" if note else body,
            (
                (button("Hours and rhythm", "hours"), button("Time zone", "tz")),
                (button("Moments", "moments"), button("Done", "done")),
            ),
        )

    def hours_editor(self) -> Screenful:
        self.settings.editing = EDITING_HOURS
        weekends = "Weekends: on, turn off" if self.schedule.weekends else "Weekends too"
        return Screenful(
            f"I nudge you {self.schedule.describe()}. Adjust it with the buttons, or type "
            "hours like 8-17 or a rhythm like every 90 minutes.",
            (
                (
                    button("Start earlier", "s.earlier_start"),
                    button("Start later", "s.later_start"),
                ),
                (button("End earlier", "s.earlier_end"), button("End later", "s.later_end")),
                (button("More often", "s.more_often"), button("Less often", "s.less_often")),
                (button(weekends, "s.weekends"),),
                (button("« Back", "main"),),
            ),
        )

    def zone_prompt(self, note: str = "") -> Screenful:
        self.settings.editing = EDITING_ZONE
        text = (
            "Type your city (like Lisbon or New York), share your location, or type a UTC "
            "offset such as UTC-5."
        )
        return Screenful(f"{note}\n\n{text}" if note else text, ((button("« Back", "main"),),))

    def moments_editor(self) -> Screenful:
        chosen = set(self.settings.anchors)
        toggles = [
            (button(("✅ " if o.value in chosen else "") + o.label, f"a.{o.value}"),)
            for o in q.ANCHORS.options
        ]
        return Screenful(
            "Which moments should nudges hang on? Tap to switch them on or off.",
            (*toggles, (button("Done", "main"),)),
        )

    # ---- input ------------------------------------------------------------------------------

    async def press(self, data: str) -> Outcome:
        """Act on a settings button."""
        action = data.removeprefix(f"{PREFIX}:")
        if not self.has_programme:
            return Outcome(toast=NOT_YET)
        if action == "main":
            return Outcome(await self.main())
        if action == "done":
            self.settings.editing = None
            return Outcome(Screenful("Settings saved."), toast="Saved")
        if action == "hours":
            return Outcome(self.hours_editor())
        if action == "tz":
            return Outcome(self.zone_prompt())
        if action == "moments":
            return Outcome(self.moments_editor())
        if action.startswith("s.") and action[2:] in CHANGES:
            changed = self.schedule.adjusted(action[2:])
            if changed == self.schedule:
                return Outcome(toast="That's as far as it goes.")
            await self._save_schedule(changed)
            return Outcome(self.hours_editor(), toast="Saved")
        if action.startswith("a.") and q.ANCHORS.option(action[2:]) is not None:
            anchor = action[2:]
            anchors = list(self.settings.anchors)
            self.settings.anchors = (
                [a for a in anchors if a != anchor] if anchor in anchors else [*anchors, anchor]
            )
            return Outcome(self.moments_editor(), toast="Saved")
        if action.startswith("z.") and is_valid_zone(action[2:]):
            self.settings.timezone = action[2:]
            await self._replan()
            return Outcome(await self.main(note=f"Time zone saved: {action[2:]}."))
        return Outcome(toast="That button has expired.")

    async def typed(self, text: str) -> Outcome | None:
        """A typed answer to what is being edited; None when nothing is."""
        if self.settings.editing == EDITING_HOURS:
            try:
                schedule, accepted = read_schedule(text, self.schedule)
            except q.Reask as problem:
                return Outcome(
                    Screenful(
                        f"{problem}\n\n{self.hours_editor().text}", self.hours_editor().buttons
                    )
                )
            await self._save_schedule(schedule)
            return Outcome(await self.main(note="Saved.") if accepted else self.hours_editor())
        if self.settings.editing == EDITING_ZONE:
            matches = await asyncio.to_thread(resolve_zone_text, text)
            if not matches:
                return Outcome(self.zone_prompt(note=f'I couldn\'t find "{text.strip()[:40]}".'))
            return Outcome(self._zone_choices([(m.zone, m.place) for m in matches[:3]]))
        return None

    async def located(self, latitude: float, longitude: float) -> Outcome | None:
        """A shared location while choosing a time zone; None otherwise."""
        if self.settings.editing != EDITING_ZONE:
            return None
        zone = await asyncio.to_thread(zone_for_location, latitude, longitude)
        if zone is None:
            return Outcome(self.zone_prompt(note="I couldn't place that location."))
        return Outcome(self._zone_choices([(zone, f"Your location ({zone})")]))

    # ---- helpers ----------------------------------------------------------------------------

    @property
    def schedule(self) -> Schedule:
        s = self.settings
        return Schedule(s.window_start, s.window_end, s.nudge_interval_minutes, s.weekends)

    def _zone_choices(self, found: list[tuple[str, str]]) -> Screenful:
        rows = [
            (button(f"{place} · {local_time_label(zone, self.now).split(' on ')[0]}", f"z.{zone}"),)
            for zone, place in found
        ]
        return Screenful(
            "Which one is yours? The local time is beside each.",
            (*rows, (button("None of these, let me type again", "tz"),)),
        )

    async def _save_schedule(self, schedule: Schedule) -> None:
        s = self.settings
        s.window_start, s.window_end = schedule.start, schedule.end
        s.nudge_interval_minutes, s.weekends = schedule.every, schedule.weekends
        await self._replan()

    async def _replan(self) -> None:
        """The schedule follows at once: the pending nudge is recomputed from now."""
        await planner.schedule_next_nudge(
            self.session, self.user, self.now, self.now, self.per_minute
        )
        await self.session.flush()

    async def _next_nudge_line(self) -> str:
        due = await self.session.scalar(
            select(Nudge.due_at)
            .where(
                Nudge.user_id == self.user.id,
                Nudge.kind == NudgeKind.NUDGE,
                Nudge.state == NudgeState.SCHEDULED,
            )
            .order_by(Nudge.due_at)
            .limit(1)
        )
        if due is None:
            return "Next nudge: none planned (paused?)"
        local = due.astimezone(ZoneInfo(self.settings.timezone))
        day = (
            "today" if local.date() == self.now.astimezone(local.tzinfo).date() else (f"{local:%A}")
        )
        return f"Next nudge: {day} around {local:%H:%M}"
