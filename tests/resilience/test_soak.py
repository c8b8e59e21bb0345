"""A short soak and a fuzz of mixed actions, the invariants they check, and what they found.

The soak (bench/soak.py, `Crowd`) has many users type, tap the newest or a stale button,
forge callback data (other users' nudge, report, screen and broadcast ids, malformed data),
send commands in the middle of the screen, share locations, block and come back, while
Telegram redelivers updates and the clock runs with nudges going out. Afterwards nothing may
have gone wrong (no handler failure, no apology, no ERROR log line, no press left
unanswered) and `check_invariants` must find the database consistent.

The text-only fuzz of the message path is tests/e2e/test_fuzz_messages.py. The tests at the
end pin down the bugs the soak found, each fixed in the bot.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bench.soak import (
    CHAT,
    COMMANDS,
    FORGERIES,
    REPORTS,
    SCREEN_ANSWERS,
    Action,
    Crowd,
    crowd_on,
    soak,
)
from bot.clock import FakeClock
from bot.db.models import (
    Decision,
    Nudge,
    NudgeKind,
    NudgeState,
    Report,
    ReportSource,
    User,
    UserState,
)
from bot.handlers.basics import SORRY
from bot.localtelegram import LocalUser
from tests.e2e.harness import RunningBot, active_user, ask, run_clock, running_bot
from tests.e2e.test_delivery import MONDAY, nudges_of
from tests.e2e.test_onboarding import TO_THE_MOMENTS, tap_through

RED_FLAG = "I've got numbness in my groin since yesterday"

# ---- the short soak ----------------------------------------------------------------------


async def test_a_short_soak_has_no_exception_and_leaves_the_data_consistent(
    sqlite_url: str, tmp_path: Path
) -> None:
    result = await soak(sqlite_url, tmp_path, seed=8, users=12, actions=300, check_every=50)
    report = "\n".join(result.lines())
    assert result.exceptions == [], report
    assert result.violations == [], report
    # It did what a soak is for: every kind of action, nudges out, redeliveries skipped.
    assert set(result.done) >= {"tap", "say", "command", "forge", "clock", "redeliver"}, report
    assert result.done["nudges sent"] > 0 and result.redeliveries > 0, report
    assert result.updates_handled == result.updates_arrived - result.redeliveries, report
    assert result.tables["reports"] > 0 and result.checks >= 5, report


# ---- the invariants can fail -------------------------------------------------------------


async def test_the_invariants_notice_inconsistent_data(sqlite_url: str, tmp_path: Path) -> None:
    async with crowd_on(sqlite_url, tmp_path) as crowd:
        await crowd.add_people(2, random.Random(1))
        assert await crowd.check() == []
        bystander = next(iter(crowd.bystanders))
        now = crowd.clock.now()
        async with crowd.runtime.sessions.begin() as session:
            active = await session.get(User, bystander)
            assert active is not None
            nudge = await session.scalar(select(Nudge).where(Nudge.user_id == bystander))
            assert nudge is not None
            session.add(  # a second next nudge
                Nudge(user_id=bystander, due_at=now, kind=NudgeKind.NUDGE, created_at=now)
            )
            # Someone else's report on the bystander's nudge, counted twice, decided twice.
            for _ in range(2):
                session.add(
                    Report(
                        user_id=100, nudge_id=nudge.id, source=ReportSource.BUTTON, created_at=now
                    )
                )
            await session.flush()
            report = await session.scalar(select(Report.id).limit(1))
            for _ in range(2):
                session.add(
                    Decision(
                        user_id=100,
                        report_id=report,
                        track="activation",
                        action="hold",
                        level_from=1,
                        level_to=1,
                        reason="-",
                        created_at=now,
                    )
                )
            active.state = UserState.REFERRED  # referred, yet nudges waiting
            active.settings.levels = {"activation": 99}
            actor = await session.get(User, 100)  # active, and waiting for a pause to end
            assert actor is not None and actor.state is UserState.ACTIVE
            actor.settings.paused_until = now + timedelta(days=3)
            claimed = await session.scalar(select(Nudge).where(Nudge.user_id == 100).limit(1))
            assert claimed is not None
            claimed.state = NudgeState.CLAIMED  # left claimed between ticks
        crowd.handled[1] += 2  # an update handled twice
        problems = "\n".join(await crowd.check())
    for expected in (
        "updates handled more than once: [1]",
        f"referred user {bystander} has messages waiting",
        f"user {bystander} has 2 pending nudge messages",
        f"is on user {bystander}'s nudge",
        f"nudge {nudge.id} was reported 2 times",
        f"report {report} was decided on 2 times",
        f"user {bystander} is at level 99 on activation",
        f"bystander {bystander}'s state or settings changed",
        "active user 100 waits for a pause to end",
        f"nudge {claimed.id} of user 100 is still claimed",
    ):
        assert expected in problems, problems


# ---- the fuzz ----------------------------------------------------------------------------

who = st.integers(0, 7)
pick = st.integers(0, 1 << 20)
typed = st.one_of(
    st.sampled_from(REPORTS + SCREEN_ANSWERS + CHAT),
    st.text(min_size=1, max_size=300).filter(lambda text: text.strip() != ""),
)
commands = st.one_of(
    st.sampled_from(COMMANDS),
    st.tuples(st.sampled_from(("/pause", "/log", "/start", "/settings")), st.text(max_size=30)).map(
        " ".join
    ),
)
forged = st.one_of(st.sampled_from(FORGERIES), st.text(max_size=64))
actions = st.one_of(
    st.builds(Action, st.just("tap"), who, pick),
    st.builds(Action, st.just("tap"), who, pick),
    st.builds(Action, st.just("say"), who, pick, typed),
    st.builds(Action, st.just("command"), who, pick, commands),
    st.builds(Action, st.just("forge"), who, pick, forged),
    st.builds(Action, st.just("clock"), who, pick),
    st.builds(Action, st.just("redeliver"), who, pick),
    st.builds(Action, st.just("locate"), who, pick),
    st.builds(Action, st.just("block"), who, pick),
)


@pytest.fixture(scope="module")
def fuzzed_crowd(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[asyncio.AbstractEventLoop, Crowd]]:
    """One bot and crowd for all examples, on its own loop (hypothesis runs sync code)."""
    loop = asyncio.new_event_loop()
    folder = tmp_path_factory.mktemp("fuzz-crowd")
    context = crowd_on(f"sqlite+aiosqlite:///{folder / 'fuzz.db'}", folder)
    crowd = loop.run_until_complete(context.__aenter__())
    loop.run_until_complete(crowd.add_people(5, random.Random(5)))
    try:
        yield loop, crowd
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(actions, min_size=1, max_size=12))
def test_mixed_actions_never_break_the_bot_or_the_data(
    fuzzed_crowd: tuple[asyncio.AbstractEventLoop, Crowd], steps: list[Action]
) -> None:
    loop, crowd = fuzzed_crowd

    async def run() -> list[str]:
        crowd.exceptions.clear()
        for number, step in enumerate(steps, 1):
            await crowd.perform(step)
            if number % 4 == 0:
                await crowd.settle()
        await crowd.settle()
        return await crowd.check()

    violations = loop.run_until_complete(run())
    assert crowd.exceptions == []
    assert violations == []


# ---- what the soak found -----------------------------------------------------------------


@pytest.fixture
async def bot(sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(sqlite_url, tmp_path, clock=FakeClock(MONDAY)) as running:
        yield running


async def state_and_pending(bot: RunningBot, user_id: int) -> tuple[UserState | None, int]:
    async with bot.runtime.sessions() as session:
        state = await session.scalar(select(User.state).where(User.id == user_id))
        pending = await session.scalar(
            select(func.count())
            .select_from(Nudge)
            .where(Nudge.user_id == user_id, Nudge.state == NudgeState.SCHEDULED)
        )
    return state, int(pending or 0)


async def referred(bot: RunningBot, user_id: int) -> LocalUser:
    user = await active_user(bot, user_id)
    stop = await ask(user, RED_FLAG)
    assert stop.buttons == [["A clinician has cleared me"]]
    assert await state_and_pending(bot, user_id) == (UserState.REFERRED, 0)
    return user


async def test_stop_then_resume_does_not_skip_the_clinician(bot: RunningBot) -> None:
    user = await referred(bot, 201)
    await ask(user, "/stop")
    await ask(user, "/resume")
    assert await state_and_pending(bot, 201) == (UserState.REFERRED, 0)
    await run_clock(bot, MONDAY + timedelta(hours=8), step=timedelta(minutes=20))
    assert nudges_of(user) == []


async def test_blocking_and_coming_back_does_not_skip_the_clinician(bot: RunningBot) -> None:
    user = await referred(bot, 202)
    user.block()
    user.unblock()
    await ask(user, "hello again")
    assert await state_and_pending(bot, 202) == (UserState.REFERRED, 0)
    await run_clock(bot, MONDAY + timedelta(hours=8), step=timedelta(minutes=20))
    assert nudges_of(user) == []


async def test_cleared_after_a_pause_means_nudges_now_not_when_the_pause_ends(
    bot: RunningBot,
) -> None:
    user = await active_user(bot, 203)
    assert ((await ask(user, "/pause 1 week")).text or "").startswith("Nudges paused until")
    stop = await ask(user, RED_FLAG)
    back = await user.tap("A clinician has cleared me", message=stop)
    assert (back.text or "").startswith("Good to have you back. Nudges start again")
    await run_clock(
        bot, MONDAY + timedelta(hours=6), step=timedelta(minutes=15)
    )  # Monday, 13:00 in Berlin
    assert nudges_of(user)


async def test_a_screen_retaken_while_paused_starts_nudges_now(bot: RunningBot) -> None:
    user = await active_user(bot, 204)
    assert ((await ask(user, "/pause 1 week")).text or "").startswith("Nudges paused until")
    await user.send("/rescreen")
    await user.wait_for(lambda: (user.messages[-1].text or "").startswith("1/"))
    await tap_through(user, [*TO_THE_MOMENTS, "Making tea or coffee", "Done"])
    place = await ask(user, "Berlin")
    for label in ("Yes, that's right", "✅ Sounds good", "Start my programme"):
        place = await user.tap(label, message=place)
    assert (place.text or "").startswith("You're all set!")
    await run_clock(bot, MONDAY + timedelta(hours=6), step=timedelta(minutes=15))
    assert nudges_of(user)


async def test_coming_back_after_blocking_while_paused_brings_nudges_back(
    bot: RunningBot,
) -> None:
    user = await active_user(bot, 205)
    assert ((await ask(user, "/pause 1 week")).text or "").startswith("Nudges paused until")
    user.block()
    user.unblock()
    await ask(user, "/help")
    assert (await state_and_pending(bot, 205))[0] is UserState.ACTIVE
    await run_clock(bot, MONDAY + timedelta(hours=6), step=timedelta(minutes=15))
    assert nudges_of(user)


async def test_a_red_flag_while_retaking_the_screen_cancels_the_waiting_nudges(
    bot: RunningBot,
) -> None:
    typed, tapped = await active_user(bot, 206), await active_user(bot, 212)
    for user in (typed, tapped):
        await user.send("/rescreen")
        await user.wait_for(
            lambda user=user: (
                bool(user.messages) and (user.messages[-1].text or "").startswith("1/")
            )
        )
    stop = await ask(typed, RED_FLAG)
    assert "clinician" in (stop.text or "")
    stop = await tap_through(tapped, [*TO_THE_MOMENTS[:5], "A recent fall or injury", "Done"])
    assert "clinician" in (stop.text or "")
    assert await state_and_pending(bot, 206) == (UserState.REFERRED, 0)
    assert await state_and_pending(bot, 212) == (UserState.REFERRED, 0)


async def test_a_user_who_blocks_the_bot_mid_answer_is_no_error(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    user = await active_user(bot, 207)
    witness = await active_user(bot, 208)
    with caplog.at_level(logging.INFO):
        await user.send("12, pain 2")
        user.block()  # before the bot has answered
        await ask(witness, "/help")  # updates are handled in order: the first one is done
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not [m for m in user.messages if m.text == SORRY]


async def test_a_double_tap_on_the_delete_question_is_answered_once(bot: RunningBot) -> None:
    user = await active_user(bot, 209)
    for label, text in (("No, keep it", "Nothing was erased."), ("Yes, erase everything", None)):
        question = await ask(user, "/delete")
        first = await user.press(label, message=question)
        second = await user.press(label, message=question)
        for query_id in (first["callback_query"]["id"], second["callback_query"]["id"]):
            await user.wait_for(partial(bot.telegram.is_answered, query_id))
        assert text is None or question.text == text
    assert not [m for m in user.messages if m.text == SORRY]
    assert (await state_and_pending(bot, 209))[0] is None  # erased, once


async def test_snoozing_an_old_nudge_after_a_referral_schedules_nothing(bot: RunningBot) -> None:
    user = await active_user(bot, 210)
    await run_clock(bot, MONDAY + timedelta(hours=4), step=timedelta(minutes=15))
    nudge = nudges_of(user)[-1]
    await ask(user, RED_FLAG)
    await user.tap("⏰ 15 min", message=nudge)
    assert user.toasts[-1] == "Nudges are off right now, so there's nothing to snooze."
    assert await state_and_pending(bot, 210) == (UserState.REFERRED, 0)


async def test_cleared_after_a_red_flag_typed_early_the_screen_asks_what_it_skipped(
    bot: RunningBot,
) -> None:
    user = bot.telegram.user(211, "Sam")
    await user.send("/start")
    await user.replies(2)
    await tap_through(user, ["Long hours sitting", "8 to 10"])
    stop = await ask(user, "I had a fall yesterday")  # at question 3, how much they train
    cleared = await user.tap("A clinician has cleared me to exercise", message=stop)
    assert "How much do you train" in (cleared.text or "")
    answers = ["Now and then", "Nothing, just me", "0", "Done", *TO_THE_MOMENTS[6:]]
    await tap_through(user, [*answers, "Making tea or coffee", "Done"])
    place = await ask(user, "Berlin")
    for label in ("Yes, that's right", "✅ Sounds good", "Start my programme"):
        place = await user.tap(label, message=place)
    assert (place.text or "").startswith("You're all set!")
    assert not [m for m in user.messages if m.text == SORRY]
