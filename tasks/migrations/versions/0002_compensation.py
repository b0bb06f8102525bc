"""compensation: approval, customer slots and batch decisions

Revision ID: 0002
Revises: 0001

Ledger items get a customer slot (`c:<customer>` under a one-per-customer policy, else `o:<order>`)
unique per incident, so two runs at once can never pay one customer twice; rows written before this
revision get `o:<order>` (unique already). Batches record their plan, the approval decision and points.
The ledger's batch_id index goes: it cost a third of the write time of a million-row batch.
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

def _batch_columns() -> list[sa.Column]:
    return [
        sa.Column("orders_format", sa.String(length=16), nullable=True),
        sa.Column("planned_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("planned_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("planned_points", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("customer_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("points", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("approval", sa.String(length=16), server_default="not_required", nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("compensation_batches", schema=None) as batch_op:
        for column in _batch_columns():
            batch_op.add_column(column)
    with op.batch_alter_table("compensation_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_slot", sa.String(length=96), nullable=True))
        batch_op.add_column(sa.Column("points", sa.BigInteger(), server_default="0", nullable=False))
    op.execute("UPDATE compensation_items SET customer_slot = 'o:' || order_id")
    with op.batch_alter_table("compensation_items", schema=None) as batch_op:
        batch_op.alter_column("customer_slot", existing_type=sa.String(length=96), nullable=False)
        batch_op.create_unique_constraint("uq_compensation_items_slot", ["incident_id", "customer_slot"])
        # A batch's rows are found through the incident prefix of the unique keys; this index cost a third
        # of the ledger's write time at a million rows.
        batch_op.drop_index("ix_compensation_items_batch_id")


def downgrade() -> None:
    with op.batch_alter_table("compensation_items", schema=None) as batch_op:
        batch_op.create_index("ix_compensation_items_batch_id", ["batch_id"], unique=False)
        batch_op.drop_constraint("uq_compensation_items_slot", type_="unique")
        batch_op.drop_column("points")
        batch_op.drop_column("customer_slot")
    # Dropped in place (SQLite ≥ 3.35): recreating the table would drop the one the ledger refers to.
    with op.batch_alter_table("compensation_batches", schema=None, recreate="never") as batch_op:
        for column in reversed(_batch_columns()):
            batch_op.drop_column(column.name)
