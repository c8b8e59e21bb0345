"""Showing a service's Outcome in Telegram: the one place that edits, sends and answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import CallbackQuery, Message
from telegram.error import BadRequest

from bot.messages import Outcome, Screenful, keyboard

# What to send once the transaction that decided it has committed.
Answer = Callable[[], Awaitable[None]]


async def answer_press(query: CallbackQuery, outcome: Outcome) -> None:
    """Replace the tapped message, send any follow-ups, then answer the tap.

    The tap is answered last, so the button's spinner stops once everything is on screen
    (and the local Telegram's `tap()` returns only when the bot is done).
    """
    if outcome.show is not None:
        try:
            await query.edit_message_text(outcome.show.text, reply_markup=keyboard(outcome.show))
        except BadRequest as error:
            if "not modified" not in error.message:
                raise
    if outcome.after and query.message is not None:
        for screenful in outcome.after:
            await query.get_bot().send_message(
                query.message.chat.id, screenful.text, reply_markup=keyboard(screenful)
            )
    await query.answer(outcome.toast)


async def reply(message: Message, screenful: Screenful, *, quote: bool = False) -> None:
    """Answer a message with a screenful (as a reply to it when `quote`)."""
    await message.reply_text(
        screenful.text,
        reply_markup=keyboard(screenful),
        reply_to_message_id=message.message_id if quote else None,
    )
