"""The onboarding screen as a conversation whose every step is saved in the database.

A screen is a row in `screens` with its current step, and one `screen_answers` row per
answer, so a restart at any moment resumes where the user was, and a retaken screen is
kept beside the earlier one. This module decides what to show next; the Telegram handler
only renders a `Screenful` and sends it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Screen, ScreenAnswer, ScreenStatus, User, UserState
from bot.delivery import planner
from bot.messages import Button, Outcome, Screenful
from bot.messages import rows as button_rows
from bot.onboarding import questions as q
from bot.onboarding.schedule import CHANGES, read_schedule
from bot.onboarding.summary import (
    changes_since,
    programme_record,
    schedule_of,
    to_screen_answers,
)
from bot.runtime import Runtime
from bot.timezones import local_time_label, resolve_zone_text, zone_for_location
from content import (
    Programme,
    RedFlag,
    Track,
    referral_lines,
    scan_red_flags,
    starting_programme,
)

RED_FLAG_STOP = "red_flag_stop"
SUMMARY = "summary"
DONE = "done"
CANDIDATES = "timezone_candidates"  # answer key for places waiting to be confirmed
OPEN = (ScreenStatus.IN_PROGRESS, ScreenStatus.RED_FLAG)
PREFIX = "o"  # callback data: o:<screen id>:<step>:<action>

DISCLAIMER = (
    "One thing first: I'm a coach, not a clinician. I can't diagnose anything, and when "
    "something hurts or worries you, a physiotherapist or doctor is the right person to see."
)


class Onboarding:
    """The screen for one user, in one database transaction."""

    def __init__(
        self,
        runtime: Runtime,
        session: AsyncSession,
        user: User,
        screen: Screen | None,
        previous: Screen | None,
    ) -> None:
        self.runtime = runtime
        self.session = session
        self.user = user
        self.screen = screen  # the screen in progress (or stopped at a red flag), if any
        self.previous = previous  # the latest finished screen, to show what changed
        self.now = runtime.clock.now()

    @classmethod
    async def load(cls, runtime: Runtime, session: AsyncSession, user: User) -> Onboarding:
        """The user's screens as they are now."""
        screen = await _open_screen(session, user)
        return cls(runtime, session, user, screen, await _latest_completed(session, user))

    @classmethod
    async def load_open(
        cls, runtime: Runtime, session: AsyncSession, user: User
    ) -> Onboarding | None:
        """The user's screens, or None when no screen is open (nothing typed is for us then,
        so the finished one is not read)."""
        screen = await _open_screen(session, user)
        if screen is None:
            return None
        return cls(runtime, session, user, screen, await _latest_completed(session, user))

    # ---- saving ------------------------------------------------------------------------------

    @staticmethod
    def answers_of(screen: Screen) -> dict[str, Any]:
        return {answer.step: answer.answer for answer in screen.answers}

    def save(self, screen: Screen, key: str, value: Any) -> None:
        """Store (or replace) the answer to one step."""
        for answer in screen.answers:
            if answer.step == key:
                answer.answer = value
                answer.answered_at = self.now
                return
        screen.answers.append(ScreenAnswer(step=key, answer=value, answered_at=self.now))

    def forget(self, screen: Screen, key: str) -> None:
        for answer in list(screen.answers):
            if answer.step == key:
                screen.answers.remove(answer)

    # ---- starting, resuming, cancelling ----------------------------------------------------

    async def begin(self) -> Screenful:
        """A new screen from the first question; an unfinished one is cancelled."""
        if self.screen is not None:
            self.screen.status = ScreenStatus.CANCELLED
        first = q.QUESTIONS[0]
        screen = Screen(
            user_id=self.user.id,
            started_at=self.now,
            status=ScreenStatus.IN_PROGRESS,
            current_step=first.key,
            answers=[],
        )
        self.session.add(screen)
        await self.session.flush()
        self.screen = screen
        if self.user.state is not UserState.ACTIVE:
            self.user.state = UserState.ONBOARDING
        return self.render(screen, {})

    def resume(self) -> Screenful | None:
        """The current step of the open screen, or None when there is none."""
        screen = self.screen
        return None if screen is None else self.render(screen, self.answers_of(screen))

    def cancel(self) -> bool:
        """Stop the open screen (answers are kept); False when there was none."""
        screen = self.screen
        if screen is None:
            return False
        screen.status = ScreenStatus.CANCELLED
        if self.user.state in (UserState.ONBOARDING, UserState.REFERRED):
            self.user.state = UserState.NEW
        return True

    # ---- input -------------------------------------------------------------------------------

    async def press(self, data: str) -> Outcome:
        """Act on an inline button from the screen."""
        parts = data.split(":", 3)
        screen = self.screen
        if len(parts) != 4 or parts[0] != PREFIX or not parts[1].isdigit():
            return Outcome(toast="That button has expired.")
        if screen is None or screen.id != int(parts[1]) or screen.current_step != parts[2]:
            return Outcome(toast="That button belongs to an earlier question.")
        answers = self.answers_of(screen)
        step, action = parts[2], parts[3]
        if action == "back":
            return self.go_back(screen, answers)
        if step == RED_FLAG_STOP:
            return self.press_red_flag_stop(screen, answers, action)
        if step == SUMMARY:
            return await self.press_summary(screen, answers, action)
        question = q.BY_KEY.get(step)
        if question is None:
            return Outcome(toast="That button has expired.")
        if question.kind is q.Kind.CHOICE:
            return self.press_choice(screen, answers, question, action)
        if question.kind is q.Kind.MULTI:
            return self.press_multi(screen, answers, question, action)
        if question.kind is q.Kind.TIMEZONE:
            return self.press_timezone(screen, answers, action)
        return self.press_schedule(screen, answers, action)

    async def typed(self, text: str) -> Outcome | None:
        """Act on a typed message; None when no screen is open (not ours to answer)."""
        outcome = await self._typed(text)
        if not planner.schedulable(self.user):  # a red flag while retaking the screen
            await planner.stop_nudging(self.session, self.user)
        return outcome

    async def _typed(self, text: str) -> Outcome | None:
        screen = self.screen
        if screen is None:
            return None
        answers = self.answers_of(screen)
        scan = scan_red_flags(text)
        if scan and screen.current_step not in (RED_FLAG_STOP, DONE):
            flags = sorted({*answers.get("red_flags", []), *(flag.value for flag in scan.flags)})
            self.save(screen, "red_flags", flags)
            return Outcome(show=self.stop_for_red_flags(screen, self.answers_of(screen)))
        step = screen.current_step
        if step == RED_FLAG_STOP:
            return Outcome(show=self.render(screen, answers))
        if step == SUMMARY:
            if q.normalize(text) in ("yes", "y", "ok", "okay", "start", "go", "lets go"):
                return await self.finish(screen, answers)
            return Outcome(show=self.render(screen, answers))
        question = q.BY_KEY[step]
        try:
            if question.kind is q.Kind.TIMEZONE:
                return await self.typed_place(screen, answers, text)
            if question.kind is q.Kind.SCHEDULE:
                schedule, accepted = read_schedule(text, schedule_of(answers))
                self.save(screen, question.key, schedule.to_json())
                answers = self.answers_of(screen)
                if accepted:
                    return self.advance(screen, answers, question)
                return Outcome(show=self.render(screen, answers))
            value: Any = (
                q.read_many(question, text)
                if question.kind is q.Kind.MULTI
                else q.read_choice(question, text)
            )
        except q.Reask as problem:
            return Outcome(show=self.render(screen, answers, note=str(problem)))
        self.save(screen, question.key, value)
        return self.advance(screen, self.answers_of(screen), question, note="Got it.")

    async def typed_place(self, screen: Screen, answers: dict[str, Any], text: str) -> Outcome:
        """Look a typed place or offset up and offer what fits, to be confirmed."""
        matches = await asyncio.to_thread(resolve_zone_text, text)
        if not matches:
            shown = text.strip()[:40]
            raise q.Reask(
                f'I couldn\'t find "{shown}". Try the nearest big city, or a UTC offset '
                "such as UTC+2."
            )
        found = [{"zone": match.zone, "place": match.place} for match in matches[:3]]
        self.save(screen, CANDIDATES, found)
        return Outcome(show=self.render(screen, self.answers_of(screen)))

    async def located(self, latitude: float, longitude: float) -> Outcome | None:
        """A shared location answers the time zone question; None elsewhere."""
        screen = self.screen
        if screen is None or screen.current_step != q.TIMEZONE.key:
            return None
        answers = self.answers_of(screen)
        zone = await asyncio.to_thread(zone_for_location, latitude, longitude)
        if zone is None:
            note = "I couldn't place that location. Try typing your city instead."
            return Outcome(show=self.render(screen, answers, note=note))
        self.save(screen, CANDIDATES, [{"zone": zone, "place": f"Your location ({zone})"}])
        return Outcome(show=self.render(screen, self.answers_of(screen)))

    # ---- button actions ----------------------------------------------------------------------

    def press_choice(
        self, screen: Screen, answers: dict[str, Any], question: q.Question, action: str
    ) -> Outcome:
        value = action.removeprefix("v.")
        if not action.startswith("v.") or question.option(value) is None:
            return Outcome(toast="That button has expired.")
        stored: Any = int(value) if question.number_range is not None else value
        self.save(screen, question.key, stored)
        return self.advance(screen, self.answers_of(screen), question)

    def press_multi(
        self, screen: Screen, answers: dict[str, Any], question: q.Question, action: str
    ) -> Outcome:
        chosen: list[str] = list(answers.get(question.key) or [])
        if action.startswith("t."):
            value = action.removeprefix("t.")
            if question.option(value) is None:
                return Outcome(toast="That button has expired.")
            chosen = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
            self.save(screen, question.key, chosen)
            return Outcome(show=self.render(screen, self.answers_of(screen)))
        if action == "none":
            self.save(screen, question.key, [])
            return self.advance(screen, self.answers_of(screen), question)
        if action == "done":
            if not chosen and question.none_option is None:
                return Outcome(toast="Tap at least one, then Done.")
            self.save(screen, question.key, chosen)
            return self.advance(screen, self.answers_of(screen), question)
        return Outcome(toast="That button has expired.")

    def press_timezone(self, screen: Screen, answers: dict[str, Any], action: str) -> Outcome:
        candidates = answers.get(CANDIDATES) or []
        if action == "retry":
            self.forget(screen, CANDIDATES)
            return Outcome(show=self.render(screen, self.answers_of(screen)))
        index = action.removeprefix("tz.")
        if not action.startswith("tz.") or not index.isdigit() or int(index) >= len(candidates):
            return Outcome(toast="That button has expired.")
        self.save(screen, q.TIMEZONE.key, candidates[int(index)])
        self.forget(screen, CANDIDATES)
        return self.advance(screen, self.answers_of(screen), q.TIMEZONE)

    def press_schedule(self, screen: Screen, answers: dict[str, Any], action: str) -> Outcome:
        schedule = schedule_of(answers)
        if action == "ok":
            self.save(screen, q.SCHEDULE.key, schedule.to_json())
            return self.advance(screen, self.answers_of(screen), q.SCHEDULE)
        change = action.removeprefix("s.")
        if not action.startswith("s.") or change not in CHANGES:
            return Outcome(toast="That button has expired.")
        changed = schedule.adjusted(change)
        if changed == schedule:
            return Outcome(toast="That's as far as it goes.")
        self.save(screen, q.SCHEDULE.key, changed.to_json())
        return Outcome(show=self.render(screen, self.answers_of(screen)))

    def press_red_flag_stop(self, screen: Screen, answers: dict[str, Any], action: str) -> Outcome:
        if action != "cleared":
            return Outcome(toast="That button has expired.")
        self.save(screen, "cleared_by_clinician", True)
        screen.status = ScreenStatus.IN_PROGRESS
        self.user.state = UserState.ONBOARDING
        return self.advance(screen, self.answers_of(screen), q.RED_FLAGS)

    async def press_summary(self, screen: Screen, answers: dict[str, Any], action: str) -> Outcome:
        if action != "start":
            return Outcome(toast="That button has expired.")
        return await self.finish(screen, answers)

    # ---- moving between steps ----------------------------------------------------------------

    def advance(
        self, screen: Screen, answers: dict[str, Any], question: q.Question, note: str = ""
    ) -> Outcome:
        """Go to the step after `question` (the red-flag stop or the summary when due)."""
        if (
            question.key == q.RED_FLAGS.key
            and answers.get("red_flags")
            and not answers.get("cleared_by_clinician")
        ):
            return Outcome(show=self.stop_for_red_flags(screen, answers))
        following = q.next_question(question.key, answers)
        if question.key == q.RED_FLAGS.key:
            # A red flag typed at an earlier question jumped to the safety check: ask what
            # was skipped before going on (the summary needs every answer).
            following = _unanswered_before(q.RED_FLAGS.key, answers) or following
        screen.current_step = following.key if following else SUMMARY
        return Outcome(show=self.render(screen, answers, note=note))

    def go_back(self, screen: Screen, answers: dict[str, Any]) -> Outcome:
        step = screen.current_step
        if step == RED_FLAG_STOP:
            previous: q.Question | None = q.RED_FLAGS
            screen.status = ScreenStatus.IN_PROGRESS
            self.user.state = UserState.ONBOARDING
        elif step == SUMMARY:
            previous = q.asked(answers)[-1]
        else:
            previous = q.previous_question(step, answers)
        if previous is None:
            return Outcome(toast="This is the first question.")
        self.forget(screen, CANDIDATES)
        screen.current_step = previous.key
        return Outcome(show=self.render(screen, self.answers_of(screen)))

    def stop_for_red_flags(self, screen: Screen, answers: dict[str, Any]) -> Screenful:
        """No programme: these signs need a clinician first."""
        screen.current_step = RED_FLAG_STOP
        screen.status = ScreenStatus.RED_FLAG
        self.forget(screen, "cleared_by_clinician")
        self.user.state = UserState.REFERRED
        return self.render(screen, self.answers_of(screen))

    async def finish(self, screen: Screen, answers: dict[str, Any]) -> Outcome:
        """Confirm the programme: save it to the user's settings and mark the screen done."""
        programme = starting_programme(to_screen_answers(answers))
        schedule = schedule_of(answers)
        settings = self.user.settings
        settings.timezone = str(answers["timezone"]["zone"])
        settings.window_start, settings.window_end = schedule.start, schedule.end
        settings.nudge_interval_minutes = schedule.every
        settings.weekends = schedule.weekends
        settings.anchors = list(answers.get("anchors", []))
        settings.equipment = list(answers.get("equipment", []))
        settings.focus = programme.focus.value
        settings.levels = {track.value: level for track, level in programme.levels.items()}
        settings.mix = [track.value for track in programme.mix]
        settings.gentle_only = programme.gentle_only
        settings.weaker_side = programme.weaker_side.value if programme.weaker_side else None
        screen.result = programme_record(programme)
        screen.status = ScreenStatus.COMPLETED
        screen.completed_at = self.now
        screen.current_step = DONE
        self.user.state = UserState.ACTIVE
        settings.paused_until = None  # the new programme starts now, not when a pause ends
        rate = self.runtime.settings.nudges_per_second
        await planner.start_nudging(self.session, self.user, self.now, planner.per_minute(rate))
        return Outcome(show=Screenful(self._confirmation(programme, schedule.describe())))

    # ---- rendering ---------------------------------------------------------------------------

    def render(self, screen: Screen, answers: dict[str, Any], note: str = "") -> Screenful:
        """The message for the screen's current step."""
        step = screen.current_step
        if step == RED_FLAG_STOP:
            body = self._red_flag_text(answers)
            stop_rows = (
                (self._button(screen, "A clinician has cleared me to exercise", "cleared"),),
                (self._button(screen, "« Change my answer", "back"),),
            )
            return Screenful(_join(note, body), stop_rows)
        if step == SUMMARY:
            return Screenful(
                _join(note, self._summary_text(answers)), self._summary_buttons(screen)
            )
        if step == DONE:
            return Screenful("Your programme is set. Send /help to see what I can do.")
        question = q.BY_KEY[step]
        position, total = q.progress(step, answers)
        header = f"{position}/{total}  {question.prompt}"
        rows: list[tuple[Button, ...]] = []
        if question.kind is q.Kind.CHOICE:
            buttons = [self._button(screen, o.label, f"v.{o.value}") for o in question.options]
            rows.extend(button_rows(buttons, question.columns))
        elif question.kind is q.Kind.MULTI:
            chosen = set(answers.get(question.key) or [])
            buttons = [
                self._button(screen, ("✅ " if o.value in chosen else "") + o.label, f"t.{o.value}")
                for o in question.options
            ]
            rows.extend(button_rows(buttons, question.columns))
            finish = [self._button(screen, "Done", "done")]
            if question.none_option is not None:
                finish.insert(0, self._button(screen, question.none_option.label, "none"))
            rows.append(tuple(finish))
        elif question.kind is q.Kind.TIMEZONE:
            candidates = answers.get(CANDIDATES) or []
            if candidates:
                header, rows = self._timezone_choices(screen, candidates, position, total)
        else:
            header = f"{position}/{total}  {question.prompt}\n\n" + self._schedule_text(answers)
            rows.extend(self._schedule_buttons(screen, answers))
        if q.previous_question(step, answers) is not None:
            rows.append((self._button(screen, "« Back", "back"),))
        return Screenful(_join(note, header), tuple(rows))

    def _button(self, screen: Screen, label: str, action: str) -> Button:
        return Button(label, f"{PREFIX}:{screen.id}:{screen.current_step}:{action}")

    def _timezone_choices(
        self, screen: Screen, candidates: list[dict[str, str]], position: int, total: int
    ) -> tuple[str, list[tuple[Button, ...]]]:
        if len(candidates) == 1:
            only = candidates[0]
            text = (
                f"{position}/{total}  {only['place']}: it's "
                f"{local_time_label(only['zone'], self.now)} there. Is that right?"
            )
            rows: list[tuple[Button, ...]] = [
                (self._button(screen, "Yes, that's right", "tz.0"),),
                (self._button(screen, "No, let me type it again", "retry"),),
            ]
            return text, rows
        text = f"{position}/{total}  Which one is yours? I've put the local time beside each."
        rows = [
            (  # one candidate per row
                self._button(
                    screen,
                    f"{c['place']} · {local_time_label(c['zone'], self.now).split(' on ')[0]}",
                    f"tz.{i}",
                ),
            )
            for i, c in enumerate(candidates)
        ]
        rows.append((self._button(screen, "None of these, let me type it again", "retry"),))
        return text, rows

    def _schedule_text(self, answers: dict[str, Any]) -> str:
        return (
            f"I'd nudge you {schedule_of(answers).describe()}. "
            "Adjust it with the buttons, or type hours like 8-17. Tap Sounds good when it fits."
        )

    def _schedule_buttons(
        self, screen: Screen, answers: dict[str, Any]
    ) -> list[tuple[Button, ...]]:
        weekends = "Weekends: on, turn off" if schedule_of(answers).weekends else "Weekends too"
        b = self._button
        return [
            (b(screen, "✅ Sounds good", "ok"),),
            (
                b(screen, "Start earlier", "s.earlier_start"),
                b(screen, "Start later", "s.later_start"),
            ),
            (b(screen, "End earlier", "s.earlier_end"), b(screen, "End later", "s.later_end")),
            (b(screen, "More often", "s.more_often"), b(screen, "Less often", "s.less_often")),
            (b(screen, weekends, "s.weekends"),),
        ]

    def _red_flag_text(self, answers: dict[str, Any]) -> str:
        flags = [RedFlag(value) for value in answers.get("red_flags", [])]
        lines = list(referral_lines(flags))
        lines.append(
            "I won't start a programme until then. Once a clinician has checked you and says "
            "exercise is fine, tap the button below and we'll carry on."
        )
        return "\n\n".join(lines)

    def _summary_text(self, answers: dict[str, Any]) -> str:
        programme = starting_programme(to_screen_answers(answers))
        zone = str(answers["timezone"]["zone"])
        lines = [f"Here's your plan, {self.user.first_name}.", *programme.explanation]
        lines.append(
            f"Nudges: {schedule_of(answers).describe()} "
            f"(it's {local_time_label(zone, self.now)} for you now)."
        )
        changed = self._changes(answers, programme)
        if changed:
            lines.append("What changed since your last screen:\n" + "\n".join(changed))
        lines.append("Shall we start?")
        return "\n\n".join(lines)

    def _summary_buttons(self, screen: Screen) -> tuple[tuple[Button, ...], ...]:
        return (
            (self._button(screen, "Start my programme", "start"),),
            (self._button(screen, "« Back", "back"),),
        )

    def _changes(self, answers: dict[str, Any], programme: Programme) -> list[str]:
        """What differs from the last finished screen (nothing on a first screen)."""
        if self.previous is None or self.previous.result is None:
            return []
        return changes_since(
            self.answers_of(self.previous),
            answers,
            self.previous.result.get("focus"),
            programme.focus.label,
            programme.focus.value,
        )

    def _confirmation(self, programme: Programme, schedule: str) -> str:
        gentle = (
            " We keep to gentle glute wake-ups while your pain is high."
            if programme.gentle_only
            else ""
        )
        return (
            f"You're all set! Your focus: {Track(programme.focus).label}.{gentle}\n\n"
            f"I'll nudge you {schedule}. After each one, tell me how it went, like "
            '"12 reps, pain 2", or tap the buttons.\n\n'
            "Send /rescreen to redo the screen, or /help to see everything I can do."
        )


def _unanswered_before(key: str, answers: dict[str, Any]) -> q.Question | None:
    """The first question this user is asked before `key` that has no answer yet."""
    for question in q.asked(answers):
        if question.key == key:
            return None
        if question.key not in answers:
            return question
    return None


async def _open_screen(session: AsyncSession, user: User) -> Screen | None:
    """The screen in progress (or stopped at a red flag), if any."""
    return await session.scalar(
        select(Screen)
        .where(Screen.user_id == user.id, Screen.status.in_(OPEN))
        .order_by(Screen.started_at.desc(), Screen.id.desc())
        .limit(1)
    )


async def _latest_completed(session: AsyncSession, user: User) -> Screen | None:
    """The latest finished screen, to show what changed."""
    return await session.scalar(
        select(Screen)
        .where(Screen.user_id == user.id, Screen.status == ScreenStatus.COMPLETED)
        .order_by(Screen.completed_at.desc(), Screen.id.desc())
        .limit(1)
    )


def _join(note: str, text: str) -> str:
    return f"{note}\n\n{text}" if note else text
