"""notification: escalation tiers, acknowledgements and reminders

Revision ID: 0003
Revises: 0002

incidents.alerted_at (when the first alert was queued; escalation and status updates count
from it) and incidents.escalation_tier (tiers told so far); notifications.not_before (held for
quiet hours) and notifications.reported_at (a permanent failure reported once). Incidents
alerted before this revision get alerted_at from their first alert in the outbox.
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalation_tier", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE incidents SET alerted_at = (SELECT min(n.created_at) FROM notifications n "
        "WHERE n.incident_id = incidents.id AND n.kind = 'alert')"
    )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+) instead of copying the table: a copy of `incidents`
    # would have to drop the original, which the foreign keys of mentions and the outbox refuse.
    with op.batch_alter_table("notifications", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("reported_at")
        batch_op.drop_column("not_before")
    with op.batch_alter_table("incidents", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("escalation_tier")
        batch_op.drop_column("alerted_at")
