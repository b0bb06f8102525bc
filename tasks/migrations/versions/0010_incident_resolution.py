"""rumours and false alarms: an incident may be marked a possible rumour (with why), and be closed as
unfounded (谣言, handled by 辟谣) or a false alarm (误报)

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN: batch mode would rebuild the table on SQLite, which fails while other
    # tables' rows reference it.
    with op.batch_alter_table("incidents", recreate="never") as batch:
        batch.add_column(sa.Column("possible_rumour", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("rumour_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("resolution", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("resolution_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents", recreate="never") as batch:
        for column in ("resolution_note", "resolution", "rumour_reason", "possible_rumour"):
            batch.drop_column(column)
