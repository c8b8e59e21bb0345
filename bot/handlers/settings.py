"""/settings and the answers typed or shared while a setting is being changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.db.models import User
from bot.db.repo import get_user
from bot.handlers.replies import Answer, answer_press, reply
from bot.messages import Outcome
from bot.runtime import Runtime, runtime_of
from bot.services.settings import NOT_YET, SettingsEditor


async def settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the settings with buttons to change them."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        user = await get_user(session, person.id)
        if user is None or user.settings.focus is None:
            screen = None
        else:
            editor = SettingsEditor(
                session, user, runtime.clock.now(), runtime.settings.nudges_per_second
            )
            screen = await editor.main()
    if screen is None:
        await message.reply_text(NOT_YET)
    else:
        await reply(message, screen)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a settings button."""
    query, person = update.callback_query, update.effective_user
    if query is None or query.data is None or person is None:
        return
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        user = await get_user(session, person.id)
        outcome = (
            Outcome(toast=NOT_YET)
            if user is None
            else await SettingsEditor(
                session, user, runtime.clock.now(), runtime.settings.nudges_per_second
            ).press(query.data)
        )
    await answer_press(query, outcome)


async def typed_answer(
    session: AsyncSession, user: User | None, runtime: Runtime, message: Message
) -> Answer | None:
    """A typed message while a setting is being changed (in the caller's transaction);
    None otherwise."""
    if user is None or not user.settings.editing:
        return None
    editor = SettingsEditor(session, user, runtime.clock.now(), runtime.settings.nudges_per_second)
    outcome = await editor.typed(message.text or "")
    if outcome is None or outcome.show is None:
        return None
    return partial(reply, message, outcome.show)


async def shared_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A shared location while the time zone is being changed; False otherwise."""
    message = update.effective_message
    if message is None or message.location is None:
        return False
    location = message.location
    return await _answer(
        update, context, lambda editor: editor.located(location.latitude, location.longitude)
    )


async def _answer(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    act: Callable[[SettingsEditor], Awaitable[Outcome | None]],
) -> bool:
    message, person = update.effective_message, update.effective_user
    assert message is not None and person is not None
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        user = await get_user(session, person.id)
        if user is None or not user.settings.editing:
            return False
        editor = SettingsEditor(
            session, user, runtime.clock.now(), runtime.settings.nudges_per_second
        )
        outcome = await act(editor)
    if outcome is None or outcome.show is None:
        return False
    await reply(message, outcome.show)
    return True
