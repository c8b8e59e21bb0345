"""Every update is handled once however often Telegram delivers it, none is lost to a
crash, and a message from someone who had blocked the bot brings their nudges back.

`OnceApplication.process_update` handles each update inside `bot.db.handled.handling`, so
the update id is committed with what handling it changed (see bot/db/handled.py);
`first_look` stops an update whose id is already recorded before any handler answers it;
`ConfirmWhenHandled` makes polling confirm to Telegram only updates already handled.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, filters
from telegram.request import BaseRequest, RequestData

from bot.db.engine import read_only
from bot.db.handled import current_handling, handling
from bot.db.models import ProcessedUpdate, User, UserState
from bot.db.repo import mark_update_processed
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
                    await mark_update_processed(session, current.update_id, current.at)
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


class ConfirmWhenHandled(BaseRequest):
    """Polling's requests, each getUpdates sent only once every update fetched is handled.

    Asking getUpdates for the next offset is how a bot tells Telegram it has the updates
    before it, and Telegram never sends those again. PTB asks at once, while what it fetched
    still waits in the update queue, so a kill -9 would lose those updates (a tap on a nudge
    just sent, say). Waiting for the queue to empty first confirms only handled updates;
    one cut short by a crash comes again and counts then (`OnceApplication`). Other calls
    through this request (tests share one for everything) go straight through.
    """

    def __init__(self, inner: BaseRequest, update_queue: asyncio.Queue[object]) -> None:
        self._inner = inner
        self._queue = update_queue

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if url.rpartition("/")[2].lower() == "getupdates":
            await self._queue.join()  # every update fetched so far is handled
        return await self._inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
