"""reposts and engagement: a mention may repost (or quote) another post, and carries the engagement counts
its platform reported at the last read; a mention that debunks a story (造谣, 辟谣 …) is marked

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN: batch mode would rebuild the table on SQLite, which fails while other
    # tables' rows reference it.
    with op.batch_alter_table("mentions", recreate="never") as batch:
        batch.add_column(sa.Column("repost_of", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("reposts", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("comments", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("likes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("debunk", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_mentions_source_repost_of", ["source", "repost_of"])


def downgrade() -> None:
    with op.batch_alter_table("mentions", recreate="never") as batch:
        batch.drop_index("ix_mentions_source_repost_of")
        for column in ("debunk", "likes", "comments", "reposts", "repost_of"):
            batch.drop_column(column)
