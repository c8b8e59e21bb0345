"""Storage: models, the engine and sessions, repositories and migrations."""

from bot.db.engine import create_engine, session_factory

__all__ = ["create_engine", "session_factory"]
