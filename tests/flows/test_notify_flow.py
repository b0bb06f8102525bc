"""The notify and acknowledge flows against the flow tests' Prefect server: the sweep escalates, the run fails when
an address is rejected, the acknowledge flow records once and announces it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from markdown_it import MarkdownIt
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.events.worker import EventsWorker

from config.files import clear_caches
from flows.acknowledge import acknowledge_incident
from flows.notify import notify
from tasks.db import session_scope
from tasks.events import INCIDENT_ACKNOWLEDGED
from tasks.incidents.repository import get_incident
from tests.helpers import free_port, read_mail
from tests.notify_support import PickyHandler, emails_of, incident, make_incident, matrix_emails, outbox

DAY = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
HOSTILE = "真垃圾<script>alert(1)</script> [点我](javascript:alert(1))\r\n# 标题 | 列"


def test_the_sweep_escalates_an_unacknowledged_incident_once_per_step(sqlite_db: str, smtp_sink: Path) -> None:
    key = make_incident("INC-20261127-001", DAY, level="II", posts=[(HOSTILE, "https://weibo.example/1")])
    first = notify(incident_key=key, now=DAY)
    assert first["queued"] == len(read_mail(smtp_sink)) == first["sent"] > 0

    assert notify(now=DAY + timedelta(minutes=29))["escalated"] == []
    swept = notify(now=DAY + timedelta(minutes=30))
    assert [(s["incident_key"], s["tier"]) for s in swept["escalated"]] == [(key, 1)]
    tier_one = [m for m in read_mail(smtp_sink) if "升级至第1梯队" in m["Subject"]]
    assert {m["X-Envelope-To"] for m in tier_one} == matrix_emails("II", "产品质量") | emails_of(
        "周强", "吴敏", "黄蕾", "孙浩")
    again = notify(now=DAY + timedelta(minutes=31))
    assert again["escalated"] == [] and again["sent"] == 0

    with get_client(sync_client=True) as client:
        versions = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"mail-{key.lower()}"])))
    latest = max(versions, key=lambda a: a.created)
    html = MarkdownIt("commonmark").enable("table").render(str(latest.data))
    assert "&lt;script&gt;" in html and "<script" not in html and "<a " not in html and "<h1>" not in html
    assert html.count("<td>escalation</td>") == len(tier_one)


def test_a_rejected_address_ends_the_run_failed_and_is_reported_once(
    sqlite_db: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    (unknown,) = emails_of("刘洋")
    controller = Controller(PickyHandler(var_dir / "mail", {unknown}, set(), set()), hostname="127.0.0.1",
                            port=port)
    controller.start()
    monkeypatch.setenv("CRISIS_EMAIL__PORT", str(port))
    clear_caches()
    try:
        key = make_incident("INC-20261127-001", DAY, level="III")
        state = notify(incident_key=key, now=DAY, return_state=True)
        assert state.is_failed() and f"{unknown}（alert）" in str(state.message)
        later = notify(now=DAY + timedelta(minutes=5))
    finally:
        controller.stop()
    assert later["sent"] == 2, "the notice to the scribe and commander goes out with the next sweep"
    notices = [m for m in read_mail(var_dir / "mail") if "无法送达" in m["Subject"]]
    assert {m["X-Envelope-To"] for m in notices} == emails_of("赵磊", "张伟") - {unknown}
    assert [n.attempts for n in outbox(key) if n.recipient == unknown] == [1]


def test_the_acknowledge_flow_records_once_and_announces_it_after_the_opening(
    sqlite_db: str, events: EventsWorker
) -> None:
    key = make_incident("INC-20261127-001", DAY)
    opened_id = "0b0e6f2e-6d1f-4b43-9b0a-6a4a5d8c0f11"
    with session_scope() as session:
        found = get_incident(session, key)
        found.opened_event_id, found.opened_event_at = opened_id, datetime.now(UTC) - timedelta(minutes=1)

    first = acknowledge_incident(incident_key=key, by="李娜", note="公关接手", now=DAY + timedelta(minutes=8))
    assert first == {"incident_key": key, "acknowledged_by": "李娜", "recorded": True}
    second = acknowledge_incident(incident_key=key, now=DAY + timedelta(minutes=9))
    assert second == {"incident_key": key, "acknowledged_by": "李娜", "recorded": False}, "no form: it is owned"
    assert incident(key).acknowledged_at == DAY + timedelta(minutes=8)

    events.wait_until_empty()
    acknowledged = [e for e in events._client.events if e.event == INCIDENT_ACKNOWLEDGED]  # type: ignore[union-attr]
    assert len(acknowledged) == 1
    assert str(acknowledged[0].follows) == opened_id
    assert acknowledged[0].payload == {"by": "李娜", "note": "公关接手", "via": "prefect-ui"}
    assert acknowledged[0].resource["crisis.incident.key"] == key
