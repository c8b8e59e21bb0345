"""Initial schema: users, settings, screens, nudges, reports, processed updates.

Revision ID: 0001
Revises:
Create Date: 2026-03-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of bot.db.types, so this revision never changes when the app code does.
# Names are wrapped in op.f(): final, whatever naming convention env.py passes in.
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _enum() -> sa.String:
    return sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=False),
        sa.Column("username", sa.String(), nullable=True),
        sa.Column("language_code", sa.String(), nullable=True),
        sa.Column("state", _enum(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("window_end", sa.Integer(), nullable=False),
        sa.Column("nudge_interval_minutes", sa.Integer(), nullable=False),
        sa.Column("weekends", sa.Boolean(), nullable=False),
        sa.Column("paused_until", _utc(), nullable=True),
        sa.Column("anchors", JSON, nullable=False),
        sa.Column("equipment", JSON, nullable=False),
        sa.Column("focus", sa.String(), nullable=True),
        sa.Column("levels", JSON, nullable=False),
        sa.Column("disclaimer_shown", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_settings")),
    )
    op.create_table(
        "screens",
        sa.Column("id", KEY, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("completed_at", _utc(), nullable=True),
        sa.Column("status", _enum(), nullable=False),
        sa.Column("current_step", sa.String(), nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_screens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screens")),
    )
    op.create_index(op.f("ix_screens_user_id_started_at"), "screens", ["user_id", "started_at"])
    op.create_table(
        "screen_answers",
        sa.Column("id", KEY, nullable=False),
        sa.Column("screen_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("answer", JSON, nullable=False),
        sa.Column("answered_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["screen_id"],
            ["screens.id"],
            name=op.f("fk_screen_answers_screen_id_screens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screen_answers")),
        sa.UniqueConstraint("screen_id", "step", name=op.f("uq_screen_answers_screen_id_step")),
    )
    op.create_table(
        "nudges",
        sa.Column("id", KEY, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", _utc(), nullable=False),
        sa.Column("state", _enum(), nullable=False),
        sa.Column("kind", _enum(), nullable=False),
        sa.Column("exercise_id", sa.String(), nullable=True),
        sa.Column("track", sa.String(), nullable=True),
        sa.Column("anchor", sa.String(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", _utc(), nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_nudges_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudges")),
    )
    op.create_index(op.f("ix_nudges_state_due_at"), "nudges", ["state", "due_at"])
    op.create_index(op.f("ix_nudges_user_id_due_at"), "nudges", ["user_id", "due_at"])
    op.create_table(
        "reports",
        sa.Column("id", KEY, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("nudge_id", sa.BigInteger(), nullable=True),
        sa.Column("exercise_id", sa.String(), nullable=True),
        sa.Column("track", sa.String(), nullable=True),
        sa.Column("reps", sa.Integer(), nullable=True),
        sa.Column("sets", sa.Integer(), nullable=True),
        sa.Column("pain_during", sa.Integer(), nullable=True),
        sa.Column("pain_next_morning", sa.Integer(), nullable=True),
        sa.Column("felt_in", sa.String(), nullable=True),
        sa.Column("source", _enum(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint("pain_during BETWEEN 0 AND 10", name=op.f("ck_reports_pain_during")),
        sa.CheckConstraint(
            "pain_next_morning BETWEEN 0 AND 10", name=op.f("ck_reports_pain_next_morning")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reports_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["nudge_id"],
            ["nudges.id"],
            name=op.f("fk_reports_nudge_id_nudges"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index(op.f("ix_reports_user_id_created_at"), "reports", ["user_id", "created_at"])
    op.create_index(op.f("ix_reports_nudge_id"), "reports", ["nudge_id"])
    op.create_table(
        "processed_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("processed_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_processed_updates")),
    )
    op.create_index(
        op.f("ix_processed_updates_processed_at"), "processed_updates", ["processed_at"]
    )


def downgrade() -> None:
    # Indexes go with their tables; children before parents.
    for table in (
        "processed_updates",
        "reports",
        "nudges",
        "screen_answers",
        "screens",
        "user_settings",
        "users",
    ):
        op.drop_table(table)
