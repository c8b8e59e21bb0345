"""Every update is handled once however often Telegram delivers it, and a message from
someone who had blocked the bot brings their nudges back.

`OnceApplication.process_update` handles each update inside `bot.db.handled.handling`, so
the update id is committed with what handling it changed (see bot/db/handled.py);
`first_look` stops an update whose id is already recorded before any handler answers it.
"""

from __future__ import annotations

import logging

from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, filters

from bot.db.engine import read_only
from bot.db.handled import current_handling, handling, record_update
from bot.db.models import ProcessedUpdate, User, UserState
from bot.handlers.nudges import returning_user
from bot.metrics import METRICS
from bot.runtime import get_runtime, runtime_of

log = logging.getLogger(__name__)


class OnceApplication(Application):  # type: ignore[type-arg]
    """PTB's Application, handling each update as one unit that counts once."""

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):  # not from Telegram: nothing to count
            await super().process_update(update)
            return
        runtime = get_runtime(self)
        with handling(update.update_id, runtime.clock.now()) as current:
            await super().process_update(update)
            if current.recorded or current.failed:
                return
            # Nothing committed (a help text, a read-only page): record the id on its own,
            # so a redelivered update is not answered twice.
            current.recorded = True  # this commit writes it, not the sessions' hook
            try:
                async with runtime.sessions.begin() as session:
                    await session.run_sync(record_update, current.update_id, current.at)
            except SQLAlchemyError as error:  # answered already; a redelivery would repeat it
                log.warning("Could not record update %s as handled: %s", update.update_id, error)


async def first_look(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop here when this update id was handled before (a retried webhook, a replay).

    The same read notes whether a message comes from a user who had blocked the bot; only
    then does `returning_user` run, as a handler of its own would.
    """
    runtime = runtime_of(context)
    person = update.effective_user if filters.ALL.check_update(update) else None
    seen = exists().where(ProcessedUpdate.update_id == update.update_id)
    state = select(User.state).where(User.id == (person.id if person else None))
    async with read_only(runtime.engine) as connection:
        handled, user_state = (
            await connection.execute(select(seen, state.scalar_subquery()))
        ).one()
    if handled:
        current = current_handling()
        if current is not None:
            current.recorded = current.repeated = True
        raise ApplicationHandlerStop
    METRICS.update_processed()
    if user_state is UserState.BLOCKED:
        await returning_user(update, context)

