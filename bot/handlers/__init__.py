"""Wiring: which handler answers which update, in one place."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, TypeHandler, filters

from bot.handlers import basics
from bot.handlers.updates import skip_redelivered

# Group -1 runs before everything else; the main handlers live in group 0.
DEDUPE_GROUP = -1


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Attach every handler and the error handler to the application."""
    application.add_handler(TypeHandler(Update, skip_redelivered), group=DEDUPE_GROUP)
    application.add_handler(CommandHandler("start", basics.start))
    application.add_handler(CommandHandler("help", basics.help_command))
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, basics.unknown_command)
    )
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, basics.not_understood))
    application.add_error_handler(basics.on_error)
