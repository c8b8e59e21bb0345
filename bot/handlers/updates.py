"""Handling each Telegram update once, however often it is delivered."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.db.repo import mark_update_processed
from bot.metrics import METRICS
from bot.runtime import runtime_of


async def skip_redelivered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop here when this update id was handled before (a retried webhook, a replay)."""
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        first_time = await mark_update_processed(session, update.update_id, runtime.clock.now())
    if not first_time:
        raise ApplicationHandlerStop
    METRICS.update_processed()
