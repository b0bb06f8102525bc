"""triage: detection hits (enforced, monitored, snoozed), level bookkeeping, metric velocity

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "detection_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "brand", "category", "window_end", name="uq_detection_hits_rule_window"),
    )
    op.create_index("ix_detection_hits_window_end", "detection_hits", ["window_end"])
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("auto_level", sa.String(length=4), nullable=True))
        batch.add_column(sa.Column("affected_orders", sa.Integer(), nullable=True))
    with op.batch_alter_table("incident_metrics") as batch:
        batch.add_column(sa.Column("velocity", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident_metrics") as batch:
        batch.drop_column("velocity")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("affected_orders")
        batch.drop_column("auto_level")
    op.drop_index("ix_detection_hits_window_end", table_name="detection_hits")
    op.drop_table("detection_hits")
