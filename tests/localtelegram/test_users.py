"""The user side: what users send, what they see, and clear failures when a test expects wrong."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.localtelegram import LocalTelegram


def test_the_same_user_id_gives_the_same_handle(tg: LocalTelegram) -> None:
    assert tg.user(42, "Alex") is tg.user(42)
    with pytest.raises(ValueError, match="positive"):
        tg.user(0)


async def test_commands_carry_a_bot_command_entity(tg: LocalTelegram) -> None:
    update = await tg.user(42).send("/start@glutebot_bot deep-link")
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 19}]
    plain = await tg.user(42).send("no command")
    assert "entities" not in plain["message"]
    assert plain["update_id"] == update["update_id"] + 1


async def test_locations_are_sent_as_telegram_locations(tg: LocalTelegram) -> None:
    update = await tg.user(42).share_location(52.52, 13.405)
    assert update["message"]["location"] == {"latitude": 52.52, "longitude": 13.405}


async def test_pressing_a_button_that_is_not_shown_lists_what_is(
    tg: LocalTelegram, bot: Bot
) -> None:
    alex = tg.user(42)
    with pytest.raises(LookupError, match="no message in the chat shows inline buttons"):
        await alex.press("Yes")
    alex.open_chat()
    buttons = [
        InlineKeyboardButton("Yes", callback_data="yes"),
        InlineKeyboardButton("Docs", url="https://example.org"),
    ]
    await bot.send_message(42, "Ready?", reply_markup=InlineKeyboardMarkup([buttons]))
    with pytest.raises(LookupError, match=r"no button 'Maybe'.*message 1: \[Yes\] \[Docs\]"):
        await alex.press("Maybe")
    with pytest.raises(LookupError, match="'Docs' does not send a press"):
        await alex.press("Docs")


async def test_press_prefers_the_newest_message_showing_the_button(
    tg: LocalTelegram, bot: Bot
) -> None:
    alex = tg.user(42)
    alex.open_chat()
    for day in ("mon", "tue"):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data=day)]])
        await bot.send_message(42, f"Squats on {day}", reply_markup=markup)

    newest = await alex.press("Done")
    older = await alex.press("Done", message=alex.messages[0])
    assert newest["callback_query"]["data"] == "tue"
    assert older["callback_query"]["data"] == "mon"
    assert older["callback_query"]["message"]["text"] == "Squats on mon"
    assert older["callback_query"]["from"]["id"] == 42
    assert newest["callback_query"]["id"] != older["callback_query"]["id"]


async def test_next_reply_times_out_with_the_transcript(tg: LocalTelegram, bot: Bot) -> None:
    alex = tg.user(42)
    await alex.send("/start")
    await bot.send_message(42, "Welcome!")
    assert (await alex.next_reply()).text == "Welcome!"
    with pytest.raises(
        TimeoutError, match=r"(?s)waited 0.1s for a reply.*you: /start.*bot: Welcome!"
    ):
        await alex.next_reply(timeout=0.1)


async def test_replies_wait_for_messages_sent_later(tg: LocalTelegram, bot: Bot) -> None:
    alex = tg.user(42)
    alex.open_chat()

    async def send_later() -> None:
        for text in ("one", "two"):
            await asyncio.sleep(0.02)
            await bot.send_message(42, text)

    sender = asyncio.create_task(send_later())
    replies = await alex.replies(2, timeout=2)
    await sender
    assert [reply.text for reply in replies] == ["one", "two"]
    assert alex.last.text == "two"


async def test_one_time_keyboards_hide_after_the_user_answers(tg: LocalTelegram, bot: Bot) -> None:
    alex = tg.user(42)
    alex.open_chat()
    markup = ReplyKeyboardMarkup([["1", "2"], ["3"]], one_time_keyboard=True)
    await bot.send_message(42, "How many sets?", reply_markup=markup)
    assert alex.keyboard == [["1", "2"], ["3"]]
    await alex.send("2")
    assert alex.keyboard is None


async def test_a_user_who_blocked_the_bot_cannot_write(tg: LocalTelegram, bot: Bot) -> None:
    alex = tg.user(42)
    alex.block()
    with pytest.raises(RuntimeError, match="blocked the bot"):
        await alex.send("hi")
    alex.unblock()
    await alex.send("hi")
    updates = await bot.get_updates()
    statuses = [u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member]
    assert statuses == ["kicked", "member"]
    assert updates[-1].message is not None and updates[-1].message.text == "hi"
