"""The tables: users and their settings, onboarding screens, nudges, reports, broadcasts,
processed updates.

Every row about a person hangs off `users` with ON DELETE CASCADE, so deleting the user
erases everything about them. Times are aware UTC datetimes (`UTCDateTime`); nothing here
reads the clock, callers pass `now`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.db.types import BigIntegerKey, UTCDateTime, json_document, string_enum

# Stable constraint names, so later migrations (and SQLite batch rebuilds) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(AsyncAttrs, DeclarativeBase):
    """Declarative base: every `Mapped[datetime]` is a `UTCDateTime`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class UserState(StrEnum):
    NEW = "new"
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    PAUSED = "paused"
    REFERRED = "referred"  # the screen found a red flag: see a professional, no nudges
    BLOCKED = "blocked"  # the user blocked the bot in Telegram
    STOPPED = "stopped"


class ScreenStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RED_FLAG = "red_flag"


class NudgeState(StrEnum):
    SCHEDULED = "scheduled"
    CLAIMED = "claimed"
    SENT = "sent"
    SNOOZED = "snoozed"
    SKIPPED = "skipped"
    MISSED = "missed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NudgeKind(StrEnum):
    NUDGE = "nudge"
    MORNING_CHECK = "morning_check"
    WEEKLY_SUMMARY = "weekly_summary"
    BROADCAST = "broadcast"  # an operator's message to every active user (see Broadcast)


class BroadcastState(StrEnum):
    DRAFT = "draft"  # previewed, waiting for Send or Cancel
    QUEUEING = "queueing"  # confirmed: recipients' rows being added, a batch at a time
    QUEUED = "queued"  # every recipient has their row in `nudges`
    CANCELLED = "cancelled"


class ReportSource(StrEnum):
    BUTTON = "button"
    TEXT = "text"
    LOG = "log"


def _user_fk() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))


class User(Base):
    """A Telegram user; `id` is their Telegram user id."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String)
    username: Mapped[str | None] = mapped_column(String)
    language_code: Mapped[str | None] = mapped_column(String)
    state: Mapped[UserState] = mapped_column(string_enum(UserState), default=UserState.NEW)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]

    # Loaded with the user in one query: almost every handler needs both.
    settings: Mapped[UserSettings] = relationship(
        lazy="joined", cascade="all, delete-orphan", passive_deletes=True
    )


class UserSettings(Base):
    """A user's schedule and coaching preferences (one row per user)."""

    __tablename__ = "user_settings"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String, default="UTC")  # IANA name
    window_start: Mapped[int] = mapped_column(default=540)  # minutes after local midnight
    window_end: Mapped[int] = mapped_column(default=1080)
    nudge_interval_minutes: Mapped[int] = mapped_column(default=75)
    weekends: Mapped[bool] = mapped_column(default=False)
    paused_until: Mapped[datetime | None]
    # Mutable wrappers so in-place edits (levels[track] = 2) are saved on commit.
    anchors: Mapped[list[str]] = mapped_column(
        MutableList.as_mutable(json_document()), default=list
    )
    equipment: Mapped[list[str]] = mapped_column(
        MutableList.as_mutable(json_document()), default=list
    )
    focus: Mapped[str | None] = mapped_column(String)
    levels: Mapped[dict[str, int]] = mapped_column(
        MutableDict.as_mutable(json_document()), default=dict
    )  # track -> level
    disclaimer_shown: Mapped[bool] = mapped_column(default=False)
    # From the latest confirmed screen: tracks mixed in beside the focus, gentle
    # activation only (high pain at rest), and the side that needs more work.
    mix: Mapped[list[str]] = mapped_column(MutableList.as_mutable(json_document()), default=list)
    gentle_only: Mapped[bool] = mapped_column(default=False)
    weaker_side: Mapped[str | None] = mapped_column(String)
    # Nudges sent since the user last reacted: the fatigue guard spaces nudges out from 3.
    unanswered_streak: Mapped[int] = mapped_column(default=0)
    editing: Mapped[str | None] = mapped_column(String(32))  # a /settings answer being typed


