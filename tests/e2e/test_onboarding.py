"""The onboarding screen, as a user goes through it: taps and typed answers in, messages out."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import Screen, ScreenStatus, UserState
from bot.db.repo import get_user
from bot.localtelegram import LocalTelegram, LocalUser
from bot.localtelegram.chat import ChatMessage
from tests.e2e.harness import RunningBot, forged_press, running_bot

# A desk worker with no complications: every answer is one tap, the city is typed.
TO_THE_MOMENTS = [
    "Long hours sitting",
    "8 to 10",
    "Now and then",
    "Nothing, just me",
    "0",
    "None of these",
    "Only the glute",
    "Only the glute",
    "My glute",
    "My glute",
]


async def begin(bot: RunningBot, user_id: int = 501, name: str = "Alex") -> LocalUser:
    user = bot.telegram.user(user_id, name)
    await user.send("/start")
    await user.replies(2)  # greeting, then question 1
    return user


async def tap_through(user: LocalUser, labels: list[str]) -> ChatMessage:
    """Tap each label in turn on the screen message; returns that message afterwards."""
    message = user.last
    for label in labels:
        message = await user.tap(label)
    return message


async def answer_place(user: LocalUser, typed: str = "Berlin") -> ChatMessage:
    await user.send(typed)
    return await user.next_reply()


async def finish_screen(user: LocalUser, moments: list[str] | None = None) -> ChatMessage:
    """From the moments question to the confirmed programme; returns the confirmation."""
    await tap_through(user, [*(moments or ["Making tea or coffee"]), "Done"])
    await answer_place(user)
    await user.tap("Yes, that's right")
    await user.tap("✅ Sounds good")
    return await user.tap("Start my programme")


async def stored(bot: RunningBot, user_id: int):  # type: ignore[no-untyped-def]
    async with bot.runtime.sessions() as session:
        user = await get_user(session, user_id)
        screens = (
            await session.scalars(
                select(Screen).where(Screen.user_id == user_id).order_by(Screen.id)
            )
        ).all()
    return user, list(screens)


@pytest.fixture
async def bot(sqlite_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Screen flows run on SQLite; the happy path and restarts run on both backends."""
    async with running_bot(sqlite_url, tmp_path) as running:
        yield running


async def test_a_desk_worker_goes_from_start_to_a_confirmed_programme(
    database_url: str, tmp_path: Path
) -> None:
    async with running_bot(database_url, tmp_path) as bot:
        await _desk_worker(bot)


async def _desk_worker(bot: RunningBot) -> None:
    alex = bot.telegram.user(501, "Alex")
    await alex.send("/start")
    greeting, first = await alex.replies(2)
    assert "coach, not a clinician" in greeting.text
    assert first.text.startswith("1/13  What brings you here?")
    assert first.buttons[-1] != ["« Back"]  # nothing to go back to yet

    second = await alex.tap("Long hours sitting")
    assert second.text.startswith("2/13  Roughly how many hours")
    assert ["« Back"] in second.buttons
    await tap_through(alex, TO_THE_MOMENTS[1:])
    assert alex.last.text.startswith("11/13  Which of these moments")
    moments = await alex.tap("Making tea or coffee")
    assert ["✅ Making tea or coffee"] in moments.buttons
    await alex.tap("Done")

    confirm = await answer_place(alex, "Berlin")
    assert confirm.text.startswith("12/13  Berlin, Germany: it's ")
    schedule = await alex.tap("Yes, that's right")
    assert "weekdays, 09:00-18:00 your time, about every hour" in schedule.text
    summary = await alex.tap("✅ Sounds good")
    assert summary.text.startswith("Here's your plan, Alex.")
    assert "for you now" in summary.text
    assert "What changed" not in summary.text

    user, screens = await stored(bot, 501)
    assert user is not None and user.state is UserState.ONBOARDING  # not before confirming

    done = await alex.tap("Start my programme")
    assert done.text.startswith("You're all set!")
    user, screens = await stored(bot, 501)
    assert user is not None and user.state is UserState.ACTIVE
    settings = user.settings
    assert settings.timezone == "Europe/Berlin"
    assert (settings.window_start, settings.window_end) == (9 * 60, 18 * 60)
    assert settings.nudge_interval_minutes == 60  # about 9 hours of sitting a day
    assert (settings.weekends, settings.equipment, settings.anchors) == (False, [], ["kettle"])
    assert settings.focus == "hip_extension"  # both tests clean: the glutes lead
    assert settings.levels and all(level >= 1 for level in settings.levels.values())
    assert [screen.status for screen in screens] == [ScreenStatus.COMPLETED]

    await alex.send("/start")
    assert (await alex.next_reply()).text.startswith(
        "Welcome back, Alex! Your programme is running"
    )


