"""aftercare: recovery checks and reputation-repair steps

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recovery_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "window_end", name="uq_recovery_checks_window"),
    )
    op.create_index("ix_recovery_checks_incident_id", "recovery_checks", ["incident_id"])
    op.create_table(
        "repair_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.String(length=1024), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "step", name="uq_repair_steps_step"),
    )
    op.create_index("ix_repair_steps_incident_id", "repair_steps", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_repair_steps_incident_id", table_name="repair_steps")
    op.drop_table("repair_steps")
    op.drop_index("ix_recovery_checks_incident_id", table_name="recovery_checks")
    op.drop_table("recovery_checks")
