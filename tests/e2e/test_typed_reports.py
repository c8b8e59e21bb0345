"""Typed reports through the local Telegram: understood, asked about, or answered kindly."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.db.models import Decision, Nudge, NudgeKind, NudgeState, Report, UserState
from bot.db.repo import get_user
from bot.localtelegram import LocalTelegram, LocalUser
from tests.e2e.harness import RunningBot, active_user, ask, run_clock, running_bot
from tests.e2e.test_delivery import MONDAY


@pytest.fixture
async def bot(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    async with running_bot(database_url, tmp_path, clock=FakeClock(MONDAY)) as running:
        yield running


async def nudged(bot: RunningBot, user_id: int) -> tuple[LocalUser, Nudge]:
    """An active user who has just received a nudge (and the nudge's row)."""
    user = await active_user(bot, user_id)
    await run_clock(bot, MONDAY + timedelta(hours=4))
    async with bot.runtime.sessions() as session:
        nudge = await session.scalar(
            select(Nudge)
            .where(
                Nudge.user_id == user_id, Nudge.kind == NudgeKind.NUDGE, Nudge.sent_at.is_not(None)
            )
            .order_by(Nudge.sent_at.desc())
            .limit(1)
        )
    assert nudge is not None
    return user, nudge


async def reports_of(bot: RunningBot, user_id: int) -> list[Report]:
    async with bot.runtime.sessions() as session:
        return list((await session.scalars(select(Report).where(Report.user_id == user_id))).all())


async def test_a_typed_report_answers_the_open_nudge(bot: RunningBot) -> None:
    user, nudge = await nudged(bot, 101)
    reply = await ask(user, "did 4, pain 2/10")
    assert reply.text.startswith("Logged: 4 ")
    assert "pain 2/10" in reply.text
    [report] = await reports_of(bot, 101)
    assert (report.nudge_id, report.reps, report.pain_during) == (nudge.id, 4, 2)
    assert report.exercise_id == nudge.exercise_id


async def test_done_then_pain_by_button(bot: RunningBot) -> None:
    user, nudge = await nudged(bot, 102)
    reply = await ask(user, "done ✅")
    assert "Did it hurt?" in reply.text
    answered = await user.tap("0", message=reply)
    assert "pain 0/10" in answered.text
    [report] = await reports_of(bot, 102)
    assert (report.reps, report.pain_during) == (nudge.target_reps, 0)


async def test_pain_and_where_typed_after_the_fact_complete_the_report(bot: RunningBot) -> None:
    user, _ = await nudged(bot, 103)
    await ask(user, "12")
    reply = await ask(user, "hurts a bit, 4")
    assert "pain 4/10" in reply.text
    felt = await ask(user, "felt it in my lower back")
    assert felt.text.startswith("Noted, thanks.")
    [report] = await reports_of(bot, 103)
    assert (report.reps, report.pain_during, report.felt_in) == (12, 4, "lower_back")


async def test_an_unclear_report_gets_a_question_and_nothing_is_guessed(bot: RunningBot) -> None:
    user, _ = await nudged(bot, 104)
    question = await ask(user, "12 3")
    assert question.buttons, question.text
    assert await reports_of(bot, 104) == []  # nothing stored on a guess
    answered = await user.tap(question.buttons[0][0], message=question)
    assert answered.text.startswith("Logged:") or "Did it hurt?" in answered.text
    assert len(await reports_of(bot, 104)) == 1


async def test_something_that_is_not_a_report_gets_a_hint(bot: RunningBot) -> None:
    user, _ = await nudged(bot, 105)
    reply = await ask(user, "hello there!")
    assert "reps" in reply.text and reply.buttons == []
    assert await reports_of(bot, 105) == []


async def test_a_red_flag_in_any_message_stops_nudges_and_sends_to_a_doctor(
    bot: RunningBot,
) -> None:
    user, _ = await nudged(bot, 106)
    reply = await ask(user, "12 reps but now I've got numbness in my groin and can't pee properly")
    assert "needs a doctor today" in reply.text
    assert reply.buttons == [["A clinician has cleared me"]]
    async with bot.runtime.sessions() as session:
        stored = await get_user(session, 106)
        pending = await session.scalar(
            select(func.count())
            .select_from(Nudge)
            .where(Nudge.user_id == 106, Nudge.state == NudgeState.SCHEDULED)
        )
    assert stored is not None and stored.state is UserState.REFERRED and pending == 0
    assert await reports_of(bot, 106) == []  # no exercise logged over a red flag
    back = await user.tap("A clinician has cleared me", message=reply)
    assert back.text.startswith("Good to have you back.")


async def test_a_redelivered_report_is_counted_once(database_url: str, tmp_path: Path) -> None:
    telegram = LocalTelegram()
    async with running_bot(
        database_url, tmp_path, telegram=telegram, clock=FakeClock(MONDAY)
    ) as first:
        user, _ = await nudged(first, 107)
        update = await user.send("8 reps, no pain")
        await user.wait_for(lambda: any((m.text or "").startswith("Logged") for m in user.messages))
    telegram.redeliver(update)
    async with running_bot(
        database_url, tmp_path, telegram=telegram, clock=FakeClock(MONDAY + timedelta(hours=5))
    ) as second:
        reply = await ask(user, "/why")
        assert not reply.text.startswith("Logged")  # the replayed report got no answer
        assert len(await reports_of(second, 107)) == 1


async def test_where_it_was_felt_revises_the_one_decision_of_that_report(bot: RunningBot) -> None:
    user, _ = await nudged(bot, 108)
    logged = await ask(user, "did 4, pain 1")
    noted = await user.tap("Lower back", message=logged)
    assert "Cue for next time:" in noted.text
    [report] = await reports_of(bot, 108)
    async with bot.runtime.sessions() as session:
        decisions = list(
            (await session.scalars(select(Decision).where(Decision.report_id == report.id))).all()
        )
    assert len(decisions) == 1  # revised in place, not a second one
    assert "lower back" in decisions[0].reason


async def test_a_typed_message_records_the_user_as_seen_under_their_current_name(
    bot: RunningBot,
) -> None:
    user, _ = await nudged(bot, 109)
    user.chat.user = dataclasses.replace(user.chat.user, first_name="Alexa", username="alexa")
    bot.clock.advance(timedelta(minutes=7))
    await ask(user, "did 4, pain 1")
    async with bot.runtime.sessions() as session:
        stored = await get_user(session, 109)
    assert stored is not None
    assert (stored.first_name, stored.username) == ("Alexa", "alexa")
    assert stored.last_seen_at == stored.updated_at == bot.clock.now()
