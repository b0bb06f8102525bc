"""`crisis ack KEY --by NAME`: one acknowledgement, audited and announced; a second is refused by name."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect.events.worker import EventsWorker
from typer.testing import CliRunner

from cli.app import app
from tasks.audit import entries_for
from tasks.db import session_scope
from tasks.events import INCIDENT_ACKNOWLEDGED
from tests.notify_support import incident, make_incident

DETECTED = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def test_ack_records_once_and_refuses_a_second_naming_the_owner(sqlite_db: str, events: EventsWorker) -> None:
    key = make_incident("INC-20261127-001", DETECTED)
    first = CliRunner().invoke(app, ["ack", key, "--by", "李娜", "--note", "公关接手", "--now", "2026-11-27T10:07"])
    assert first.exit_code == 0, first.output
    assert f"{key} 已由 李娜 确认接手" in first.output
    assert incident(key).acknowledged_at == datetime(2026, 11, 27, 2, 7, tzinfo=UTC)

    second = CliRunner().invoke(app, ["ack", key, "--by", "张伟", "--now", "2026-11-27T10:09"])
    assert second.exit_code == 1
    assert "已是「已确认」：确认人 李娜，确认时间 2026-11-27 10:07" in " ".join(second.output.split())
    assert incident(key).acknowledged_by == "李娜"

    events.wait_until_empty()
    sent = [e for e in events._client.events if e.event == INCIDENT_ACKNOWLEDGED]  # type: ignore[union-attr]
    assert [e.payload["via"] for e in sent] == ["cli"]
    with session_scope() as session:
        audited = [e for e in entries_for(session, "incident", key) if e.action == "incident.acknowledged"]
    assert len(audited) == 1 and audited[0].actor == "李娜"
