"""Migration 0004 (source state, health, processed files, duplicate links) goes down and up again on
SQLite and PostgreSQL, keeping the mentions; progress and health are saved the way a scan saves them."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from prefect.logging import disable_run_logger

from tasks.db import alembic_config, get_engine, session_scope, upgrade_database
from tasks.models import ProcessedFile, SourceState
from tasks.monitoring import repository
from tasks.monitoring.health import SourceOutcome
from tasks.monitoring.sources import FileMark, RawMention, SourceProgress
from tasks.monitoring.tasks import analyse_mentions, save_source_progress, store_mentions

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
TABLES = {"source_state", "source_health", "processed_files"}


def _downgrade(revision: str) -> None:
    config = alembic_config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_migration_0004_goes_down_and_up_keeping_mentions(database: str) -> None:
    with disable_run_logger():
        store_mentions.fn(analyse_mentions.fn([RawMention("weibo", "1", "澄星炸锅坏了", NOW)], NOW))
    _downgrade("0003")
    inspector = sa.inspect(get_engine())
    assert not TABLES & set(inspector.get_table_names())
    assert "duplicate_of_id" not in {c["name"] for c in inspector.get_columns("mentions")}
    upgrade_database()
    inspector = sa.inspect(get_engine())
    assert TABLES <= set(inspector.get_table_names())
    assert "duplicate_of_id" in {c["name"] for c in inspector.get_columns("mentions")}
    with get_engine().connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM mentions")).scalar() == 1


def test_progress_files_and_health_are_saved_and_a_resave_changes_nothing(database: str) -> None:
    mark = FileMark("/var/inbox/a.csv", 10, 1, "ab" * 32, 3, 1)
    outcomes = [SourceOutcome("weibo", "http", progress=SourceProgress(cursor="c25", watermark="w"), mentions=25),
                SourceOutcome("inbox", "file", mentions=3, problems=1, files=(mark,)),
                SourceOutcome("broken", "http", error="broken: page 1: HTTP 401 Unauthorized")]
    with disable_run_logger():
        for _ in range(2):
            save_source_progress.fn(outcomes, NOW)
    with session_scope() as session:
        assert repository.load_progress(session, "weibo") == SourceProgress(cursor="c25", watermark="w")
        assert session.get(SourceState, "inbox") is None
        assert session.scalar(sa.select(sa.func.count(ProcessedFile.id))) == 1
        health = repository.stored_health(session)
    assert {name: (h["status"], h["consecutive_failures"]) for name, h in health.items()} == {
        "weibo": ("ok", 0), "inbox": ("partial", 0), "broken": ("failing", 2)}
