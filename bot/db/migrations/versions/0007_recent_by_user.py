"""An index for one user's recently sent nudges (the one a typed report answers).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_nudges_user_id_kind_sent_at"),
        "nudges",
        ["user_id", "kind", "sent_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_nudges_user_id_kind_sent_at"), table_name="nudges")
