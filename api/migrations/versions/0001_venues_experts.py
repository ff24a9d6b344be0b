"""venues and experts: sites, rooms, the expert pool

Revision ID: 0001_venues_experts
Revises: -
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001_venues_experts"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisations_code"), ["code"], unique=True)

    op.create_table(
        "sites",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('main_centre', 'sub_centre', 'centre', 'partner')", name="ck_sites_kind"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sites_code"), ["code"], unique=True)

    op.create_table(
        "committees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("tenderer_id", sa.Integer(), nullable=True),
        sa.Column("start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenderer_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("committees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_committees_code"), ["code"], unique=True)
        batch_op.create_index("ix_committees_start", ["start"], unique=False)
        batch_op.create_index(batch_op.f("ix_committees_tenderer_id"), ["tenderer_id"], unique=False)

    op.create_table(
        "experts",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("employer_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('active', 'suspended', 'removed', 'blacklisted')", name="ck_experts_status"),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_number"),
    )
    with op.batch_alter_table("experts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_experts_code"), ["code"], unique=True)
        batch_op.create_index(batch_op.f("ix_experts_employer_id"), ["employer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_experts_status"), ["status"], unique=False)

    op.create_table(
        "rooms",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("seats >= 0", name="ck_rooms_seats"),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rooms_code"), ["code"], unique=True)
        batch_op.create_index(batch_op.f("ix_rooms_site_id"), ["site_id"], unique=False)

    op.create_table(
        "committee_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("committee_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["committee_id"], ["committees.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["experts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("committee_id", "expert_id", name="uq_committee_members"),
    )
    with op.batch_alter_table("committee_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_committee_members_committee_id"), ["committee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_committee_members_expert_id"), ["expert_id"], unique=False)

    op.create_table(
        "expert_bookings",
        sa.Column("start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("expert_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_bookings_expert_id"), ["expert_id"], unique=False)

    op.create_table(
        "expert_leaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=False),
        sa.CheckConstraint("to_date >= from_date", name="ck_expert_leaves_order"),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("expert_leaves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_leaves_expert_id"), ["expert_id"], unique=False)

    op.create_table(
        "expert_penalties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("expert_penalties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_penalties_expert_id"), ["expert_id"], unique=False)

    op.create_table(
        "expert_relations",
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=True),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('former_employment', 'director', 'shareholder', 'relative', 'legal_dispute', 'avoid')",
            name="ck_expert_relations_kind",
        ),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("expert_relations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_relations_expert_id"), ["expert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expert_relations_org_id"), ["org_id"], unique=False)

    op.create_table(
        "expert_specialties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("expert_id", "code", name="uq_expert_specialties"),
    )
    with op.batch_alter_table("expert_specialties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_specialties_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_expert_specialties_expert_id"), ["expert_id"], unique=False)

    op.create_table(
        "room_bookings",
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("room_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_bookings_room_id"), ["room_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("room_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_bookings_room_id"))

    op.drop_table("room_bookings")
    with op.batch_alter_table("expert_specialties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_specialties_expert_id"))
        batch_op.drop_index(batch_op.f("ix_expert_specialties_code"))

    op.drop_table("expert_specialties")
    with op.batch_alter_table("expert_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_relations_org_id"))
        batch_op.drop_index(batch_op.f("ix_expert_relations_expert_id"))

    op.drop_table("expert_relations")
    with op.batch_alter_table("expert_penalties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_penalties_expert_id"))

    op.drop_table("expert_penalties")
    with op.batch_alter_table("expert_leaves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_leaves_expert_id"))

    op.drop_table("expert_leaves")
    with op.batch_alter_table("expert_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_bookings_expert_id"))

    op.drop_table("expert_bookings")
    with op.batch_alter_table("committee_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_committee_members_expert_id"))
        batch_op.drop_index(batch_op.f("ix_committee_members_committee_id"))

    op.drop_table("committee_members")
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rooms_site_id"))
        batch_op.drop_index(batch_op.f("ix_rooms_code"))

    op.drop_table("rooms")
    with op.batch_alter_table("experts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experts_status"))
        batch_op.drop_index(batch_op.f("ix_experts_employer_id"))
        batch_op.drop_index(batch_op.f("ix_experts_code"))

    op.drop_table("experts")
    with op.batch_alter_table("committees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_committees_tenderer_id"))
        batch_op.drop_index("ix_committees_start")
        batch_op.drop_index(batch_op.f("ix_committees_code"))

    op.drop_table("committees")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sites_code"))

    op.drop_table("sites")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_code"))

    op.drop_table("organisations")
