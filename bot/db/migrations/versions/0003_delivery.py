"""Delivery: how users respond to nudges, the fatigue streak, settings being edited.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("nudges") as batch:
        batch.add_column(sa.Column("target_reps", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("responded_at", _utc(), nullable=True))
        batch.add_column(sa.Column("response", sa.String(length=32), nullable=True))
    with op.batch_alter_table("user_settings") as batch:
        batch.add_column(
            sa.Column("unanswered_streak", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("editing", sa.String(length=32), nullable=True))
    with op.batch_alter_table("user_settings") as batch:
        batch.alter_column("unanswered_streak", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("user_settings") as batch:
        batch.drop_column("editing")
        batch.drop_column("unanswered_streak")
    with op.batch_alter_table("nudges") as batch:
        batch.drop_column("response")
        batch.drop_column("responded_at")
        batch.drop_column("target_reps")
