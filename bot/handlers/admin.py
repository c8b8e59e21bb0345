"""Operator commands for ADMIN_IDS only: /stats and /broadcast.

To anyone else they do not exist: the commands get the ordinary unknown-command answer
and a broadcast button press is answered quietly, changing nothing.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers import basics
from bot.handlers.replies import answer_press, reply
from bot.runtime import runtime_of
from bot.services import broadcast as broadcasting
from bot.services.stats import collect_stats, stats_text


def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the update comes from one of the operators in ADMIN_IDS."""
    person = update.effective_user
    return person is not None and person.id in runtime_of(context).settings.admin_ids


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The operator summary: users, nudges, replies, pain."""
    message = update.effective_message
    if message is None:
        return
    if not is_admin(update, context):
        await basics.unknown_command(update, context)
        return
    runtime = runtime_of(context)
    async with runtime.sessions() as session:
        numbers = await collect_stats(session, runtime.clock.now())
    await message.reply_text(stats_text(numbers))


async def broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/broadcast <text>`: a preview with Send / Cancel; alone: how the last one is doing."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return
    if not is_admin(update, context):
        await basics.unknown_command(update, context)
        return
    runtime = runtime_of(context)
    text = broadcasting.command_text(message.text or "")
    async with runtime.sessions.begin() as session:
        screens = await broadcasting.write(
            session, person.id, text, runtime.clock.now(), runtime.settings.nudges_per_second
        )
    for screenful in screens:
        await reply(message, screenful)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send or Cancel under a broadcast preview; from anyone but an admin, nothing happens."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    if not is_admin(update, context):
        await query.answer()
        return
    runtime = runtime_of(context)
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        outcome, confirmed = await broadcasting.press(session, query.data, now)
    await answer_press(query, outcome)
    if confirmed is not None:  # queueing 100k rows takes seconds: the tap is answered first
        queued = await broadcasting.queue_all(
            runtime.sessions, confirmed, now, runtime.settings.nudges_per_second
        )
        await query.edit_message_text(queued.text)
