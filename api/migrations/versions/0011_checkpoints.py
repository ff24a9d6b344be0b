"""checkpoints: the ledger's Merkle tree (filled from the existing entries), signed checkpoints, witness messages

Revision ID: 0011_checkpoints
Revises: 0010_sfu
Create Date: 2026-12-07 15:20:00
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

import ledger.models

revision = '0011_checkpoints'
down_revision = '0010_sfu'
branch_labels = None
depends_on = None

OLD_CHANNELS = "channel IN ('email', 'sms')"
NEW_CHANNELS = "channel IN ('email', 'sms', 'webhook')"
OLD_KINDS = "kind IN ('draw', 'reminder', 'replacement')"
NEW_KINDS = "kind IN ('draw', 'reminder', 'replacement', 'witness')"


def _fill_tree() -> None:
    """Hash the entries already stored into RFC 9162 nodes (the same encoding as ledger.models.entry_bytes)."""
    conn = op.get_bind()
    node = sa.table('ledger_node', sa.column('level', sa.Integer), sa.column('idx', sa.BigInteger),
                    sa.column('hash', sa.String))
    stack: list[tuple[int, bytes]] = []  # (level, hash) of the perfect subtrees so far, left to right
    batch: list[dict[str, object]] = []
    index = 0
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT seq, ts, actor, kind, subject, payload, prev_hash FROM ledger_entry WHERE seq > :last "
            "ORDER BY seq LIMIT 1000"), {"last": last}).all()
        for r in rows:
            data = json.dumps([r.seq, r.ts, r.actor, r.kind, r.subject, r.payload, r.prev_hash],
                              ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            h = hashlib.sha256(b"\x00" + data).digest()
            batch.append({"level": 0, "idx": index, "hash": h.hex()})
            level = 0
            while stack and stack[-1][0] == level:
                h = hashlib.sha256(b"\x01" + stack.pop()[1] + h).digest()
                level += 1
                batch.append({"level": level, "idx": index >> level, "hash": h.hex()})
            stack.append((level, h))
            index += 1
        if batch:
            op.bulk_insert(node, batch)
            batch = []
        if len(rows) < 1000:
            break
        last = rows[-1].seq


def upgrade() -> None:
    op.create_table('ledger_node',
    sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('level', 'idx')
    )
    op.create_table('ledger_checkpoint',
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', ledger.models.UtcTimestamp(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('key_id', sa.String(length=8), nullable=False),
    sa.Column('tsa_time', ledger.models.UtcTimestamp(), nullable=True),
    sa.Column('tsa_error', sa.String(length=300), nullable=True),
    sa.Column('tsa_attempts', sa.Integer(), nullable=False),
    sa.Column('witnessed_at', ledger.models.UtcTimestamp(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tsa_token', sa.Text(), nullable=True),
    sa.CheckConstraint('size >= 0', name='ck_ledger_checkpoint_size'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ledger_checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_checkpoint_size'), ['size'], unique=False)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('ck_notifications_channel', type_='check')
        batch_op.drop_constraint('ck_notifications_kind', type_='check')
        batch_op.create_check_constraint('ck_notifications_channel', NEW_CHANNELS)
        batch_op.create_check_constraint('ck_notifications_kind', NEW_KINDS)
    _fill_tree()


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE channel = 'webhook' OR kind = 'witness'")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('ck_notifications_kind', type_='check')
        batch_op.drop_constraint('ck_notifications_channel', type_='check')
        batch_op.create_check_constraint('ck_notifications_channel', OLD_CHANNELS)
        batch_op.create_check_constraint('ck_notifications_kind', OLD_KINDS)
    with op.batch_alter_table('ledger_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_checkpoint_size'))
    op.drop_table('ledger_checkpoint')
    op.drop_table('ledger_node')
