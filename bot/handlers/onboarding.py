"""/start, /rescreen, /cancel and every tap or typed answer during the onboarding screen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram import User as TelegramUser
from telegram.ext import ContextTypes

from bot.db.models import User, UserState
from bot.db.repo import seen_user, upsert_user
from bot.delivery import planner
from bot.handlers.replies import Answer, answer_press, reply
from bot.messages import Outcome, Screenful
from bot.runtime import Runtime, runtime_of
from bot.services.onboarding import DISCLAIMER, Onboarding

T = TypeVar("T")

WELCOME = (
    "Hi {name}! I'm Glutebot. Long hours of sitting switch the glutes off, and I help wake "
    "them up with small, frequent nudges through your day.\n\n"
    "Let's set you up: a few quick questions and two simple self-tests, about two minutes. "
    "Tap the buttons or type your answers; « Back fixes a slip, and /cancel stops."
)
RESUME = "Welcome back, {name}! Let's pick up where we left off."
WELCOME_BACK = (
    "Welcome back, {name}! Your programme is running. Send /rescreen to redo the screen, "
    "or /help to see what I can do."
)
RESCREEN = (
    "Let's redo the screen. Your current programme keeps going until you confirm the new one."
)
CANCELLED = "Okay, I've stopped the questions. Send /start whenever you want to pick them up."
NOTHING_TO_CANCEL = "There's nothing to cancel right now. Send /help to see what I can do."


async def _in_screen(
    context: ContextTypes.DEFAULT_TYPE,
    person: TelegramUser,
    chat_id: int,
    act: Callable[[Onboarding], Awaitable[T]],
) -> T:
    """Run `act` on the user's screens in one transaction (committed before any sending)."""
    runtime = runtime_of(context)
    async with runtime.sessions.begin() as session:
        user, _ = await upsert_user(
            session,
            user_id=person.id,
            chat_id=chat_id,
            first_name=person.first_name,
            username=person.username,
            language_code=person.language_code,
            now=runtime.clock.now(),
        )
        flow = await Onboarding.load(runtime, session, user)
        result = await act(flow)
        if not planner.schedulable(flow.user):  # e.g. a red flag while retaking the screen
            await planner.stop_nudging(session, flow.user)
        return result


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet, and start, resume or report on the screen."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return

    async def decide(flow: Onboarding) -> list[Screenful]:
        name = person.first_name
        if flow.screen is not None:
            resumed = flow.resume()
            return [Screenful(RESUME.format(name=name)), *([resumed] if resumed else [])]
        if flow.user.state is UserState.ACTIVE:
            return [Screenful(WELCOME_BACK.format(name=name))]
        greeting = WELCOME.format(name=name)
        if not flow.user.settings.disclaimer_shown:
            greeting += "\n\n" + DISCLAIMER
            flow.user.settings.disclaimer_shown = True
        return [Screenful(greeting), await flow.begin()]

    for screenful in await _in_screen(context, person, message.chat_id, decide):
        await reply(message, screenful)


async def rescreen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take the screen again; the earlier one is kept."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return

    async def decide(flow: Onboarding) -> list[Screenful]:
        first = await flow.begin()
        if flow.previous is None:
            return [first]
        return [Screenful(RESCREEN), first]

    for screenful in await _in_screen(context, person, message.chat_id, decide):
        await reply(message, screenful)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop the screen in progress."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None:
        return

    async def decide(flow: Onboarding) -> bool:
        return flow.cancel()

    cancelled = await _in_screen(context, person, message.chat_id, decide)
    await message.reply_text(CANCELLED if cancelled else NOTHING_TO_CANCEL)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a screen button: answer it and show the next step in place."""
    query, person = update.callback_query, update.effective_user
    if query is None or person is None or query.data is None:
        return
    chat_id = query.message.chat.id if query.message else person.id

    async def decide(flow: Onboarding) -> Outcome:
        return await flow.press(query.data or "")

    await answer_press(query, await _in_screen(context, person, chat_id, decide))


async def typed_answer(
    session: AsyncSession,
    known: User | None,
    runtime: Runtime,
    message: Message,
    person: TelegramUser,
) -> tuple[User, Answer | None]:
    """Answer the screen with a typed message, in the caller's transaction: the user (seen
    now, created if new, as every screen interaction records them) and the answer, None
    when no screen is open."""
    user = await seen_user(
        session,
        known,
        user_id=person.id,
        chat_id=message.chat_id,
        first_name=person.first_name,
        username=person.username,
        language_code=person.language_code,
        now=runtime.clock.now(),
    )
    flow = await Onboarding.load_open(runtime, session, user)
    outcome = None if flow is None else await flow.typed(message.text or "")
    return user, None if outcome is None else partial(_reply, message, outcome)


async def shared_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Answer the time zone question with a shared location; False when not asked."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None or message.location is None:
        return False
    latitude, longitude = message.location.latitude, message.location.longitude

    async def decide(flow: Onboarding) -> Outcome | None:
        return await flow.located(latitude, longitude)

    outcome = await _in_screen(context, person, message.chat_id, decide)
    if outcome is None:
        return False
    await _reply(message, outcome)
    return True


async def _reply(message: Message, outcome: Outcome) -> None:
    for screenful in (*([outcome.show] if outcome.show else []), *outcome.after):
        await reply(message, screenful)
