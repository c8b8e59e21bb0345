"""An index for one user's pending messages of a kind (rescheduling cancels them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_nudges_user_id_state_kind"), "nudges", ["user_id", "state", "kind"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_nudges_user_id_state_kind"), table_name="nudges")
