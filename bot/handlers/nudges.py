"""Buttons on nudges, /pause and /resume, and users who block or unblock the bot."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import ChatMember, Update
from telegram.ext import ContextTypes

from bot.db.models import User, UserState
from bot.db.repo import get_user
from bot.delivery import planner
from bot.handlers.replies import answer_press
from bot.messages import Outcome
from bot.runtime import runtime_of
from bot.services.nudging import Nudges, pause_until

log = logging.getLogger(__name__)

NO_PROGRAMME = "You don't have a programme yet. Send /start to set one up."
PAUSE_CHOICES = (
    "How long shall I pause? For example /pause 3 (days), /pause 2 weeks, "
    "/pause until 24 dec, or /pause forever to stop until you send /resume."
)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a nudge, a pain score or a morning check."""
    query = update.callback_query
    if query is None or query.data is None or update.effective_user is None:
        return
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        user = await get_user(session, update.effective_user.id)
        if user is None:
            outcome = None
        else:
            nudges = Nudges(session, user, runtime.clock.now(), runtime.settings.nudges_per_second)
            outcome = await nudges.press(query.data)
    await answer_press(query, outcome or Outcome(toast="That button has expired."))


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pause nudges for some days, until a date, or until /resume."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return
    argument = " ".join(context.args or []).strip()
    if not argument:
        await message.reply_text(PAUSE_CHOICES)
        return
    runtime = runtime_of(context)
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        user = await get_user(session, person.id)
        if user is None or user.state not in (UserState.ACTIVE, UserState.PAUSED):
            answer = NO_PROGRAMME
        else:
            try:
                until = (
                    None
                    if argument.lower() in ("forever", "indefinitely", "until i say")
                    else pause_until(argument, now, user.settings.timezone)
                )
            except ValueError as problem:
                answer = str(problem)
            else:
                nudges = Nudges(session, user, now, runtime.settings.nudges_per_second)
                answer = await nudges.pause(until)
    await message.reply_text(answer)


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start nudging again."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        user = await get_user(session, person.id)
        if user is None:
            answer = NO_PROGRAMME
        else:
            nudges = Nudges(session, user, runtime.clock.now(), runtime.settings.nudges_per_second)
            answer = await nudges.resume()
    await message.reply_text(answer)


async def membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The user blocked or unblocked the bot in Telegram."""
    change = update.my_chat_member
    if change is None:
        return
    runtime = runtime_of(context)
    blocked = change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT)
    async with runtime.sessions.begin() as session:
        user = await get_user(session, change.from_user.id)
        if user is None:
            return
        if blocked:
            # Only someone taking nudges becomes "blocked" (and back to active on return):
            # a referred, stopped or new user keeps their state through block and unblock.
            if user.state in (UserState.ACTIVE, UserState.PAUSED):
                user.state = UserState.BLOCKED
            await planner.stop_nudging(session, user)
            log.info("User %s blocked the bot", user.id)
        else:
            await _come_back(session, user, runtime.clock.now(), runtime.settings.nudges_per_second)


async def returning_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anyone who writes again after blocking the bot gets their nudges back."""
    person = update.effective_user
    if person is None:
        return
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        user = await get_user(session, person.id)
        if user is not None and user.state is UserState.BLOCKED:
            await _come_back(session, user, runtime.clock.now(), runtime.settings.nudges_per_second)


async def _come_back(session: AsyncSession, user: User, now: datetime, rate: float) -> None:
    if user.state is not UserState.BLOCKED:
        return
    if user.settings.focus is None:  # never finished the screen
        user.state = UserState.NEW
        return
    user.state = UserState.ACTIVE
    user.settings.unanswered_streak = 0
    user.settings.paused_until = None  # an active user's nudges never wait for an old pause
    await planner.start_nudging(session, user, now, planner.per_minute(rate))
    log.info("User %s is back; nudges start again", user.id)
