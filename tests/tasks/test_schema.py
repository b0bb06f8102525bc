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


def test_times_come_back_as_the_same_aware_utc_moment_however_sqlite_holds_the_text(database: str) -> None:
    """What is stored comes back as the same moment in aware UTC: through the ORM, and, on SQLite, from text in
    every form a hand, a migration or another tool may have left (no fraction, a zone, a Z, a T)."""
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import select, text, update

    from tasks.db import session_scope
    from tasks.models import Mention

    at = datetime(2026, 11, 27, 10, 30, 15, 250000, tzinfo=timezone(timedelta(hours=8)))
    with session_scope() as session:
        session.add(Mention(source="s", external_id="1", reach=1, published_at=at, fetched_at=at, text="x",
                            content_hash="h", simhash="0", sentiment=0.5, negative=False))
    with session_scope() as session:
        back = session.scalar(select(Mention.published_at))
    assert back == at and back.tzinfo is UTC and back.hour == 2
    if database != "sqlite":
        return
    forms = {"2026-11-27 02:30:15": datetime(2026, 11, 27, 2, 30, 15, tzinfo=UTC),
             "2026-11-27 02:30:15.250": datetime(2026, 11, 27, 2, 30, 15, 250000, tzinfo=UTC),
             "2026-11-27 10:30:15.250000+08:00": datetime(2026, 11, 27, 2, 30, 15, 250000, tzinfo=UTC),
             "2026-11-27T02:30:15": datetime(2026, 11, 27, 2, 30, 15, tzinfo=UTC)}
    for stored, moment in forms.items():
        with session_scope() as session:
            session.execute(update(Mention).values(published_at=text(":v")).execution_options(synchronize_session=False),
                            {"v": stored})
        with session_scope() as session:
            back = session.scalar(select(Mention.published_at))
        assert back == moment and back.tzinfo is not None and back.utcoffset() == timedelta(0), stored