@pytest.mark.parametrize(
    ("context", "experience", "pain", "where", "focus", "mixed_in"),
    [
        ("Long hours sitting", "Not at all (yet)", "0", [], "hip_extension", "hip_flexor_balance"),
        ("Running", "Most weeks", "0", [], "hip_extension", "power_running"),
        ("Lifting weights", "Most weeks", "0", [], "strength", "hip_flexor_balance"),
        ("Aches and stiffness", "Now and then", "2", ["Knee"], "rotation_abduction", "activation"),
    ],
)
async def test_each_context_gets_its_own_focus(
    bot: RunningBot,
    context: str,
    experience: str,
    pain: str,
    where: list[str],
    focus: str,
    mixed_in: str,
) -> None:
    user = await begin(bot)
    taps = [context, "6 to 8", experience, "Resistance band", "Done", pain]
    if where:
        taps += [*where, "Done"]
    await tap_through(user, [*taps, *TO_THE_MOMENTS[5:]])
    assert (await finish_screen(user)).text.startswith("You're all set!")
    stored_user, _ = await stored(bot, user.id)
    assert stored_user is not None
    assert stored_user.settings.focus == focus
    assert mixed_in in stored_user.settings.mix
    assert stored_user.settings.equipment == ["band"]


URGENT = {
    "Numbness in the groin or saddle area",
    "New bladder or bowel problems",
    "Pain or tingling down both legs",
    "Legs getting weaker",
}
ROUTINE = {
    "A recent fall or injury",
    "Fever or chills",
    "Weight loss I can't explain",
    "Night pain that won't settle",
    "A history of cancer",
}


@pytest.mark.parametrize("flag", sorted(URGENT | ROUTINE))
async def test_any_red_flag_stops_the_programme_until_a_clinician_clears_it(
    sqlite_url: str, tmp_path: Path, flag: str
) -> None:
    async with running_bot(sqlite_url, tmp_path) as bot:
        user = await begin(bot)
        await tap_through(user, TO_THE_MOMENTS[:5])
        await user.tap(flag)
        stop = await user.tap("Done")
        if flag in URGENT:
            assert "needs a doctor today" in stop.text
        else:
            assert "worth showing a doctor or physiotherapist" in stop.text
        assert "I won't start a programme until then" in stop.text
        assert stop.buttons == [["A clinician has cleared me to exercise"], ["« Change my answer"]]
        stored_user, screens = await stored(bot, user.id)
        assert stored_user is not None and stored_user.state is UserState.REFERRED
        assert screens[-1].status is ScreenStatus.RED_FLAG
        assert stored_user.settings.focus is None

        # Typed messages do not slip past the stop.
        await user.send("Only the glute")
        assert (await user.next_reply()).text == stop.text

        carry_on = await user.tap("A clinician has cleared me to exercise")
        assert carry_on.text.startswith("7/13  Self-test 1, the seated squeeze.")
        await tap_through(user, TO_THE_MOMENTS[6:])
        await tap_through(user, ["Making tea or coffee", "Done"])
        await answer_place(user)
        await user.tap("Yes, that's right")
        summary = await user.tap("✅ Sounds good")
        assert "A clinician has cleared you to exercise" in summary.text
        await user.tap("Start my programme")
        stored_user, _ = await stored(bot, user.id)
        assert stored_user is not None and stored_user.state is UserState.ACTIVE
        assert set(stored_user.settings.levels.values()) == {1}


async def test_a_red_flag_typed_at_any_question_stops_the_screen(bot: RunningBot) -> None:
    user = await begin(bot)
    await user.tap("Long hours sitting")
    await user.send("hard to say, I have numbness in my groin since yesterday")
    stop = await user.next_reply()
    assert "needs a doctor today" in stop.text
    stored_user, _ = await stored(bot, user.id)
    assert stored_user is not None and stored_user.state is UserState.REFERRED


async def test_high_pain_at_rest_means_gentle_activation_and_advice(bot: RunningBot) -> None:
    user = await begin(bot)
    await tap_through(user, ["Long hours sitting", "8 to 10", "Now and then", "Nothing, just me"])
    where = await user.tap("8")
    assert where.text.startswith("6/14  Where do you feel it?")  # one more question now
    await tap_through(user, ["Lower back", "Done", *TO_THE_MOMENTS[5:]])
    await tap_through(user, ["Making tea or coffee", "Done"])
    await answer_place(user)
    await user.tap("Yes, that's right")
    summary = await user.tap("✅ Sounds good")
    assert "gentle" in summary.text and "physiotherapist" in summary.text
    done = await user.tap("Start my programme")
    assert "gentle glute wake-ups" in done.text
    stored_user, _ = await stored(bot, user.id)
    assert stored_user is not None and stored_user.settings.gentle_only
    assert stored_user.settings.focus == "activation"