class Screen(Base):
    """One onboarding screen taken; a retake is a new row beside the earlier one."""

    __tablename__ = "screens"
    __table_args__ = (Index(None, "user_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    status: Mapped[ScreenStatus] = mapped_column(
        string_enum(ScreenStatus), default=ScreenStatus.IN_PROGRESS
    )
    current_step: Mapped[str] = mapped_column(String)
    result: Mapped[dict[str, Any] | None] = mapped_column(json_document())

    answers: Mapped[list[ScreenAnswer]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ScreenAnswer.answered_at",
    )


class ScreenAnswer(Base):
    """The answer to one step of a screen; answering the step again (Back) updates it."""

    __tablename__ = "screen_answers"
    __table_args__ = (UniqueConstraint("screen_id", "step"),)

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True)
    screen_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("screens.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String)
    answer: Mapped[Any] = mapped_column(json_document())
    answered_at: Mapped[datetime]


class Nudge(Base):
    """A scheduled message (the outbox): due at a time, claimed, then sent or not."""

    __tablename__ = "nudges"
    __table_args__ = (
        Index(None, "state", "due_at"),  # the delivery tick: what is scheduled and due
        Index(None, "user_id", "due_at"),  # one user's upcoming and recent nudges
        # One user's pending messages of a kind (rescheduling cancels them). Without it,
        # SQLite reads every scheduled row through (state, due_at) to find one user's.
        Index(None, "user_id", "state", "kind"),
        # One user's nudges sent lately, newest first: the one a typed report answers.
        # Without it, finding that nudge reads every nudge the user was ever sent.
        Index(None, "user_id", "kind", "sent_at"),
        # A broadcast's rows (its progress), and never two of them for one user.
        Index(None, "broadcast_id", "user_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    due_at: Mapped[datetime]
    state: Mapped[NudgeState] = mapped_column(string_enum(NudgeState), default=NudgeState.SCHEDULED)
    kind: Mapped[NudgeKind] = mapped_column(string_enum(NudgeKind), default=NudgeKind.NUDGE)
    exercise_id: Mapped[str | None] = mapped_column(String)
    track: Mapped[str | None] = mapped_column(String)
    anchor: Mapped[str | None] = mapped_column(String)
    text: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String)
    sent_at: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    target_reps: Mapped[int | None]  # the dose's reps when it was sent, for reports
    responded_at: Mapped[datetime | None]  # when the user first reacted to it
    response: Mapped[str | None] = mapped_column(String(32))  # done, snoozed, skipped, not_now
    broadcast_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("broadcasts.id", ondelete="CASCADE")
    )  # set on BROADCAST rows: the broadcast's progress is a count of them by state


class Broadcast(Base):
    """An operator's message to every active user: previewed, then confirmed or cancelled.

    Confirming queues one BROADCAST row per recipient in `nudges` (the outbox sends them);
    not tied to a user row, since an admin need not be a user of the bot.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True)
    admin_id: Mapped[int] = mapped_column(BigInteger)  # the Telegram user id who wrote it
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[BroadcastState] = mapped_column(
        string_enum(BroadcastState), default=BroadcastState.DRAFT
    )
    recipients: Mapped[int] = mapped_column(default=0)  # rows queued so far
    created_at: Mapped[datetime]
    queued_at: Mapped[datetime | None]  # when Send was pressed
    # While queueing: the last user id queued and the next free due time, so queueing
    # resumes exactly where it stopped (after a restart, or in another process).
    queued_up_to: Mapped[int | None] = mapped_column(BigInteger)
    next_due_at: Mapped[datetime | None]


class Report(Base):
    """What a user did: reps and sets of an exercise, and how much it hurt."""

    __tablename__ = "reports"
    __table_args__ = (
        Index(None, "user_id", "created_at"),
        CheckConstraint("pain_during BETWEEN 0 AND 10", name="pain_during"),
        CheckConstraint("pain_next_morning BETWEEN 0 AND 10", name="pain_next_morning"),
    )

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    nudge_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("nudges.id", ondelete="SET NULL"), index=True
    )
    exercise_id: Mapped[str | None] = mapped_column(String)
    track: Mapped[str | None] = mapped_column(String)
    reps: Mapped[int | None]
    sets: Mapped[int | None]
    pain_during: Mapped[int | None]  # 0-10
    pain_next_morning: Mapped[int | None]  # 0-10
    felt_in: Mapped[str | None] = mapped_column(String)
    source: Mapped[ReportSource] = mapped_column(string_enum(ReportSource))
    created_at: Mapped[datetime]


class Decision(Base):
    """A progression step on one track: advance, hold, regress or refer, and why."""

    __tablename__ = "decisions"
    __table_args__ = (Index(None, "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    report_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    track: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    level_from: Mapped[int]
    level_to: Mapped[int]
    exercise_id: Mapped[str | None] = mapped_column(String)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ProcessedUpdate(Base):
    """The id of a Telegram update already handled, so a redelivery is ignored."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(index=True)
