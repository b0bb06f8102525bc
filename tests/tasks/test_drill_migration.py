"""Migration 0007 (drills): existing mentions and detection hits become real (not drill) ones, a drill's
hit can share a real hit's rule and window, and it goes back down, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.helpers import columns, migrate

AT = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
HIT = ("INSERT INTO detection_hits (window_end, rule, brand, category, mode, reason{extra}) "
       "VALUES (:at, 'short_spike', '澄星', '产品质量', 'enforce', 'r'{value})")


def test_0007_keeps_existing_rows_real_and_goes_back_down(database: str) -> None:
    from tasks.db import get_engine

    migrate("downgrade", "0006")
    assert "is_drill" not in columns("mentions") and "drills" not in sa.inspect(get_engine()).get_table_names()
    with get_engine().begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO mentions (source, external_id, reach, published_at, fetched_at, text, content_hash, simhash,"
            " sentiment, negative, critical_terms) VALUES ('weibo', '1', 5, :at, :at, '澄星 炸锅坏了', 'h', '0',"
            " 0.1, true, '')"), {"at": AT})
        connection.execute(sa.text(HIT.format(extra="", value="")), {"at": AT})

    migrate("upgrade", "0007")
    with get_engine().begin() as connection:
        assert connection.execute(sa.text("SELECT is_drill FROM mentions")).scalar_one() in (False, 0)
        assert connection.execute(sa.text("SELECT is_drill FROM detection_hits")).scalar_one() in (False, 0)
        connection.execute(sa.text(HIT.format(extra=", is_drill", value=", true")), {"at": AT})
    with pytest.raises(sa.exc.IntegrityError), get_engine().begin() as connection:
        connection.execute(sa.text(HIT.format(extra=", is_drill", value=", true")), {"at": AT})

    with get_engine().begin() as connection:
        connection.execute(sa.text("DELETE FROM detection_hits WHERE is_drill"))
    migrate("downgrade", "0006")
    assert "is_drill" not in columns("mentions") and "is_drill" not in columns("detection_hits")
    migrate("upgrade", "head")
    assert "drills" in sa.inspect(get_engine()).get_table_names()


MAIL = ("INSERT INTO notifications (incident_id, kind, recipient, dedup_key, subject, body_text, body_html, status,"
        " attempts, message_id, created_at) VALUES ({incident}, 'drill_grade', 'a@x.example', :key, 's', 't', 'h',"
        " 'pending', 0, :key, :at)")


def incident_with_mail(key: str, drill: bool, mail_key: str) -> None:
    """Insert an incident (in the older schema's columns) and one mail that references it."""
    from tasks.db import get_engine

    with get_engine().begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO incidents (key, brand, category, level, state, heat, trigger_reason, negative_count, reach,"
            " started_at, detected_at, escalation_tier, is_drill) VALUES (:key, '青禾', '产品质量',"
            " 'III', 'open', 50, 'r', 0, 0, :at, :at, 0, :drill)"), {"key": key, "at": AT, "drill": drill})
        incident = connection.execute(sa.text("SELECT id FROM incidents WHERE key = :key"), {"key": key}).scalar_one()
        connection.execute(sa.text(MAIL.format(incident=incident)), {"key": mail_key, "at": AT})


def test_0008_lets_mail_belong_to_no_incident_and_goes_back_down(database: str) -> None:
    from tasks.db import get_engine

    migrate("downgrade", "0007")
    incident_with_mail("DRILL-20261127-001", True, "with")
    with pytest.raises(sa.exc.IntegrityError), get_engine().begin() as connection:
        connection.execute(sa.text(MAIL.format(incident="NULL")), {"key": "without", "at": AT})

    migrate("upgrade", "0008")
    with get_engine().begin() as connection:
        connection.execute(sa.text(MAIL.format(incident="NULL")), {"key": "without", "at": AT})
    migrate("downgrade", "0007")
    with get_engine().begin() as connection:
        assert connection.execute(sa.text("SELECT dedup_key FROM notifications")).scalars().all() == ["with"]
    migrate("upgrade", "head")


def test_0009_and_0010_add_reposts_and_resolutions_and_go_back_down_with_rows(database: str) -> None:
    """Rows referencing the incident (a mail) and a mention stay through both migrations, up and down."""
    from tasks.db import get_engine

    migrate("downgrade", "0008")
    incident_with_mail("INC-20261127-001", False, "kept")
    migrate("upgrade", "head")
    assert {"repost_of", "reposts", "comments", "likes"} <= columns("mentions")
    assert {"possible_rumour", "rumour_reason", "resolution", "resolution_note"} <= columns("incidents")
    with get_engine().begin() as connection:
        assert connection.execute(sa.text("SELECT possible_rumour FROM incidents")).scalar_one() in (False, 0)
    migrate("downgrade", "0008")
    assert "repost_of" not in columns("mentions") and "resolution" not in columns("incidents")
    with get_engine().begin() as connection:
        assert connection.execute(sa.text("SELECT dedup_key FROM notifications")).scalars().all() == ["kept"]
    migrate("upgrade", "head")
