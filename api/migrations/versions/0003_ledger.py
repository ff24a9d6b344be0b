"""ledger: the hash-chained audit ledger

Revision ID: 0003_ledger
Revises: 0002_scheduler
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ledger.models

revision = "0003_ledger"
down_revision = "0002_scheduler"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_entry",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ts", ledger.models.UtcTimestamp(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.CheckConstraint("seq >= 1", name="ck_ledger_entry_seq_positive"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entry_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entry_seq"), ["seq"], unique=True)
        batch_op.create_index(batch_op.f("ix_ledger_entry_subject"), ["subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entry_subject"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_seq"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_kind"))

    op.drop_table("ledger_entry")
