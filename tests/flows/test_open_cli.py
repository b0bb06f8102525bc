"""`crisis open` against a Prefect server: the incident a person opens is announced at once, as one a rule
opens would be at its scan, and a scan after it announces nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prefect.events.worker import EventsWorker
from typer.testing import CliRunner

from cli.app import app
from tasks.db import session_scope
from tasks.errors import InvalidTransition
from tasks.events import INCIDENT_OPENED
from tasks.incidents.service import announce_pending
from tests.notify_support import incident


def test_a_hand_opened_incident_is_announced_once(sqlite_db: str, events: EventsWorker) -> None:
    done = CliRunner().invoke(app, ["open", "青禾", "--category", "人身安全/食品安全", "--by", "张伟", "--reason",
                                    "记者来电询问青禾牛奶致病传闻", "--now", "2026-11-27T10:07"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "已发出立案事件" in done.output and "下一次扫描" not in done.output
    key = done.output.split("已人工立案 ", 1)[1].split("：", 1)[0]
    assert incident(key).detected_at == datetime(2026, 11, 27, 2, 7, tzinfo=UTC)
    with session_scope() as session:
        assert announce_pending(session) == [], "the next scan has nothing left to announce"
    events.wait_until_empty()
    sent = [e for e in events._client.events if e.event == INCIDENT_OPENED]  # type: ignore[union-attr]
    assert len(sent) == 1 and sent[0].payload["reason"] == "人工立案（张伟）：记者来电询问青禾牛奶致病传闻"


def test_the_open_incident_deployment_opens_announces_and_refuses_like_the_cli(sqlite_db: str,
                                                                              events: EventsWorker) -> None:
    """The Prefect UI's 人工立案 form runs this flow: the same refusals, the same incident, announced at once."""
    from flows.open_incident import open_incident_by_hand

    with pytest.raises(InvalidTransition, match="焰峰 是竞争对手"):
        open_incident_by_hand(brand="焰峰", category="产品质量", opened_by="李娜", reason="竞品出事")
    done = open_incident_by_hand(brand="澄星", category="产品质量", opened_by="李娜", reason="电视台来电核实批量故障",
                                 level="III", now=datetime(2026, 11, 27, 2, 30, tzinfo=UTC))
    key = str(done["incident_key"])
    assert (incident(key).level, incident(key).trigger_reason) == ("III", "人工立案（李娜）：电视台来电核实批量故障")
    events.wait_until_empty()
    assert [e.resource["crisis.incident.key"] for e in events._client.events  # type: ignore[union-attr]
            if e.event == INCIDENT_OPENED] == [key]
