"""A real PTB Application, its handlers and its Updater, running against the local Telegram."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import Forbidden
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.clock import FakeClock
from bot.localtelegram import Event, LocalTelegram

from .conftest import RunApp, png

Context = ContextTypes.DEFAULT_TYPE


async def echo(update: Update, context: Context) -> None:
    """Say back what the user wrote."""
    assert update.message is not None
    await update.message.reply_text(f"You said: {update.message.text}")


async def menu(update: Update, context: Context) -> None:
    """Offer two choices as inline buttons."""
    assert update.message is not None
    keyboard = [
        [InlineKeyboardButton("Easy", callback_data="level:1")],
        [InlineKeyboardButton("Hard", callback_data="level:2")],
    ]
    await update.message.reply_text(
        "<b>Pick</b> a level",
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(keyboard),
    )


async def chosen(update: Update, context: Context) -> None:
    """Confirm a choice: a toast, and the menu turns into the answer."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer(f"Saved {query.data}")
    await query.edit_message_text(f"Level set to {query.data.split(':')[1]}")


async def chart(update: Update, context: Context) -> None:
    """Send a photo and a document."""
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    await context.bot.send_photo(chat_id, png(640, 480), caption="Your week")
    await context.bot.send_document(chat_id, InputFile(b"day,reps\nmon,12\n", filename="week.csv"))


async def test_a_user_gets_the_echo_with_telegram_ids_and_dates(
    tg: LocalTelegram, run_app: RunApp, clock: FakeClock
) -> None:
    alex = tg.user(42, "Alex", username="alex")
    async with run_app(MessageHandler(filters.TEXT, echo)):
        update = await alex.send("hello there")
        reply = await alex.next_reply()

    assert reply.text == "You said: hello there"
    assert update["message"]["message_id"] == 1
    assert reply.message_id == 2  # user and bot messages share the chat's counter
    wire = reply.to_api()
    assert wire["from"] == {
        "id": 123,
        "is_bot": True,
        "first_name": "Glutebot",
        "username": "glutebot_bot",
    }
    assert wire["chat"] == {"id": 42, "first_name": "Alex", "username": "alex", "type": "private"}
    assert wire["date"] == int(clock.now().timestamp())
    assert alex.messages == [reply]


async def test_button_press_edits_the_message_and_shows_a_toast(
    tg: LocalTelegram, run_app: RunApp
) -> None:
    alex = tg.user(42)
    async with run_app(CommandHandler("menu", menu), CallbackQueryHandler(chosen)):
        await alex.send("/menu")
        offer = await alex.next_reply()
        assert offer.text == "Pick a level"
        assert offer.entities == [{"type": "bold", "offset": 0, "length": 4}]
        assert offer.buttons == [["Easy"], ["Hard"]]
        assert offer.button_data == [["level:1"], ["level:2"]]

        await alex.press("Hard")
        await alex.wait_for(lambda: bool(offer.edits) and bool(alex.toasts), 2, what="the edit")

    assert offer.text == "Level set to 2"
    assert offer.buttons == []  # an edit without reply_markup drops the keyboard, as in Telegram
    assert offer.edits[0].text == "Pick a level"
    assert alex.toasts == ["Saved level:2"]
    assert len(alex.messages) == 1


async def test_photo_and_document_arrive_with_their_bytes(
    tg: LocalTelegram, run_app: RunApp
) -> None:
    alex = tg.user(42)
    async with run_app(CommandHandler("chart", chart)) as app:
        await alex.send("/chart")
        photo, document = await alex.replies(2)
        largest = photo.to_api()["photo"][-1]
        # The bot can send the same photo again by its file_id, as with Telegram.
        again = await app.bot.send_photo(42, largest["file_id"])

    assert photo.photo == png(640, 480)
    assert photo.caption == "Your week"
    assert (largest["width"], largest["height"]) == (640, 480)
    assert [size["width"] for size in photo.to_api()["photo"]] == [90, 320, 640]
    assert document.document == b"day,reps\nmon,12\n"
    assert document.file_name == "week.csv"
    assert document.to_api()["document"]["file_size"] == len(b"day,reps\nmon,12\n")
    assert again.photo[-1].file_id == largest["file_id"]
    assert alex.last.photo == png(640, 480)


