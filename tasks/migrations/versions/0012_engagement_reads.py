"""engagement read by read: a post's repost/comment/like counts each time a read raised them, so triage can
tell how far an older post spread between two reads

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engagement_reads",
        sa.Column("mention_id", sa.Integer(), sa.ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("read_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("reposts", sa.Integer(), nullable=True),
        sa.Column("comments", sa.Integer(), nullable=True),
        sa.Column("likes", sa.Integer(), nullable=True),
    )
    op.create_index("ix_engagement_reads_read_at", "engagement_reads", ["read_at"])


def downgrade() -> None:
    op.drop_index("ix_engagement_reads_read_at", table_name="engagement_reads")
    op.drop_table("engagement_reads")
