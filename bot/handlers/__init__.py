"""Wiring: which handler answers which update, in one place."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.handlers import basics, onboarding
from bot.handlers.updates import skip_redelivered

# Group -1 runs before everything else; the main handlers live in group 0.
DEDUPE_GROUP = -1


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Attach every handler and the error handler to the application."""
    application.add_handler(TypeHandler(Update, skip_redelivered), group=DEDUPE_GROUP)
    application.add_handler(CommandHandler("start", onboarding.start))
    application.add_handler(CommandHandler("rescreen", onboarding.rescreen))
    application.add_handler(CommandHandler("cancel", onboarding.cancel))
    application.add_handler(CommandHandler("help", basics.help_command))
    application.add_handler(CallbackQueryHandler(onboarding.on_press, pattern=r"^o:"))
    new_message = filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(new_message & filters.COMMAND, basics.unknown_command))
    application.add_handler(MessageHandler(new_message & filters.TEXT, basics.on_text))
    application.add_handler(MessageHandler(new_message & filters.LOCATION, basics.on_location))
    application.add_handler(MessageHandler(new_message, basics.not_understood))
    application.add_error_handler(basics.on_error)
