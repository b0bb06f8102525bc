"""Escalation, quiet hours, status updates and acknowledgement as database facts (tasks/notify/chase.py,
tasks/notify/tasks.py), on SQLite and PostgreSQL, with time as a parameter."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefect.logging import disable_run_logger

from tasks.audit import entries_for, verify_chain
from tasks.db import session_scope
from tasks.incidents.repository import get_incident
from tasks.incidents.service import transition
from tasks.incidents.state import IncidentState
from tasks.notify.chase import escalate_overdue, remind_status_updates
from tasks.notify.tasks import AlreadyAcknowledged, acknowledge, deliver_outbox, queue_alerts
from tests.helpers import read_mail, text_part
from tests.notify_support import emails_of, incident, make_incident, matrix_emails, outbox

DAY = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NIGHT = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # 02:00 in Shanghai, inside 23:00–07:00
MORNING = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # 07:00 in Shanghai, when the quiet hours end


@pytest.fixture(autouse=True)
def _no_run_logger() -> Iterator[None]:
    with disable_run_logger():
        yield


def _recipients(key: str, kind: str, tier: int | None = None) -> set[str]:
    marker = f"{kind}:{key}:{tier}:" if tier is not None else f"{kind}:{key}:"
    return {n.recipient for n in outbox(key) if n.dedup_key.startswith(marker)}


def test_nobody_acknowledges_and_each_tier_is_told_once_in_turn(database: str) -> None:
    key = make_incident("INC-20261127-001", DAY, level="II")
    queue_alerts.fn(key, DAY, "test")
    told = matrix_emails("II", "产品质量")

    assert escalate_overdue.fn(DAY + timedelta(minutes=29), "test") == []
    assert [s["tier"] for s in escalate_overdue.fn(DAY + timedelta(minutes=30), "test")] == [1]
    assert _recipients(key, "escalation", 1) == told | emails_of("周强", "吴敏", "黄蕾", "孙浩")
    assert escalate_overdue.fn(DAY + timedelta(minutes=31), "test") == [], "a step is taken once"
    assert [s["tier"] for s in escalate_overdue.fn(DAY + timedelta(minutes=60), "test")] == [2]
    assert _recipients(key, "escalation", 2) == told | emails_of("钱进")
    assert [s["tier"] for s in escalate_overdue.fn(DAY + timedelta(minutes=95), "test")] == [3]
    assert _recipients(key, "escalation", 3) == told | emails_of("马明")
    assert escalate_overdue.fn(DAY + timedelta(hours=9), "test") == [], "nothing after the last tier"
    assert incident(key).escalation_tier == 3
    with session_scope() as session:
        steps = [e for e in entries_for(session, "incident", key) if e.action == "notification.escalated"]
        assert len(steps) == 3 and verify_chain(session).ok


def test_a_late_sweep_catches_up_in_one_step(database: str) -> None:
    key = make_incident("INC-20261127-001", DAY, level="I")
    queue_alerts.fn(key, DAY, "test")
    assert [s["tier"] for s in escalate_overdue.fn(DAY + timedelta(minutes=25), "test")] == [2]
    assert _recipients(key, "escalation", 2) >= emails_of("周强", "钱进")
    assert not _recipients(key, "escalation", 1), "one mail per person for the step, not one per tier"


def _take(key: str, by: str, at: datetime) -> None:
    with session_scope() as session:
        transition(session, get_incident(session, key), IncidentState.ACKNOWLEDGED, actor=by, at=at,
                   acknowledged_by=by, owner=by)


def test_an_acknowledged_incident_is_not_escalated(database: str) -> None:
    key = make_incident("INC-20261127-001", DAY, level="I")
    queue_alerts.fn(key, DAY, "test")
    _take(key, "李娜", DAY + timedelta(minutes=9))
    assert escalate_overdue.fn(DAY + timedelta(hours=2), "test") == []
    assert not _recipients(key, "escalation") and incident(key).escalation_tier == 0


def test_a_second_acknowledgement_is_refused_naming_the_owner(database: str) -> None:
    key = make_incident("INC-20261127-001", DAY)
    _take(key, "李娜", DAY + timedelta(minutes=9))
    with pytest.raises(AlreadyAcknowledged, match="确认人 李娜"):
        acknowledge(key, "张伟", "", DAY + timedelta(minutes=10))
    assert acknowledge(key, "张伟", "", DAY + timedelta(minutes=10), if_open=True) is False
    assert incident(key).acknowledged_by == "李娜"


def test_concurrent_sweeps_take_each_step_once(database: str) -> None:
    keys = [make_incident(f"INC-20261127-00{n}", DAY, brand=f"品牌{n}", level="II") for n in range(1, 4)]
    for key in keys:
        queue_alerts.fn(key, DAY, "test")
    results: list[list[dict[str, object]]] = []
    barrier = threading.Barrier(4)

    def sweep() -> None:
        barrier.wait()
        with disable_run_logger():
            results.append(escalate_overdue.fn(DAY + timedelta(minutes=30), "test"))

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = sorted(str(step["incident_key"]) for result in results for step in result)
    assert taken == keys, "three incidents, one step each, whichever sweep took it"
    for key in keys:
        assert incident(key).escalation_tier == 1
        assert len([n for n in outbox(key) if n.kind == "escalation"]) == len(_recipients(key, "escalation", 1))


def test_quiet_hours_send_to_the_deputy_and_level_i_wakes_everyone(database: str) -> None:
    leak = make_incident("INC-20261127-001", NIGHT, category="个人信息泄露", level="III")
    queue_alerts.fn(leak, NIGHT, "test")
    alerts = {n.recipient: n for n in outbox(leak) if n.kind == "alert"}
    assert emails_of("郑洁") <= set(alerts) and not emails_of("王芳") & set(alerts), "legal's deputy, at once"
    assert all(n.not_before is None for n in alerts.values())
    assert "王芳 正处于免打扰时段" in alerts[next(iter(emails_of("郑洁")))].body_text

    severe = make_incident("INC-20261127-002", NIGHT, brand="青禾", category="个人信息泄露", level="I")
    queue_alerts.fn(severe, NIGHT, "test")
    assert emails_of("王芳", "张伟") <= _recipients(severe, "alert")
    assert all(n.not_before is None for n in outbox(severe))


def test_mail_for_someone_asleep_without_a_deputy_waits_until_the_quiet_hours_end(
    database: str, smtp_sink: Path
) -> None:
    key = make_incident("INC-20261127-001", NIGHT - timedelta(hours=1), level="II")
    queue_alerts.fn(key, NIGHT - timedelta(hours=1), "test")
    escalate_overdue.fn(NIGHT, "test")  # two periods: tier 2, the vice-president, asleep, no deputy
    held = [n for n in outbox(key) if n.recipient in emails_of("钱进")]
    assert len(held) == 1 and held[0].not_before == MORNING
    deliver_outbox.fn(NIGHT)
    assert emails_of("钱进").isdisjoint(m["X-Envelope-To"] for m in read_mail(smtp_sink))
    deliver_outbox.fn(MORNING)
    woke = [m for m in read_mail(smtp_sink) if m["X-Envelope-To"] in emails_of("钱进")]
    assert len(woke) == 1 and "无人确认，升级至第2梯队" in woke[0]["Subject"]
    assert "已 60 分钟无人确认接手" in text_part(woke[0], "plain")


def test_status_updates_follow_the_level_interval_while_the_incident_is_handled(database: str) -> None:
    key = make_incident("INC-20261127-001", DAY, level="II")
    queue_alerts.fn(key, DAY, "test")
    assert remind_status_updates.fn(DAY + timedelta(hours=3), "test") == [], "nobody owns it yet: escalation chases"
    _take(key, "李娜", DAY + timedelta(minutes=20))
    assert remind_status_updates.fn(DAY + timedelta(minutes=119), "test") == []
    assert remind_status_updates.fn(DAY + timedelta(minutes=120), "test") == [key]
    assert remind_status_updates.fn(DAY + timedelta(minutes=150), "test") == [], "step 1 once"
    with session_scope() as session:
        transition(session, get_incident(session, key), IncidentState.RESPONDING, actor="李娜",
                   at=DAY + timedelta(minutes=200))
    assert remind_status_updates.fn(DAY + timedelta(minutes=240), "test") == [key]
    status = [n for n in outbox(key) if n.kind == "status"]
    assert {n.recipient for n in status} == matrix_emails("II", "产品质量")
    first = next(n for n in status if ":1:" in n.dedup_key)
    assert "进展通报（第1期）" in first.subject
    for section in ("一、情况", "二、措施", "三、需求", "李娜：确认接手", "评估是否需要启动补偿"):
        assert section in first.body_text
    second = next(n for n in status if ":2:" in n.dedup_key).body_text
    assert "当前状态「处理中」" in second and "李娜：进入处置" in second, "the state and step as the board names them"
    needs = second.split("三、需求", 1)[1].split("值班人员操作", 1)[0]
    assert "评估是否需要启动补偿" in needs and "crisis" not in needs, "commands are for the person on duty"
