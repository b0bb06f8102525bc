"""the claims a negative mention makes about the watched name it names (致癌, 禁用农药, 送医 …), comma-separated
like critical_terms, so the claims rule can count a scare's posts and the reposts that spread it

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN (see 0009): mentions stored before it make no claims until re-analysed.
    with op.batch_alter_table("mentions", recreate="never") as batch:
        batch.add_column(sa.Column("claims", sa.String(length=256), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("mentions", recreate="never") as batch:
        batch.drop_column("claims")
