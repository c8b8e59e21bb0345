"""/start, /help and friendly answers to everything the bot does not understand yet."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.commands import help_lines
from bot.runtime import runtime_of
from bot.services.users import record_visit

log = logging.getLogger(__name__)

WELCOME = (
    "Hi {name}! I'm Glutebot, your pocket coach for glutes that long sitting has "
    "switched off.\n\n"
    "The idea: small, frequent nudges beat a few hard workouts. Here's one to try "
    "right away, next time you get up from your chair:\n"
    "1. Scoot to the front edge of the seat.\n"
    "2. Set your heels under your knees, or a little behind them.\n"
    "3. Squeeze your bottom first, then press through your heels to stand.\n"
    "It should feel harder than usual. That means the glutes are doing the work.\n\n"
    "Send /help to see what I can do."
)
WELCOME_BACK = (
    "Welcome back, {name}! Good to see you again.\n"
    "Remember the chair trick: edge of the seat, heels under the knees, squeeze, then "
    "stand. Send /help to see what I can do."
)
HELP = "Here's what I understand:\n{commands}\n\nTap the menu button to see these any time."
UNKNOWN_COMMAND = "I don't know {command}. Here's what I understand:\n{commands}"
NOT_UNDERSTOOD = (
    "Thanks for writing! I can't make sense of that message yet. Here's what I "
    "understand:\n{commands}"
)
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user, new or returning, and remember them."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return
    created = await record_visit(runtime_of(context), person, message.chat_id)
    template = WELCOME if created else WELCOME_BACK
    await message.reply_text(template.format(name=person.first_name))


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


async def not_understood(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer any other message with a pointer to what works."""
    if update.effective_message:
        await update.effective_message.reply_text(NOT_UNDERSTOOD.format(commands=help_lines()))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a handler failure and tell the user something went wrong, without details."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("Handling update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, SORRY)
        except Exception:  # the apology is best effort: the failure is already logged
            log.warning("Could not tell chat about the failure in update %s", update_id)
