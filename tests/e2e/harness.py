"""Running the real Glutebot Application against the local Telegram, as tests need it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from telegram.ext import Application

from bot.app import build_application, start_application, stop_application
from bot.clock import FakeClock
from bot.config import Settings
from bot.localtelegram import LocalTelegram
from bot.runtime import Runtime


@dataclass
class RunningBot:
    """A started bot and the local Telegram it talks to."""

    telegram: LocalTelegram
    application: Application  # type: ignore[type-arg]
    runtime: Runtime
    clock: FakeClock


def test_settings(database_url: str, data_dir: Path) -> Settings:
    """Settings for a test: explicit values only, nothing from the developer's .env."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=None,
        database_url=database_url,
        data_dir=data_dir,
        admin_ids="",
    )


@asynccontextmanager
async def running_bot(
    database_url: str,
    data_dir: Path,
    *,
    telegram: LocalTelegram | None = None,
    clock: FakeClock | None = None,
) -> AsyncIterator[RunningBot]:
    """Start Glutebot on `database_url` against a local Telegram; stop it afterwards."""
    clock = clock or FakeClock()
    telegram = telegram or LocalTelegram(clock=clock)
    runtime = Runtime.open(test_settings(database_url, data_dir), clock)
    application = build_application(
        runtime, request=telegram.request(), get_updates_request=telegram.request()
    )
    await start_application(application, poll_timeout=1)
    try:
        yield RunningBot(telegram, application, runtime, clock)
    finally:
        await stop_application(application)