async def test_back_goes_to_the_previous_question_and_a_changed_answer_sticks(
    bot: RunningBot,
) -> None:
    user = await begin(bot)
    first = user.last
    await user.tap("Running")
    again = await user.tap("« Back")
    assert again.text.startswith("1/13  What brings you here?")
    assert ["« Back"] not in again.buttons
    await tap_through(user, ["Lifting weights", "« Back"])
    await tap_through(user, ["Lifting weights", *TO_THE_MOMENTS[1:]])
    assert first.message_id == user.last.message_id  # one screen message, edited in place
    await finish_screen(user)
    _, screens = await stored(bot, user.id)
    assert {a.step: a.answer for a in screens[-1].answers}["context"] == "lifting"


async def test_typed_answers_are_understood_and_bad_ones_re_asked(bot: RunningBot) -> None:
    user = await begin(bot)
    await user.send("mostly desk work")
    assert (await user.next_reply()).text.startswith("Got it.\n\n2/13")
    await user.send("banana")
    reask = await user.next_reply()
    assert reask.text.startswith('I need a number here, like "8"')
    assert "2/13" in reask.text and reask.buttons  # the question again, buttons and all
    await user.send("30")
    assert (await user.next_reply()).text.startswith("That's outside what I can use")
    await user.send("about 9 hours")
    assert "3/13" in (await user.next_reply()).text
    await user.send("now and then")
    await user.send("band and dumbbells")
    await user.send("11")
    await user.replies(3)
    assert user.last.text.startswith("That's outside what I can use: a number from 0 to 10")
    await user.send("3/10")
    assert "6/14  Where do you feel it?" in (await user.next_reply()).text
    await user.send("knee and hip")
    await user.send("none")
    await user.send("my lower back tightened")
    await user.send("🍑")
    assert (await user.replies(4))[-1].text.startswith("I didn't quite get that. Tap one")
    _, screens = await stored(bot, user.id)
    answers = {a.step: a.answer for a in screens[-1].answers}
    assert answers["sitting_hours"] == 9
    assert answers["equipment"] == ["band", "dumbbell"]
    assert answers["pain_now"] == 3
    assert sorted(answers["pain_sites"]) == ["hip", "knee"]
    assert answers["red_flags"] == []
    assert answers["squeeze_left"] == "back_tightened"
    assert "squeeze_right" not in answers


async def test_a_restart_mid_screen_resumes_where_the_user_was(
    database_url: str, tmp_path: Path
) -> None:
    telegram = LocalTelegram()
    async with running_bot(database_url, tmp_path, telegram=telegram) as bot:
        user = await begin(bot)
        await tap_through(user, ["Long hours sitting", "8 to 10", "Now and then"])
    async with running_bot(database_url, tmp_path, telegram=telegram):
        await user.send("/start")
        back, question = await user.replies(2)
        assert back.text == "Welcome back, Alex! Let's pick up where we left off."
        assert question.text.startswith("4/13  What do you have at hand?")
        await user.tap("Resistance band", message=question)
        # The old screen message still works after the restart too.
        assert (await user.tap("Done", message=question)).text.startswith("5/13")


@pytest.mark.parametrize(
    ("typed", "place", "zone"),
    [
        ("new york", "New York", "America/New_York"),
        ("São Paulo", "São Paulo", "America/Sao_Paulo"),
        ("UTC+5:30", "UTC+5:30", "Asia/Kolkata"),
        ("utc-3", "UTC-3", "Etc/GMT+3"),
    ],
)
async def test_a_typed_city_or_offset_is_confirmed_with_the_local_time(
    sqlite_url: str, tmp_path: Path, typed: str, place: str, zone: str
) -> None:
    async with running_bot(sqlite_url, tmp_path) as bot:
        user = await begin(bot)
        await tap_through(user, [*TO_THE_MOMENTS, "Done"])
        confirm = await answer_place(user, typed)
        assert place in confirm.text and "there. Is that right?" in confirm.text
        await user.tap("Yes, that's right")
        await user.tap("✅ Sounds good")
        await user.tap("Start my programme")
        stored_user, _ = await stored(bot, user.id)
        assert stored_user is not None and stored_user.settings.timezone == zone


async def test_a_shared_location_nonsense_and_a_retry(bot: RunningBot) -> None:
    user = await begin(bot)
    await tap_through(user, [*TO_THE_MOMENTS, "Done"])
    await user.send("asdfghjk")
    assert (await user.next_reply()).text.startswith('I couldn\'t find "asdfghjk"')
    await user.share_location(-31.5553, 159.0821)  # Lord Howe Island
    confirm = await user.next_reply()
    assert confirm.text.startswith("12/13  Your location (Australia/Lord_Howe): it's ")
    retyped = await user.tap("No, let me type it again")
    assert retyped.text.startswith("12/13  Where are you")
    await user.share_location(52.52, 13.40)
    await user.next_reply()
    await user.tap("Yes, that's right")
    await user.tap("✅ Sounds good")
    await user.tap("Start my programme")
    stored_user, _ = await stored(bot, user.id)
    assert stored_user is not None and stored_user.settings.timezone == "Europe/Berlin"


