"""Each Telegram update counts once: its id is written in the transaction that handles it.

While an update is being handled (inside `handling`), the first transaction to commit in
its task also inserts the update id into processed_updates. So the id and what handling
the update changed are committed together or not at all:

- a crash before that commit leaves no trace, and Telegram's redelivery is handled afresh;
- a redelivery after it finds the id (bot/handlers/updates.py looks first) and stops;
- two processes handling the same update at once: the second commit finds the id taken,
  raises `AlreadyHandled`, and its transaction rolls back, so nothing counts twice.

A handler that never commits (help, an unknown command, a read-only page) has its id
recorded after it finished without an error (`record_if_unrecorded`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.db.models import ProcessedUpdate

_INFO_KEY = "glutebot.handling"


@dataclass
class Handling:
    """The update being handled in this task."""

    update_id: int
    at: datetime
    recorded: bool = False  # a transaction has written the id, or is writing it now
    failed: bool = False  # a handler failed: leave the id out so a redelivery tries again
    repeated: bool = False  # the id was there already: handled before, or elsewhere


class AlreadyHandled(Exception):
    """This update's id was recorded by another transaction first; this one rolled back."""

    def __init__(self, update_id: int) -> None:
        super().__init__(f"update {update_id} was already handled")
        self.update_id = update_id


_current: ContextVar[Handling | None] = ContextVar("glutebot_handling", default=None)


@contextmanager
def handling(update_id: int, at: datetime) -> Iterator[Handling]:
    """Mark everything awaited inside (and tasks started from it) as handling this update."""
    current = Handling(update_id, at)
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)


def current_handling() -> Handling | None:
    """The update being handled in this task, if any."""
    return _current.get()


def insert_ignoring_duplicates(session: Any, model: type[Any]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING in the dialect of `session` (sync or async)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    raise NotImplementedError(f"no INSERT ... ON CONFLICT for {dialect}")


def record_update(session: Session, update_id: int, at: datetime) -> bool:
    """Insert the update id; True if it was new, False if some transaction recorded it."""
    result = session.execute(
        insert_ignoring_duplicates(session, ProcessedUpdate)
        .values(update_id=update_id, processed_at=at)
        .returning(ProcessedUpdate.update_id)
    )
    return result.first() is not None


class HandledSession(Session):
    """The sessions' class: commits record the update being handled (see the module doc)."""


@event.listens_for(HandledSession, "before_commit")
def _record_with_the_commit(session: Session) -> None:
    current = _current.get()
    if current is None or current.recorded:
        return
    current.recorded = True  # set before the insert: no other transaction tries meanwhile
    session.info[_INFO_KEY] = current
    if not record_update(session, current.update_id, current.at):
        current.repeated = True
        raise AlreadyHandled(current.update_id)


@event.listens_for(HandledSession, "after_commit")
def _recorded(session: Session) -> None:
    session.info.pop(_INFO_KEY, None)


@event.listens_for(HandledSession, "after_rollback")
def _not_recorded(session: Session) -> None:
    current = session.info.pop(_INFO_KEY, None)
    if current is not None and not current.repeated:
        current.recorded = False  # the commit failed: a later transaction records it
