"""A user's first minutes with the bot, through the local Telegram: messages in, messages out."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.commands import COMMANDS
from bot.db.repo import get_user
from bot.localtelegram import LocalTelegram
from tests.e2e.harness import RunningBot, running_bot


async def test_start_greets_a_new_user_by_name_and_remembers_them(bot: RunningBot) -> None:
    alex = bot.telegram.user(4242, "Alex", username="alex_sits")
    await alex.send("/start")
    reply = await alex.next_reply()
    assert reply.text.startswith("Hi Alex!")
    assert "coach, not a clinician" in reply.text  # the one-time note comes first
    assert (await alex.next_reply()).text.startswith("1/")  # then the first question

    async with bot.runtime.sessions() as session:
        stored = await get_user(session, 4242)
    assert stored is not None
    assert (stored.first_name, stored.username, stored.chat_id) == ("Alex", "alex_sits", 4242)


async def test_second_start_is_a_welcome_back(bot: RunningBot) -> None:
    sam = bot.telegram.user(7, "Sam")
    await sam.send("/start")
    await sam.replies(2)
    await sam.send("/start")
    back, question = await sam.replies(2)
    assert back.text == "Welcome back, Sam! Let's pick up where we left off."
    assert question.text.startswith("1/13  What brings you here?")


async def test_help_lists_every_command(bot: RunningBot) -> None:
    kim = bot.telegram.user(8, "Kim")
    await kim.send("/help")
    text = (await kim.next_reply()).text
    for name, description in COMMANDS:
        assert f"/{name} - {description}" in text


async def test_command_menu_is_registered_at_start(bot: RunningBot) -> None:
    menu = [(c["command"], c["description"]) for c in bot.telegram.commands]
    assert menu == list(COMMANDS)


async def test_unknown_command_gets_pointed_to_what_works(bot: RunningBot) -> None:
    lee = bot.telegram.user(9, "Lee")
    await lee.send("/dance@glutebot_bot now")
    text = (await lee.next_reply()).text
    assert text.startswith("I don't know /dance.")
    assert "/help" in text


async def test_any_other_message_gets_a_helpful_reply(bot: RunningBot) -> None:
    ana = bot.telegram.user(10, "Ana")
    for text in ("hello?", "🍑🍑", "x" * 4096):
        await ana.send(text)
        assert "Here's what I understand" in (await ana.next_reply()).text
    await ana.share_location(52.52, 13.40)
    assert "Here's what I understand" in (await ana.next_reply()).text


async def test_many_users_at_once_each_get_their_own_greeting(bot: RunningBot) -> None:
    people = [bot.telegram.user(100 + n, f"Person{n}") for n in range(25)]
    await asyncio.gather(*(person.send("/start") for person in people))
    replies = await asyncio.gather(*(person.replies(2) for person in people))
    for n, (greeting, question) in enumerate(replies):
        assert greeting.text.startswith(f"Hi Person{n}!")
        assert question.text.startswith("1/13")


async def test_a_restart_on_the_same_database_keeps_the_user(
    database_url: str, tmp_path: Path
) -> None:
    telegram = LocalTelegram()  # Telegram outlives the bot process, update ids keep counting
    async with running_bot(database_url, tmp_path, telegram=telegram):
        robin = telegram.user(55, "Robin")
        await robin.send("/start")
        assert (await robin.next_reply()).text.startswith("Hi Robin!")
        await robin.next_reply()
    async with running_bot(database_url, tmp_path, telegram=telegram):
        await robin.send("/start")
        assert (await robin.next_reply()).text.startswith("Welcome back, Robin!")


async def test_a_failed_reply_becomes_an_apology_not_silence(bot: RunningBot) -> None:
    jo = bot.telegram.user(11, "Jo")
    bot.telegram.inject_fault("sendMessage", "server_error", chat_id=11, times=1)
    await jo.send("/help")
    reply = await jo.next_reply()
    assert reply.text.startswith("Sorry, something went wrong on my side.")


async def test_a_redelivered_update_is_handled_once(database_url: str, tmp_path: Path) -> None:
    telegram = LocalTelegram()
    async with running_bot(database_url, tmp_path, telegram=telegram):
        mia = telegram.user(66, "Mia")
        first_help = await mia.send("/help")
        await mia.next_reply()
    # Telegram hands the same update to the restarted bot, as after a crash before confirming.
    telegram.redeliver(first_help)
    async with running_bot(database_url, tmp_path, telegram=telegram):
        await mia.send("/start")
        # Updates are handled in order: a second /help answer would arrive before this one.
        assert (await mia.next_reply()).text.startswith("Hi Mia!")
        await mia.next_reply()
        assert len(mia.messages) == 3  # one /help answer, then greeting and first question
