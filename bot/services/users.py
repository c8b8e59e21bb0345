"""Knowing who we talk to: recording users as they write to the bot."""

from __future__ import annotations

from telegram import User as TelegramUser

from bot.db.repo import upsert_user
from bot.runtime import Runtime


async def record_visit(runtime: Runtime, person: TelegramUser, chat_id: int) -> bool:
    """Store or refresh the user; True when this is the first time we see them."""
    async with runtime.sessions.begin() as session:
        _, created = await upsert_user(
            session,
            user_id=person.id,
            chat_id=chat_id,
            first_name=person.first_name,
            username=person.username,
            language_code=person.language_code,
            now=runtime.clock.now(),
        )
    return created
