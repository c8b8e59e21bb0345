"""Programme details on user settings: mixed-in tracks, gentle-only, the weaker side.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # Existing rows get the defaults through server defaults, which are then dropped:
    # the application owns its defaults (see bot/db/models.py).
    with op.batch_alter_table("user_settings") as batch:
        batch.add_column(sa.Column("mix", JSON, nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("gentle_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("weaker_side", sa.String(), nullable=True))
    with op.batch_alter_table("user_settings") as batch:
        batch.alter_column("mix", server_default=None)
        batch.alter_column("gentle_only", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("user_settings") as batch:
        batch.drop_column("weaker_side")
        batch.drop_column("gentle_only")
        batch.drop_column("mix")