async def test_reply_keyboard_shows_until_removed(tg: LocalTelegram, run_app: RunApp) -> None:
    async def ask(update: Update, context: Context) -> None:
        assert update.message is not None
        await update.message.reply_text(
            "How did it go?", reply_markup=ReplyKeyboardMarkup([["Easy", "Hard"]])
        )

    async def thank(update: Update, context: Context) -> None:
        assert update.message is not None
        await update.message.reply_text("Thanks!", reply_markup=ReplyKeyboardRemove())

    alex = tg.user(42)
    async with run_app(
        CommandHandler("report", ask), MessageHandler(filters.Regex("^Hard$"), thank)
    ):
        await alex.send("/report")
        await alex.next_reply()
        assert alex.keyboard == [["Easy", "Hard"]]
        await alex.send("Hard")
        await alex.next_reply()
    assert alex.keyboard is None


async def test_many_users_at_once_each_get_their_own_reply(
    tg: LocalTelegram, run_app: RunApp
) -> None:
    users = [tg.user(1000 + n, f"User{n}") for n in range(300)]
    async with run_app(MessageHandler(filters.TEXT, echo)):
        for user in users:
            await user.send(f"I am {user.id}")
        replies = await asyncio.gather(*(user.next_reply() for user in users))

    assert [reply.text for reply in replies] == [f"You said: I am {user.id}" for user in users]
    assert tg.stats.messages_sent == 300
    assert tg.pending_update_count == 0  # every update was confirmed, including at shutdown


async def test_stopping_during_a_long_poll_is_quick(tg: LocalTelegram, run_app: RunApp) -> None:
    async with run_app(poll_timeout=60):
        await asyncio.sleep(0.1)  # the Updater is now inside a 60 s getUpdates
        started = time.monotonic()
    assert time.monotonic() - started < 1.0


async def test_blocking_tells_the_bot_and_sends_fail_with_forbidden(
    tg: LocalTelegram, run_app: RunApp
) -> None:
    statuses: list[str] = []
    send_errors: list[Exception] = []
    handled = asyncio.Event()

    async def member_changed(update: Update, context: Context) -> None:
        assert update.my_chat_member is not None
        statuses.append(update.my_chat_member.new_chat_member.status)
        try:
            await context.bot.send_message(update.my_chat_member.chat.id, "Bye?")
        except Forbidden as error:
            send_errors.append(error)
        handled.set()

    alex = tg.user(42)
    async with run_app(ChatMemberHandler(member_changed, ChatMemberHandler.MY_CHAT_MEMBER)):
        await alex.send("hi")
        alex.block()
        await asyncio.wait_for(handled.wait(), 2)

    assert statuses == [ChatMemberStatus.BANNED]
    assert str(send_errors[0]) == "Forbidden: bot was blocked by the user"
    assert alex.messages == []


async def test_listeners_see_messages_edits_deletes_and_toasts(
    tg: LocalTelegram, run_app: RunApp
) -> None:
    events: list[Event] = []
    tg.add_listener(events.append)

    async def tidy(update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer()
        await context.bot.delete_message(query.message.chat.id, query.message.message_id)

    alex = tg.user(42)
    async with run_app(CommandHandler("menu", menu), CallbackQueryHandler(tidy)):
        await alex.send("/menu")
        offer = await alex.next_reply()
        await alex.press(callback_data="level:1")
        await alex.wait_for(lambda: offer.deleted, 2, what="the delete")

    kinds = [(event.kind, event.chat_id) for event in events]
    assert kinds == [("message", 42), ("toast", 42), ("delete", 42)]
    assert events[1].text is None  # a silent answer shows no toast
    assert alex.toasts == []
    assert events[2].message is offer


async def test_clock_drives_message_dates(
    tg: LocalTelegram, run_app: RunApp, clock: FakeClock
) -> None:
    clock.set(datetime(2030, 1, 1, 9, 0, tzinfo=UTC))
    alex = tg.user(42)
    async with run_app(MessageHandler(filters.TEXT, echo)):
        await alex.send("hi")
        reply = await alex.next_reply()
    assert reply.date == int(datetime(2030, 1, 1, 9, 0, tzinfo=UTC).timestamp())