async def test_the_schedule_can_be_tapped_or_typed_into_shape(bot: RunningBot) -> None:
    user = await begin(bot)
    await tap_through(user, [*TO_THE_MOMENTS, "Done"])
    await answer_place(user)
    schedule = await user.tap("Yes, that's right")
    schedule = await tap_through(user, ["Start earlier", "More often", "Weekends too"])
    assert "every day, 08:00-18:00 your time, about every 45 minutes" in schedule.text
    await user.send("7:30-16:30 every 90 minutes, no weekends")
    assert (
        "weekdays, 07:30-16:30 your time, about every 90 minutes" in (await user.next_reply()).text
    )
    await user.send("3am to 4am")
    assert (await user.next_reply()).text.startswith("I can nudge between 05:00 and 23:00")
    await user.send("ok")
    assert (await user.next_reply()).text.startswith("Here's your plan")
    await user.tap("Start my programme")
    stored_user, _ = await stored(bot, user.id)
    assert stored_user is not None
    settings = stored_user.settings
    assert (settings.window_start, settings.window_end) == (7 * 60 + 30, 16 * 60 + 30)
    assert (settings.nudge_interval_minutes, settings.weekends) == (90, False)


async def test_rescreen_keeps_the_earlier_screen_and_shows_what_changed(bot: RunningBot) -> None:
    user = await begin(bot)
    await tap_through(user, TO_THE_MOMENTS)
    await finish_screen(user)
    old_screen_message = user.messages[1]

    await user.send("/rescreen")
    note, first = await user.replies(2)
    assert note.text.startswith("Let's redo the screen.")
    assert first.text.startswith("1/13")
    retaken = [
        "Long hours sitting",
        "8 to 10",
        "Now and then",
        "Nothing, just me",
        "0",
        "None of these",
        "My lower back tightened",
        "Only the glute",
        "My glute",
        "My glute",
    ]
    await tap_through(user, retaken)
    await tap_through(user, ["Making tea or coffee", "Done"])
    await answer_place(user)
    await user.tap("Yes, that's right")
    summary = await user.tap("✅ Sounds good")
    assert "What changed since your last screen:" in summary.text
    assert "Left seated squeeze: Only the glute → My lower back tightened" in summary.text
    assert "Focus: hip extension → glute wake-up" in summary.text
    await user.tap("Start my programme")

    await user.tap("« Back", message=old_screen_message)  # left over from the first screen
    assert user.toasts[-1] == "That button belongs to an earlier question."
    stored_user, screens = await stored(bot, user.id)
    assert [s.status for s in screens] == [ScreenStatus.COMPLETED, ScreenStatus.COMPLETED]
    assert stored_user is not None and stored_user.settings.focus == "activation"


async def test_cancel_stops_the_screen_and_start_begins_again(bot: RunningBot) -> None:
    user = await begin(bot)
    await user.tap("Running")
    await user.send("/cancel")
    assert (await user.next_reply()).text.startswith("Okay, I've stopped the questions.")
    await user.send("8")  # no screen open now: not taken as an answer
    assert "Here's what I understand" in (await user.next_reply()).text
    await user.send("/cancel")
    assert (await user.next_reply()).text.startswith("There's nothing to cancel")
    await user.send("/start")
    greeting, first = await user.replies(2)
    assert "coach, not a clinician" not in greeting.text  # the note is shown once
    assert first.text.startswith("1/13")
    _, screens = await stored(bot, user.id)
    assert [s.status for s in screens] == [ScreenStatus.CANCELLED, ScreenStatus.IN_PROGRESS]


async def test_forged_or_stale_buttons_change_nothing(bot: RunningBot) -> None:
    user = await begin(bot)
    other = await begin(bot, user_id=777, name="Other")
    others_button = other.last.button_data[0][0]
    assert others_button is not None
    await forged_press(bot.telegram, user, others_button)
    assert user.toasts[-1] == "That button belongs to an earlier question."
    await forged_press(bot.telegram, user, "o:not-a-number:context:v.running")
    assert user.toasts[-1] == "That button has expired."
    screen_id = others_button.split(":")[1]
    own_screen = str(int(screen_id) - 1)  # screens are numbered in order: ours came first
    await forged_press(bot.telegram, user, f"o:{own_screen}:context:v.flying")
    assert user.toasts[-1] == "That button has expired."
    _, screens = await stored(bot, user.id)
    assert screens[-1].answers == [] and screens[-1].current_step == "context"
