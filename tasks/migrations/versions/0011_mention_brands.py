"""several brands in one post: every watched brand or product a mention names beyond its first
(mentions.brand) gets a row, so the post counts for each of them

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mention_brands",
        sa.Column("mention_id", sa.Integer(), sa.ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("brand", sa.String(length=64), primary_key=True),
        sa.Column("product", sa.String(length=128), nullable=True),
    )
    op.create_index("ix_mention_brands_brand", "mention_brands", ["brand"])


def downgrade() -> None:
    op.drop_index("ix_mention_brands_brand", table_name="mention_brands")
    op.drop_table("mention_brands")
