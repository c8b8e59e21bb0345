"""Running the real Glutebot Application against the local Telegram, as tests need it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from telegram.ext import Application

from bot.app import build_application, dispatcher_of, start_application, stop_application
from bot.clock import FakeClock
from bot.config import Settings
from bot.db.models import UserState
from bot.db.repo import upsert_user
from bot.delivery import planner
from bot.delivery.dispatcher import Dispatcher
from bot.localtelegram import LocalTelegram, LocalUser
from bot.localtelegram.chat import ChatMessage
from bot.runtime import Runtime
from content import Track


@dataclass
class RunningBot:
    """A started bot and the local Telegram it talks to."""

    telegram: LocalTelegram
    application: Application  # type: ignore[type-arg]
    runtime: Runtime
    clock: FakeClock

    @property
    def dispatcher(self) -> Dispatcher:
        """The delivery tick, driven by the test (`await bot.dispatcher.tick()`)."""
        return dispatcher_of(self.application)


def settings_for_test(
    database_url: str, data_dir: Path, admin_ids: frozenset[int] = frozenset()
) -> Settings:
    """Settings for a test: explicit values only, nothing from the developer's .env."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=None,
        database_url=database_url,
        data_dir=data_dir,
        admin_ids=admin_ids,
    )


@asynccontextmanager
async def running_bot(
    database_url: str,
    data_dir: Path,
    *,
    telegram: LocalTelegram | None = None,
    clock: FakeClock | None = None,
    admin_ids: frozenset[int] = frozenset(),
) -> AsyncIterator[RunningBot]:
    """Start Glutebot on `database_url` against a local Telegram; stop it afterwards."""
    clock = clock or FakeClock()
    telegram = telegram or LocalTelegram(clock=clock)
    runtime = Runtime.open(settings_for_test(database_url, data_dir, admin_ids), clock)
    application = build_application(
        runtime,
        request=telegram.request(),
        get_updates_request=telegram.request(),
        deliver=False,
    )
    await start_application(application, poll_timeout=1)
    try:
        yield RunningBot(telegram, application, runtime, clock)
    finally:
        await stop_application(application)


async def active_user(
    bot: RunningBot,
    user_id: int,
    *,
    name: str = "Alex",
    timezone: str = "Europe/Berlin",
    window: tuple[int, int] = (9 * 60, 18 * 60),
    every: int = 60,
    weekends: bool = False,
) -> LocalUser:
    """A user who finished the screen with this rhythm; their first nudge is scheduled."""
    person = bot.telegram.user(user_id, name)
    person.open_chat()
    now = bot.clock.now()
    async with bot.runtime.sessions.begin() as session:
        user, _ = await upsert_user(
            session,
            user_id=user_id,
            chat_id=user_id,
            first_name=name,
            username=None,
            language_code="en",
            now=now,
        )
        settings = user.settings
        settings.timezone = timezone
        settings.window_start, settings.window_end = window
        settings.nudge_interval_minutes, settings.weekends = every, weekends
        settings.focus, settings.mix = "activation", ["hip_flexor_balance"]
        settings.levels = {track.value: 1 for track in Track}
        settings.anchors = ["standing_up"]
        user.state = UserState.ACTIVE
        await planner.start_nudging(session, user, now, planner.per_minute(29))
    return person


async def run_clock(
    bot: RunningBot,
    until: datetime,
    step: timedelta = timedelta(minutes=1),
    *,
    engaged: LocalUser | None = None,
) -> None:
    """Move the fake clock forward in steps, running the delivery tick at each one.

    An `engaged` user answers every nudge with "Not now", so the fatigue guard stays off.
    """
    while bot.clock.now() < until:
        bot.clock.advance(min(step, until - bot.clock.now()))
        await bot.dispatcher.tick()
        if engaged is not None:
            for message in list(engaged.messages):
                if ["Not now", "Skip this one"] in message.buttons:
                    await engaged.tap("Not now", message=message)


async def forged_press(telegram: LocalTelegram, user: LocalUser, data: str) -> None:
    """A button press carrying made-up callback data, as a tampered client could send."""
    query_id = telegram.open_callback_query(user.chat, user.last)
    telegram.push_update(
        "callback_query",
        {
            "id": query_id,
            "from": user.chat.user.as_user(),
            "message": user.last.to_api(),
            "chat_instance": "forged",
            "data": data,
        },
    )
    await user.wait_for(lambda: telegram.is_answered(query_id), what="an answer to the press")


async def ask(user: LocalUser, text: str) -> ChatMessage:
    """Send `text` and return the bot's first message after it (earlier ones are skipped)."""
    seen = len(user.messages)
    await user.send(text)
    await user.wait_for(lambda: len(user.messages) > seen, what=f"an answer to {text!r}")
    return user.messages[seen]
