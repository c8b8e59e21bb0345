"""Report buttons, /log, /why, /stop and /delete; the clinician-cleared button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from bot.db.models import Decision, ReportSource, User, UserState
from bot.db.repo import delete_user, get_user
from bot.delivery import planner
from bot.handlers.replies import Answer, answer_press, reply
from bot.messages import Outcome, Screenful
from bot.runtime import Runtime, runtime_of
from bot.services.reporting import CLARIFY, Reporting
from content import referral_lines, scan_red_flags

NO_PROGRAMME = "You don't have a programme yet. Send /start to set one up."
NO_DECISION = (
    "Nothing to explain yet: once you've logged a session with how it felt, I'll tell you "
    "here why your exercises stay, step up or step down."
)
DELETE_ASK = (
    "This erases everything I have about you: your answers, programme, nudges and reports. "
    "It can't be undone. Tip: /export first if you'd like a copy. Erase it all?"
)
DELETED = "Done. Everything about you is erased. If you ever want to start again, send /start."
KEPT = "Nothing was erased."
# Users whose typed messages are read as reports.
LOGGING_STATES = (UserState.ACTIVE, UserState.PAUSED, UserState.STOPPED, UserState.REFERRED)
STOPPED = "Nudges stopped. Your history is kept; send /resume whenever you want them back."


async def _with_user(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    act: Callable[[Reporting], Awaitable[Outcome]],
) -> Outcome | None:
    """Run `act` for the user who sent the update; None when we don't know them."""
    person = update.effective_user
    if person is None:
        return None
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        user = await get_user(session, person.id)
        if user is None:
            return None
        reporting = Reporting(
            session, user, runtime.clock.now(), runtime.settings.nudges_per_second
        )
        return await act(reporting)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a report button (exercise, reps, pain, where felt) or "cleared"."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    data = query.data

    async def act(reporting: Reporting) -> Outcome:
        if data == "rf:cleared":
            return await reporting.cleared()
        return await reporting.press(data)

    outcome = await _with_user(update, context, act) or Outcome(toast="That button has expired.")
    await answer_press(query, outcome)


async def typed_report(
    session: AsyncSession, user: User, runtime: Runtime, message: Message
) -> Answer | None:
    """A typed message from a user with a programme, in the caller's transaction; None
    when it is not ours to answer.

    Every message is scanned for red-flag phrases first: safety before logging.
    """
    text = message.text or ""
    reporting = Reporting(session, user, runtime.clock.now(), runtime.settings.nudges_per_second)
    scan = scan_red_flags(text)
    if scan.flags and user.settings.focus is not None:
        outcome = await reporting.refer_for_flags(scan.flags)
    elif scan.flags:
        outcome = Outcome(Screenful("\n\n".join(referral_lines(scan.flags))))
    elif user.settings.focus is None or user.state not in LOGGING_STATES:
        return None
    else:
        outcome = await reporting.typed(text)
    if outcome.show is None:
        return None
    return partial(reply, message, outcome.show, quote=True)  # a clarifying question re-reads it


async def on_clarified(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a clarifying question about a typed report."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    asked = query.message if isinstance(query.message, Message) else None
    original = asked.reply_to_message.text if asked and asked.reply_to_message else None
    value = query.data.removeprefix(CLARIFY)

    async def act(reporting: Reporting) -> Outcome:
        if original is None:
            return Outcome(toast="That button has expired.")
        return await reporting.clarified(original, value)

    outcome = await _with_user(update, context, act) or Outcome(toast="That button has expired.")
    await answer_press(query, outcome)


async def log(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log work done without a nudge: pick the exercise, then how many and how it felt."""
    message = update.effective_message
    if message is None:
        return

    async def act(reporting: Reporting) -> Outcome:
        if reporting.user.settings.focus is None:
            return Outcome(toast=NO_PROGRAMME)
        return await reporting.start(source=ReportSource.LOG)

    outcome = await _with_user(update, context, act)
    if outcome is None or outcome.show is None:
        await message.reply_text(NO_PROGRAMME)
        return
    await reply(message, outcome.show)


async def why(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain the latest progression decision in one line."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return
    runtime = runtime_of(context)
    async with runtime.sessions() as session:
        latest = await session.scalar(
            select(Decision)
            .where(Decision.user_id == person.id)
            .order_by(Decision.created_at.desc(), Decision.id.desc())
            .limit(1)
        )
    await message.reply_text(NO_DECISION if latest is None else latest.reason)


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop all nudges (the history stays)."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        user = await get_user(session, person.id)
        if user is not None:
            await _stop(session, user)
    await message.reply_text(STOPPED if user is not None else NO_PROGRAMME)


async def _stop(session: AsyncSession, user: User) -> None:
    # Only nudges being taken stop: a referred user stays referred (or /resume would skip
    # the clinician), and someone without a programme keeps their state.
    if user.state in (UserState.ACTIVE, UserState.PAUSED):
        user.state = UserState.STOPPED
    await planner.stop_nudging(session, user)


async def delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask before erasing everything about the user."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        DELETE_ASK,
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("Yes, erase everything", callback_data="del:yes"),
                    InlineKeyboardButton("No, keep it", callback_data="del:no"),
                ]
            ]
        ),
    )


async def on_delete_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The answer to /delete."""
    query, person = update.callback_query, update.effective_user
    if query is None or person is None:
        return
    if query.data != "del:yes":
        await answer_press(query, Outcome(Screenful(KEPT)))  # a double tap edits once
        return
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        await delete_user(session, person.id)
    await answer_press(query, Outcome(Screenful(DELETED), toast="Erased"))
