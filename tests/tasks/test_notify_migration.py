"""Migration 0003 (notification): adds the escalation and outbox columns, backfills the first alert
time, and goes back down, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from tasks.db import get_engine
from tests.helpers import columns, migrate

ALERTED = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def test_0003_adds_backfills_and_removes_itscolumns(database: str) -> None:
    migrate("downgrade", "0002")
    assert "escalation_tier" not in columns("incidents") and "not_before" not in columns("notifications")
    with get_engine().begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO incidents (key, brand, category, level, state, heat, trigger_reason, negative_count, reach,"
            " started_at, detected_at, is_drill) VALUES ('INC-1', '澄星', '产品质量', 'II', 'open', 60, 'r', 9, 9,"
            " :at, :at, false)"), {"at": ALERTED})
        for number, minutes in ((1, 0), (2, 5)):
            connection.execute(sa.text(
                "INSERT INTO notifications (incident_id, kind, recipient, dedup_key, subject, body_text, body_html,"
                " status, attempts, message_id, created_at) SELECT id, 'alert', 'a@x.example', :dedup, 's', 't',"
                " 'h', 'sent', 1, 'm', :at FROM incidents"),
                {"dedup": f"alert:INC-1:II:{number}", "at": ALERTED.replace(minute=minutes)})

    migrate("upgrade", "0003")
    with get_engine().connect() as connection:
        tier, alerted = connection.execute(sa.text("SELECT escalation_tier, alerted_at FROM incidents")).one()
    assert tier == 0
    assert str(alerted).startswith("2026-11-27 02:00:00"), "the first alert, not the later one"
    assert {"not_before", "reported_at"} <= columns("notifications")

    migrate("downgrade", "0002")
    assert not {"alerted_at", "escalation_tier"} & columns("incidents")
    assert not {"not_before", "reported_at"} & columns("notifications")
    migrate("upgrade", "head")
    assert "escalation_tier" in columns("incidents")
