"""drills: mentions of a drill source stay apart from real ones; one row per drill with its grade

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("is_drill", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_mentions_drill_published", "mentions", ["is_drill", "published_at"])
    with op.batch_alter_table("detection_hits") as batch:
        batch.add_column(sa.Column("is_drill", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.drop_constraint("uq_detection_hits_rule_window", type_="unique")
        batch.create_unique_constraint("uq_detection_hits_rule_window",
                                       ["rule", "brand", "category", "window_end", "is_drill"])
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("expected_level", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("crisis_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grade_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("grade", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drills_status", "drills", ["status"])


def downgrade() -> None:
    op.drop_index("ix_drills_status", table_name="drills")
    op.drop_table("drills")
    with op.batch_alter_table("detection_hits") as batch:
        batch.drop_constraint("uq_detection_hits_rule_window", type_="unique")
        batch.create_unique_constraint("uq_detection_hits_rule_window", ["rule", "brand", "category", "window_end"])
        batch.drop_column("is_drill")
    op.drop_index("ix_mentions_drill_published", table_name="mentions")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("is_drill")
