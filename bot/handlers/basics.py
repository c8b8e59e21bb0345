"""/help, typed messages and locations, and friendly answers to what the bot does not know."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from bot.commands import help_lines
from bot.db.handled import AlreadyHandled, current_handling
from bot.db.repo import get_user
from bot.handlers import onboarding, reports, settings
from bot.runtime import runtime_of

log = logging.getLogger(__name__)

HELP = "Here's what I understand:\n{commands}\n\nTap the menu button to see these any time."
UNKNOWN_COMMAND = "I don't know {command}. Here's what I understand:\n{commands}"
NOT_UNDERSTOOD = (
    "Thanks for writing! I can't make sense of that message yet. Here's what I "
    "understand:\n{commands}"
)
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands."""
    if update.effective_message:
        await update.effective_message.reply_text(HELP.format(commands=help_lines()))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a command we do not have with the ones we do."""
    message = update.effective_message
    if message is None:
        return
    command = (message.text or "/").split()[0].split("@")[0]
    await message.reply_text(UNKNOWN_COMMAND.format(command=command, commands=help_lines()))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed message: a setting being changed, an answer to the screen, a report, or a
    pointer. One transaction finds which and acts; the answer goes once it has committed."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None or message.text is None:
        await not_understood(update, context)
        return
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        known = await get_user(session, person.id)
        answer = await settings.typed_answer(session, known, runtime, message)
        if answer is None:
            user, answer = await onboarding.typed_answer(session, known, runtime, message, person)
            if answer is None:
                answer = await reports.typed_report(session, user, runtime, message)
    if answer is None:
        await not_understood(update, context)
    else:
        await answer()


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location: the time zone answer when asked for, else a friendly pointer."""
    if await settings.shared_location(update, context):
        return
    if not await onboarding.shared_location(update, context):
        await not_understood(update, context)


async def not_understood(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer any other message with a pointer to what works."""
    if update.effective_message:
        await update.effective_message.reply_text(NOT_UNDERSTOOD.format(commands=help_lines()))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a handler failure and tell the user something went wrong, without details."""
    update_id = update.update_id if isinstance(update, Update) else None
    current = current_handling()
    if isinstance(context.error, AlreadyHandled):  # another process answered it first
        log.info("Update %s was handled elsewhere meanwhile; left to that answer", update_id)
        return
    if isinstance(context.error, Forbidden):  # blocked the bot before the answer went out
        log.info("Could not answer update %s: %s", update_id, context.error.message)
        return  # handled as far as it can be: counted, like any other
    if current is not None:  # a failure: left unrecorded, so a redelivery tries again
        current.failed = True
    log.error("Handling update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, SORRY)
        except Exception:  # the apology is best effort: the failure is already logged
            log.warning("Could not tell chat about the failure in update %s", update_id)
