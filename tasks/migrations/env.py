"""Alembic environment: runs on the connection tasks.db hands over (no alembic.ini)."""

from alembic import context

from tasks.db import get_engine
from tasks.models import Base

connection = context.config.attributes.get("connection")


def run() -> None:
    if connection is None:
        with get_engine().begin() as conn:
            context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()


run()
