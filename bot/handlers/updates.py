"""The first look at every update: handled once however often it is delivered, and a
message from someone who had blocked the bot brings their nudges back."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes, filters

from bot.db.models import UserState
from bot.db.repo import mark_update_processed, user_state
from bot.handlers.nudges import returning_user
from bot.metrics import METRICS
from bot.runtime import runtime_of


async def first_look(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop here when this update id was handled before (a retried webhook, a replay).

    The same transaction notes whether a message comes from a user who had blocked the bot
    (one read instead of a transaction of its own for every message); only then does
    `returning_user` run, after the update id is recorded, as a handler of its own would.
    """
    runtime = runtime_of(context)
    person = update.effective_user if filters.ALL.check_update(update) else None
    async with runtime.sessions.begin() as session:
        first_time = await mark_update_processed(session, update.update_id, runtime.clock.now())
        blocked = (
            first_time
            and person is not None
            and await user_state(session, person.id) is UserState.BLOCKED
        )
    if not first_time:
        raise ApplicationHandlerStop
    METRICS.update_processed()
    if blocked:
        await returning_user(update, context)
