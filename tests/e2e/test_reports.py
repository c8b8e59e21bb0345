"""Reports and progression through buttons and /log; safety stops; /why, /stop, /delete."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.db.models import Nudge, NudgeState, UserState
from bot.db.repo import count_rows_for_user, get_user
from bot.localtelegram import LocalUser
from bot.localtelegram.chat import ChatMessage
from content import Track, load_library
from tests.e2e.harness import RunningBot, active_user, ask, run_clock, running_bot
from tests.e2e.test_delivery import MONDAY

LIBRARY = load_library()


@pytest.fixture
async def bot(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    async with running_bot(database_url, tmp_path, clock=FakeClock(MONDAY)) as running:
        yield running


async def set_level(bot: RunningBot, user_id: int, track: str, level: int) -> None:
    async with bot.runtime.sessions.begin() as session:
        user = await get_user(session, user_id)
        assert user is not None
        user.settings.levels = {**user.settings.levels, track: level}


async def level_of(bot: RunningBot, user_id: int, track: str) -> int:
    async with bot.runtime.sessions() as session:
        user = await get_user(session, user_id)
    assert user is not None
    return user.settings.levels[track]


async def log_session(user: LocalUser, *, reps: str | None, pain: str) -> ChatMessage:
    """/log the first exercise offered (the focus track), with reps and pain by button."""
    question = await ask(user, "/log")
    assert question.text.startswith("Which exercise was it")
    message = await user.tap(question.buttons[0][0], message=question)
    assert message.text.startswith("How many")
    message = await user.tap(reps or message.buttons[0][-2], message=message)
    assert "Did it hurt?" in message.text
    return await user.tap(pain, message=message)


async def test_meeting_the_target_twice_without_pain_advances(bot: RunningBot) -> None:
    user = await active_user(bot, 71)
    target = str(LIBRARY.ladder(Track.ACTIVATION).at(1).dose.reps)
    first = await log_session(user, reps=target, pain="0")
    assert "pain 0/10" in first.text
    assert await level_of(bot, 71, "activation") == 1
    bot.clock.advance(timedelta(hours=3))
    second = await log_session(user, reps=target, pain="1")
    assert await level_of(bot, 71, "activation") == 2
    why = (await ask(user, "/why")).text
    assert why and why in second.text  # the same one-line reason, shown again


async def test_pain_of_six_steps_back_and_says_ease_off(bot: RunningBot) -> None:
    user = await active_user(bot, 72)
    await set_level(bot, 72, "activation", 3)
    hurt = await log_session(user, reps=None, pain="6")
    assert "Ease off this one" in hurt.text
    assert await level_of(bot, 72, "activation") == 2


async def test_pain_of_eight_stops_nudges_until_a_clinician_clears(bot: RunningBot) -> None:
    user = await active_user(bot, 73)
    stopped = await log_session(user, reps=None, pain="8")
    assert "physiotherapist" in stopped.text
    assert stopped.buttons == [["A clinician has cleared me"]]
    async with bot.runtime.sessions() as session:
        stored = await get_user(session, 73)
        pending = await session.scalar(
            select(func.count())
            .select_from(Nudge)
            .where(Nudge.user_id == 73, Nudge.state == NudgeState.SCHEDULED)
        )
    assert stored is not None and stored.state is UserState.REFERRED and pending == 0
    await run_clock(bot, MONDAY + timedelta(days=1), step=timedelta(minutes=20))
    assert not [m for m in user.messages if "\n• " in (m.text or "")]  # no nudges meanwhile

    back = await user.tap("A clinician has cleared me", message=stopped)
    assert back.text.startswith("Good to have you back.")
    await run_clock(bot, MONDAY + timedelta(days=2), step=timedelta(minutes=20))
    assert [m for m in user.messages if "\n• " in (m.text or "")]


async def test_felt_in_the_lower_back_changes_the_cue_then_steps_back(bot: RunningBot) -> None:
    user = await active_user(bot, 74)
    await set_level(bot, 74, "activation", 3)
    first = await log_session(user, reps=None, pain="1")
    noted = await user.tap("Lower back", message=first)
    assert noted.text.startswith("Noted, thanks.")
    assert "Cue for next time:" in noted.text
    bot.clock.advance(timedelta(hours=2))
    second = await log_session(user, reps=None, pain="1")
    await user.tap("Lower back", message=second)
    assert await level_of(bot, 74, "activation") == 2


async def test_why_before_any_report(bot: RunningBot) -> None:
    user = await active_user(bot, 75)
    assert (await ask(user, "/why")).text.startswith("Nothing to explain yet")


async def test_log_needs_a_programme(bot: RunningBot) -> None:
    user = bot.telegram.user(76, "New")
    await user.send("/log")
    assert (await user.next_reply()).text.startswith("You don't have a programme yet")


async def test_stop_and_resume(bot: RunningBot) -> None:
    user = await active_user(bot, 77)
    await user.send("/stop")
    assert (await user.next_reply()).text.startswith("Nudges stopped.")
    await run_clock(bot, MONDAY + timedelta(days=1), step=timedelta(minutes=20))
    assert not [m for m in user.messages if "\n• " in (m.text or "")]
    await user.send("/resume")
    assert (await user.next_reply()).text == "Welcome back! Nudges are on again."
    await run_clock(bot, MONDAY + timedelta(days=2), step=timedelta(minutes=20))
    assert [m for m in user.messages if "\n• " in (m.text or "")]


async def test_delete_erases_every_row_about_the_user_and_only_theirs(bot: RunningBot) -> None:
    user = await active_user(bot, 78)
    other = await active_user(bot, 79)
    await run_clock(bot, MONDAY + timedelta(hours=5))
    await log_session(user, reps=None, pain="2")
    await log_session(other, reps=None, pain="2")

    question = await ask(user, "/delete")
    assert "can't be undone" in question.text
    kept = await user.tap("No, keep it", message=question)
    assert kept.text == "Nothing was erased."
    async with bot.runtime.sessions() as session:
        counts = await count_rows_for_user(session, 78)
    assert counts["users"] == 1 and counts["reports"] and counts["decisions"]

    erased = await user.tap("Yes, erase everything", message=await ask(user, "/delete"))
    assert erased.text.startswith("Done. Everything about you is erased.")
    async with bot.runtime.sessions() as session:
        assert set((await count_rows_for_user(session, 78)).values()) == {0}
        assert (await count_rows_for_user(session, 79))["reports"] == 1
    nudges_before = sum("\n• " in (m.text or "") for m in user.messages)
    await run_clock(bot, MONDAY + timedelta(days=1), step=timedelta(minutes=30))
    assert sum("\n• " in (m.text or "") for m in user.messages) == nudges_before  # no more


async def test_progress_history_and_export_show_what_was_logged(bot: RunningBot) -> None:
    user = await active_user(bot, 80, name="Zoë")
    await log_session(user, reps=None, pain="2")
    bot.clock.advance(timedelta(days=1))
    await log_session(user, reps=None, pain="0")

    chart = await ask(user, "/progress")
    assert chart.photo is not None and chart.photo.startswith(b"\x89PNG")
    assert chart.caption is not None and chart.caption.startswith("Your last four weeks.")

    history = await ask(user, "/history")
    assert "Recent reports" in history.text
    assert LIBRARY.ladder(Track.ACTIVATION).at(1).name in history.text  # the logged exercise
    assert len(history.text) <= 4096

    intro = await ask(user, "/export")
    assert intro.text.startswith("Here's everything I have about you")
    await user.wait_for(lambda: sum(m.document is not None for m in user.messages) >= 3, timeout=20)
    documents = {m.file_name: m.document for m in user.messages if m.document is not None}
    names = sorted(documents)
    assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "json", "pdf"]
    exported = json.loads(documents[names[1]] or b"")
    assert exported["user"]["first_name"] == "Zoë"
    assert len(exported["reports"]) == 2
    pdf = PdfReader(io.BytesIO(documents[names[2]] or b""))
    assert len(pdf.pages) == 2
    assert "Zoë" in pdf.pages[0].extract_text()
    rows = list(csv.DictReader(io.StringIO((documents[names[0]] or b"").decode("utf-8-sig"))))
    assert {row["table"] for row in rows} >= {"user", "reports"}


async def test_export_from_someone_unknown_says_nothing_is_stored(bot: RunningBot) -> None:
    stranger = bot.telegram.user(83, "Stranger")
    answer = await ask(stranger, "/export")
    assert answer.text == "I don't have anything stored about you."
    assert not [m for m in stranger.messages if m.document is not None]
    async with bot.runtime.sessions() as session:
        assert await get_user(session, 83) is None


async def test_export_is_only_ever_about_the_caller(bot: RunningBot) -> None:
    mine = await active_user(bot, 81, name="Mine")
    theirs = await active_user(bot, 82, name="Theirs")
    await log_session(theirs, reps=None, pain="3")
    await ask(mine, "/export")
    await mine.wait_for(lambda: sum(m.document is not None for m in mine.messages) >= 3, timeout=20)
    for message in mine.messages:
        if message.document is not None and message.file_name.endswith(".json"):
            document = json.loads(message.document)
            assert document["user"]["id"] == 81 and document["reports"] == []
