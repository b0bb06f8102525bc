"""mail without an incident: the scorecard of a drill that never opened one still goes out

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # A message that belongs to no incident cannot stay in the older schema.
    op.execute("DELETE FROM notifications WHERE incident_id IS NULL")
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=False)
