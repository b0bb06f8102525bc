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


def test_sqlite_stores_every_time_as_the_utc_text_datetime_writes(sqlite_db: str) -> None:
    """The text SQLite holds is what SQLAlchemy's DateTime writes for the same moment in UTC (six fraction digits,
    no zone): comparisons in SQL are text comparisons, so a row written one way and a bound value the other must
    still order right. A naive time is refused, as before."""
    import random
    from datetime import UTC, datetime, timedelta, timezone

    import pytest
    from sqlalchemy import TypeDecorator, select, text

    from tasks.db import session_scope
    from tasks.models import Mention

    engine = get_engine()
    column_type = Mention.__table__.c.published_at.type.dialect_impl(engine.dialect)
    ours, generic = column_type.bind_processor(engine.dialect), TypeDecorator.bind_processor(column_type, engine.dialect)
    rng = random.Random(3)
    moments = [datetime(2026, 11, 27, 10, 30, tzinfo=timezone(timedelta(hours=8))),  # no fraction: still 6 digits
               datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
               datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))]
    moments += [datetime(rng.randrange(1900, 2100), rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24),
                         rng.randrange(60), rng.randrange(60), rng.choice((0, rng.randrange(10**6))),
                         tzinfo=timezone(timedelta(minutes=rng.randrange(-720, 840)))) for _ in range(2000)]
    assert [ours(m) for m in moments] == [generic(m) for m in moments]
    with session_scope() as session:
        session.add(Mention(source="s", external_id="1", reach=1, published_at=moments[0], fetched_at=moments[1],
                            text="x", content_hash="h", simhash="0", sentiment=0.5, negative=False))
    with session_scope() as session:
        stored = session.execute(text("SELECT published_at, fetched_at FROM mentions")).one()
        assert tuple(stored) == ("2026-11-27 02:30:00.000000", "2026-01-01 00:00:00.000001")
        assert session.scalar(select(Mention.external_id).where(Mention.published_at > moments[1])) == "1"
    with pytest.raises(ValueError, match="naive datetime"):
        ours(datetime(2026, 11, 27, 10, 30))
