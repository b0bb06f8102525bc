"""competitors and reputation: competitor alerts (同类风险预警, one per competitor × category × day) and the
daily reputation indicators per brand

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "competitor_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("competitor", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("product_category", sa.String(64), nullable=False),
        sa.Column("products", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("heat", sa.Float(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("competitor", "category", "day", name="uq_competitor_alerts_day"),
    )
    op.create_table(
        "reputation_daily",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("brand", sa.String(64), primary_key=True),
        sa.Column("competitor", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("product_category", sa.String(64), nullable=True),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("negative_share", sa.Float(), nullable=False),
        sa.Column("net_sentiment", sa.Float(), nullable=False),
        sa.Column("share_of_voice", sa.Float(), nullable=False),
        sa.Column("top_categories", sa.Text(), nullable=False),
        sa.Column("rising_terms", sa.Text(), nullable=False),
        sa.Column("open_incidents", sa.Integer(), nullable=False),
        sa.Column("incident_heat", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reputation_daily")
    op.drop_table("competitor_alerts")
