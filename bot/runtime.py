"""What every handler needs at hand: settings, the database sessions and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext

from bot.clock import Clock
from bot.config import Settings
from bot.db.engine import create_engine, session_factory

RUNTIME_KEY = "runtime"


@dataclass(frozen=True)
class Runtime:
    """The bot's shared resources, created once per process and kept in `bot_data`."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def open(cls, settings: Settings, clock: Clock) -> Runtime:
        """Create the engine for the configured database (no connection is made yet)."""
        engine = create_engine(settings.database_url)
        return cls(settings=settings, clock=clock, engine=engine, sessions=session_factory(engine))

    async def close(self) -> None:
        """Close every database connection."""
        await self.engine.dispose()


def runtime_of(context: CallbackContext) -> Runtime:  # type: ignore[type-arg]
    """The Runtime stored on the Application this callback belongs to."""
    return get_runtime(context.application)


def get_runtime(application: Application) -> Runtime:  # type: ignore[type-arg]
    """The Runtime stored on an Application by `bot.app.build_application`."""
    runtime = application.bot_data[RUNTIME_KEY]
    assert isinstance(runtime, Runtime)
    return runtime
