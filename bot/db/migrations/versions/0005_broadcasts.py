"""Broadcasts: an operator's message to every active user, queued as rows in `nudges`.

`nudges.kind` and the new `broadcasts.state` are plain VARCHAR(32) columns with no CHECK
(see bot/db/types.py string_enum), so the new kind "broadcast" needs no enum change.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", KEY, nullable=False),
        sa.Column("admin_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("queued_at", _utc(), nullable=True),
        sa.Column("queued_up_to", sa.BigInteger(), nullable=True),
        sa.Column("next_due_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    # On SQLite the batch rebuilds `nudges` (the only way to add a foreign key there).
    with op.batch_alter_table("nudges") as batch:
        batch.add_column(sa.Column("broadcast_id", sa.BigInteger(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_nudges_broadcast_id_broadcasts"),
            "broadcasts",
            ["broadcast_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(
            op.f("ix_nudges_broadcast_id_user_id"), ["broadcast_id", "user_id"], unique=True
        )


def downgrade() -> None:
    # Broadcast rows have no meaning without their broadcast: remove them first.
    op.execute("DELETE FROM nudges WHERE kind = 'broadcast'")
    with op.batch_alter_table("nudges") as batch:
        batch.drop_index(op.f("ix_nudges_broadcast_id_user_id"))
        batch.drop_constraint(op.f("fk_nudges_broadcast_id_broadcasts"), type_="foreignkey")
        batch.drop_column("broadcast_id")
    op.drop_table("broadcasts")
