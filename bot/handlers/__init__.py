"""Wiring: which handler answers which update, in one place."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.handlers import admin, basics, nudges, onboarding, progress, reports, settings
from bot.handlers.updates import first_look

# Groups run in order: a first look at each update (drop redelivered ones, welcome back
# users who had blocked the bot), then the one handler in group 0 that answers.
FIRST_LOOK_GROUP = -1


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Attach every handler and the error handler to the application."""
    application.add_handler(TypeHandler(Update, first_look), group=FIRST_LOOK_GROUP)
    application.add_handler(CommandHandler("start", onboarding.start))
    application.add_handler(CommandHandler("rescreen", onboarding.rescreen))
    application.add_handler(CommandHandler("cancel", onboarding.cancel))
    application.add_handler(CommandHandler("pause", nudges.pause))
    application.add_handler(CommandHandler("resume", nudges.resume))
    application.add_handler(CommandHandler("settings", settings.settings))
    application.add_handler(CommandHandler("log", reports.log))
    application.add_handler(CommandHandler("why", reports.why))
    application.add_handler(CommandHandler("stop", reports.stop))
    application.add_handler(CommandHandler("delete", reports.delete))
    application.add_handler(CommandHandler("progress", progress.progress))
    application.add_handler(CommandHandler("history", progress.history))
    application.add_handler(CommandHandler("export", progress.export))
    application.add_handler(CommandHandler("help", basics.help_command))
    # Operator commands (ADMIN_IDS), not in the menu. New messages only, as for unknown
    # commands; Send runs beside other updates, since queueing 100k rows takes seconds.
    new_message = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("stats", admin.stats, filters=new_message))
    application.add_handler(CommandHandler("broadcast", admin.broadcast, filters=new_message))
    application.add_handler(CallbackQueryHandler(admin.on_press, pattern=r"^bc:", block=False))
    application.add_handler(CallbackQueryHandler(onboarding.on_press, pattern=r"^o:"))
    application.add_handler(CallbackQueryHandler(nudges.on_press, pattern=r"^n:"))
    application.add_handler(CallbackQueryHandler(settings.on_press, pattern=r"^st:"))
    application.add_handler(CallbackQueryHandler(reports.on_press, pattern=r"^(rp|rf):"))
    application.add_handler(CallbackQueryHandler(reports.on_delete_press, pattern=r"^del:"))
    application.add_handler(CallbackQueryHandler(reports.on_clarified, pattern=r"^cl:"))
    application.add_handler(
        ChatMemberHandler(nudges.membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(MessageHandler(new_message & filters.COMMAND, basics.unknown_command))
    application.add_handler(MessageHandler(new_message & filters.TEXT, basics.on_text))
    application.add_handler(MessageHandler(new_message & filters.LOCATION, basics.on_location))
    application.add_handler(MessageHandler(new_message, basics.not_understood))
    application.add_error_handler(basics.on_error)
