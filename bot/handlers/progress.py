"""/progress (a chart), /history (text) and /export (CSV, JSON and a physio report PDF)."""

from __future__ import annotations

import asyncio

from telegram import InputFile, Update
from telegram.ext import ContextTypes

from bot.db.repo import get_user
from bot.progress.export import export_csv, export_json
from bot.progress.history import history_text
from bot.progress.streak import streak_line
from bot.runtime import runtime_of
from bot.services.progress import (
    everything_about,
    physio_data,
    progress_data,
    report_lines,
    streak_of,
)

NOTHING_YET = "There's nothing to show yet. Send /start to set up your programme."


async def progress(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The last four weeks as a chart, with the streak in the caption."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return
    runtime = runtime_of(context)
    async with runtime.sessions() as session:
        user = await get_user(session, person.id)
        data = None if user is None else await progress_data(session, user, runtime.clock.now())
    if data is None:
        await message.reply_text(NOTHING_YET)
        return
    from bot.progress.chart import progress_chart  # matplotlib: loaded on first use

    png = await asyncio.to_thread(progress_chart, data)
    caption = f"Your last four weeks. {streak_line(streak_of(data))}"
    await message.reply_photo(InputFile(png, filename="progress.png"), caption=caption)


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Recent days, level changes and reports as text."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return
    runtime = runtime_of(context)
    async with runtime.sessions() as session:
        user = await get_user(session, person.id)
        if user is None:
            text = NOTHING_YET
        else:
            data = await progress_data(session, user, runtime.clock.now())
            text = history_text(data, await report_lines(session, user.id))
    await message.reply_text(text)


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Everything stored about the caller as CSV and JSON, and a report for a clinician."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return
    runtime = runtime_of(context)
    now = runtime.clock.now()
    async with runtime.sessions() as session:
        user = await get_user(session, person.id)
        if user is not None:
            everything = await everything_about(session, user, now)
            physio = await physio_data(session, user, now)
    if user is None:
        await message.reply_text("I don't have anything stored about you.")
        return
    stamp = f"{now:%Y-%m-%d}"
    await message.reply_text("Here's everything I have about you, and a report for a clinician.")
    await message.reply_document(
        InputFile(export_csv(everything), filename=f"glutebot-{stamp}.csv")
    )
    await message.reply_document(
        InputFile(export_json(everything), filename=f"glutebot-{stamp}.json")
    )
    from bot.progress.physio import physio_report  # fpdf and matplotlib: on first use

    pdf = await asyncio.to_thread(physio_report, physio)
    await message.reply_document(
        InputFile(pdf, filename=f"glutebot-physio-report-{stamp}.pdf"),
        caption="A summary to show a physiotherapist: your screen, levels, volume and pain.",
    )
