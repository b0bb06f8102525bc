"""monitoring: source state, health and near-duplicate links

Revision ID: 0004
Revises: 0003

source_state (cursor / watermark / feed validators per source), source_health (what operators see per
source), processed_files (drop files read once, by path, size, mtime and SHA-256) and
mentions.duplicate_of_id (a repost or near-duplicate points at the earlier mention it repeats).
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_state",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("watermark", sa.Text(), nullable=True),
        sa.Column("etag", sa.String(length=512), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "source_health",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_count", sa.Integer(), nullable=False),
        sa.Column("last_problems", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "processed_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "sha256", name="uq_processed_files_source_sha256"),
    )
    with op.batch_alter_table("processed_files", schema=None) as batch_op:
        batch_op.create_index("ix_processed_files_source_path", ["source", "path"], unique=False)
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_mentions_duplicate_of_id", "mentions", ["duplicate_of_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_mentions_duplicate_of_id"), ["duplicate_of_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mentions_duplicate_of_id"))
        batch_op.drop_constraint("fk_mentions_duplicate_of_id", type_="foreignkey")
        batch_op.drop_column("duplicate_of_id")
    with op.batch_alter_table("processed_files", schema=None) as batch_op:
        batch_op.drop_index("ix_processed_files_source_path")
    op.drop_table("processed_files")
    op.drop_table("source_health")
    op.drop_table("source_state")
