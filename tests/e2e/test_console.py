"""The console chat: what a person sees and types, against the real bot and local Telegram."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from pathlib import Path

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.console import ConsoleChat
from bot.db.models import ScreenAnswer
from bot.localtelegram import LocalTelegram
from tests.e2e.harness import running_bot


def tiny_png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def demo_keyboard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = [
        [
            InlineKeyboardButton("Done", callback_data="done"),
            InlineKeyboardButton("Skip", callback_data="skip"),
        ]
    ]
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "Squeeze, 5 reps?", reply_markup=InlineKeyboardMarkup(keyboard)
    )


async def demo_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Noted")
    await query.edit_message_text(f"You pressed {query.data}")


async def demo_files(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_photo(tiny_png(), caption="Your week")
    await update.effective_message.reply_document(b"day,reps\nmon,12\n", filename="reps.csv")


async def shows(out: io.StringIO, text: str, times: int = 1, timeout: float = 5.0) -> str:
    """Wait until the console has printed `text` (`times` times); return everything printed."""
    async with asyncio.timeout(timeout):
        while out.getvalue().count(text) < times:
            await asyncio.sleep(0.01)
    return out.getvalue()


async def test_console_numbers_buttons_presses_them_and_saves_files(
    sqlite_url: str, tmp_path: Path
) -> None:
    telegram = LocalTelegram()
    out = io.StringIO()
    async with running_bot(sqlite_url, tmp_path, telegram=telegram) as bot:
        bot.application.add_handler(CommandHandler("demo", demo_keyboard), group=-3)
        bot.application.add_handler(CommandHandler("files", demo_files), group=-3)
        bot.application.add_handler(CallbackQueryHandler(demo_pressed))
        chat = ConsoleChat(telegram, 1001, "Alex", tmp_path / "files", out)

        assert await chat.handle_line("/help")
        await shows(out, "Glutebot: Here's what I understand:")

        await chat.handle_line("/demo")
        await shows(out, "   [1] Done  [2] Skip")
        await chat.handle_line("2")
        await shows(out, "Glutebot (edited): You pressed skip")
        await shows(out, "(Glutebot shows: Noted)")

        # The keyboard is gone after the edit, so a number is an ordinary message now.
        await chat.handle_line("2")
        await shows(out, "Glutebot: Thanks for writing!")

        await chat.handle_line("/files")
        printed = await shows(out, "reps.csv]")
        photo_line = next(line for line in printed.splitlines() if "[photo saved to " in line)
        photo_path = Path(photo_line.split("[photo saved to ")[1].split("]")[0])
        assert photo_path.read_bytes() == tiny_png()
        assert photo_line.endswith("Your week")
        assert next((tmp_path / "files").glob("*reps.csv")).read_text() == "day,reps\nmon,12\n"

        await chat.handle_line("!location 52.52, 13.40")
        await shows(out, "Glutebot: Thanks for writing!", times=2)
        await chat.handle_line("!location somewhere nice")
        await shows(out, "Usage: !location 52.52 13.40")
        assert not await chat.handle_line("!quit")


async def test_a_quoted_number_is_sent_as_text_while_buttons_are_shown(
    sqlite_url: str, tmp_path: Path
) -> None:
    telegram = LocalTelegram()
    out = io.StringIO()
    async with running_bot(sqlite_url, tmp_path, telegram=telegram) as bot:
        bot.application.add_handler(CommandHandler("demo", demo_keyboard), group=-3)
        chat = ConsoleChat(telegram, 1002, "Bo", tmp_path / "files", out)
        await chat.handle_line("/demo")
        await shows(out, "[1] Done")
        await chat.handle_line("'1")
        await shows(out, "Glutebot: Thanks for writing!")
        assert telegram.user(1002).messages[0].buttons == [["Done", "Skip"]]


async def test_buttons_labelled_with_numbers_are_pressed_by_their_label(
    sqlite_url: str, tmp_path: Path
) -> None:
    telegram = LocalTelegram()
    out = io.StringIO()
    async with running_bot(sqlite_url, tmp_path, telegram=telegram) as bot:
        chat = ConsoleChat(telegram, 1003, "Cy", tmp_path / "files", out)
        for line in ["/start", "1", "4", "2", "4"]:  # up to the pain question
            printed = len(out.getvalue())
            await chat.handle_line(line)
            async with asyncio.timeout(10):  # the bot's answer, before the next line
                while len(out.getvalue()) == printed:
                    await asyncio.sleep(0.01)
        await shows(out, "[1] 0  [2] 1  [3] 2  [4] 3")
        await chat.handle_line("3")  # means pain 3, not the third button (pain 2)
        await shows(out, "Where do you feel it?")
        async with bot.runtime.sessions() as session:
            pain = await session.scalar(
                select(ScreenAnswer.answer).where(ScreenAnswer.step == "pain_now")
            )
        assert pain == 3
