"""The migrations build exactly the schema the models describe (a model change without its migration fails
here), on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tasks.db import get_engine
from tasks.models import Base


def test_the_migrated_database_matches_the_models(database: str) -> None:
    with get_engine().connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == [], "\n".join(str(d) for d in differences)
