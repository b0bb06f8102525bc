"""index the negative mentions no incident holds yet, by brand and time (a partial index): each scan attaches to
every active incident the brand's negative mentions since it started, and without this index that read every
mention of every brand in the span through the (is_drill, published_at) index, for each incident at every scan

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_unattached_negative", "mentions", ["brand", "published_at"], unique=False,
                    sqlite_where=sa.text("negative IS 1 AND incident_id IS NULL"),
                    postgresql_where=sa.text("negative IS true AND incident_id IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_mentions_unattached_negative", table_name="mentions")
