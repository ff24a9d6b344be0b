"""scheduler: projects, draws, seats, replacements

Revision ID: 0002_scheduler
Revises: 0001_venues_experts
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002_scheduler"
down_revision = "0001_venues_experts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draws",
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("seed_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("instance_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("software", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seed_hex", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column("result_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sealed_result", sa.LargeBinary(), nullable=True),
        sa.Column("public_summary", sa.Text(), nullable=False),
        sa.CheckConstraint("status IN ('committed', 'drawn', 'revealed')", name="ck_draws_status"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draws_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_draws_status"), ["status"], unique=False)

    op.create_table(
        "projects",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("procedure", sa.String(length=24), nullable=False),
        sa.Column("budget", sa.Float(), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("representatives", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenderer_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("main_site_id", sa.Integer(), nullable=False),
        sa.Column("aux_mode", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint("aux_mode IN ('random', 'fixed')", name="ck_projects_aux_mode"),
        sa.CheckConstraint(
            "procedure IN ('engineering_tender', 'gp_tender', 'gp_negotiation')", name="ck_projects_procedure"
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["main_site_id"],
            ["sites.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenderer_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_code"), ["code"], unique=True)
        batch_op.create_index(batch_op.f("ix_projects_main_site_id"), ["main_site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_start"), ["start"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_tenderer_id"), ["tenderer_id"], unique=False)

    op.create_table(
        "draw_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sampling", sa.String(length=16), nullable=True),
        sa.Column("aux_sites", sa.JSON(), nullable=True),
        sa.Column("seat_counts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("draw_id", "project_id", name="uq_draw_projects"),
    )
    with op.batch_alter_table("draw_projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draw_projects_draw_id"), ["draw_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_draw_projects_project_id"), ["project_id"], unique=False)

    op.create_table(
        "project_aux_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "site_id", name="uq_project_aux_sites"),
    )
    with op.batch_alter_table("project_aux_sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_aux_sites_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_project_aux_sites_site_id"), ["site_id"], unique=False)

    op.create_table(
        "project_bidders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "org_id", name="uq_project_bidders"),
    )
    with op.batch_alter_table("project_bidders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_bidders_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_project_bidders_project_id"), ["project_id"], unique=False)

    op.create_table(
        "project_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["experts.id"],
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "expert_id", name="uq_project_exclusions"),
    )
    with op.batch_alter_table("project_exclusions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_exclusions_expert_id"), ["expert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_project_exclusions_project_id"), ["project_id"], unique=False)

    op.create_table(
        "project_needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("specialty", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "specialty", name="uq_project_needs"),
    )
    with op.batch_alter_table("project_needs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_needs_project_id"), ["project_id"], unique=False)

    op.create_table(
        "project_supervisor_orgs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "org_id", name="uq_project_supervisor_orgs"),
    )
    with op.batch_alter_table("project_supervisor_orgs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_supervisor_orgs_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_project_supervisor_orgs_project_id"), ["project_id"], unique=False)

    op.create_table(
        "replacements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=True),
        sa.Column("need", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("replaced_expert_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("new_expert_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"],
            ["draws.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("replacements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replacements_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_replacements_draw_id"), ["draw_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_replacements_project_id"), ["project_id"], unique=False)

    op.create_table(
        "seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("need", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("expert_sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("seats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seats_draw_id"), ["draw_id"], unique=False)
        batch_op.create_index("ix_seats_draw_project", ["draw_id", "project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_seats_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_seats_room_id"), ["room_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_seats_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("seats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seats_site_id"))
        batch_op.drop_index(batch_op.f("ix_seats_room_id"))
        batch_op.drop_index(batch_op.f("ix_seats_project_id"))
        batch_op.drop_index("ix_seats_draw_project")
        batch_op.drop_index(batch_op.f("ix_seats_draw_id"))

    op.drop_table("seats")
    with op.batch_alter_table("replacements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replacements_project_id"))
        batch_op.drop_index(batch_op.f("ix_replacements_draw_id"))
        batch_op.drop_index(batch_op.f("ix_replacements_at"))

    op.drop_table("replacements")
    with op.batch_alter_table("project_supervisor_orgs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_supervisor_orgs_project_id"))
        batch_op.drop_index(batch_op.f("ix_project_supervisor_orgs_org_id"))

    op.drop_table("project_supervisor_orgs")
    with op.batch_alter_table("project_needs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_needs_project_id"))

    op.drop_table("project_needs")
    with op.batch_alter_table("project_exclusions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_exclusions_project_id"))
        batch_op.drop_index(batch_op.f("ix_project_exclusions_expert_id"))

    op.drop_table("project_exclusions")
    with op.batch_alter_table("project_bidders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_bidders_project_id"))
        batch_op.drop_index(batch_op.f("ix_project_bidders_org_id"))

    op.drop_table("project_bidders")
    with op.batch_alter_table("project_aux_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_aux_sites_site_id"))
        batch_op.drop_index(batch_op.f("ix_project_aux_sites_project_id"))

    op.drop_table("project_aux_sites")
    with op.batch_alter_table("draw_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draw_projects_project_id"))
        batch_op.drop_index(batch_op.f("ix_draw_projects_draw_id"))

    op.drop_table("draw_projects")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_tenderer_id"))
        batch_op.drop_index(batch_op.f("ix_projects_status"))
        batch_op.drop_index(batch_op.f("ix_projects_start"))
        batch_op.drop_index(batch_op.f("ix_projects_main_site_id"))
        batch_op.drop_index(batch_op.f("ix_projects_code"))
        batch_op.drop_index(batch_op.f("ix_projects_agent_id"))

    op.drop_table("projects")
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draws_status"))
        batch_op.drop_index(batch_op.f("ix_draws_created_at"))

    op.drop_table("draws")
