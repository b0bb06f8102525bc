"""An alert after the level rose (II → I) is not the first alert again: mail and group robots say 由 II 级升为
I 级, who or which rule raised it and why, read from the audit log and the detection hits of that scan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prefect.logging import disable_run_logger

from tasks.db import session_scope
from tasks.incidents.repository import get_incident
from tasks.incidents.service import escalate, override_level
from tasks.incidents.state import Level
from tasks.models import DetectionHit
from tasks.notify.tasks import queue_alerts
from tests.notify_support import make_incident, outbox
from tests.robot_fakes import Platforms, platforms_fixture  # noqa: F401 - the fixture

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: nobody is in quiet hours
LATER = NOW + timedelta(minutes=20)
KEY = "INC-20261127-001"
SPIKE = "短期突增：最近 60 分钟「澄星·产品质量」负面 48 条，前 6 小时同长窗口均值 3.0（σ 1.2），超过 3σ"


@pytest.fixture(autouse=True)
def _no_run_logger() -> Iterator[None]:
    with disable_run_logger():
        yield


def _alerts(level: str) -> list:  # type: ignore[type-arg]
    return [n for n in outbox(KEY) if n.kind == "alert" and n.dedup_key.startswith(f"alert:{KEY}:{level}:")]


def test_an_automatic_rise_is_announced_with_both_levels_the_rule_and_the_reason(
    sqlite_db: str, platforms: Platforms
) -> None:
    make_incident(KEY, NOW, level="II")
    queue_alerts.fn(KEY, NOW, "test")
    with session_scope() as session:
        incident = get_incident(session, KEY)
        session.add(DetectionHit(window_end=LATER, rule="short_spike", brand="澄星", category="产品质量",
                                 mode="enforce", reason=SPIKE, incident_id=incident.id))
        escalate(session, incident, Level.I, reason="热度升至 81.0，级别 II → I", actor="flow-run:5f0e", at=LATER)
    queue_alerts.fn(KEY, LATER, "test")

    first, raised = _alerts("II"), _alerts("I")
    assert first and all("升级" not in n.subject and "级别上调" not in n.body_text for n in first)
    mails = [n for n in raised if "@" in n.recipient]
    assert mails and all(n.subject.startswith("【升级 II→I】【I级·特别重大】澄星「产品质量」") for n in mails)
    for mail in mails:
        for part in (mail.body_text, mail.body_html):
            assert "由 II 级（重大）升为 I 级（特别重大）" in part and "热度升至 81.0，级别 II → I" in part
            assert "系统自动升级" in part and "短期突增" in part and "flow-run" not in part
            assert "σ" not in part and "（标准差 1.2），高出 3 个标准差" in part, "the rule worded as the brief words it"
    robot = next(n for n in raised if n.recipient == "wecom:pr_group")
    content = json.loads(robot.body_html)["markdown"]["content"]
    assert "【升级 II→I】" in content and "由 II 级升为 I 级" in content and "热度升至 81.0" in content


def test_a_level_raised_by_hand_names_who_and_why(sqlite_db: str) -> None:
    make_incident(KEY, NOW, level="II")
    queue_alerts.fn(KEY, NOW, "test")
    with session_scope() as session:
        override_level(session, get_incident(session, KEY), "I", reason="央视点名，按 I 级处置", actor="张伟", at=LATER)
    queue_alerts.fn(KEY, LATER, "test")
    (mail, *_) = [n for n in _alerts("I") if "@" in n.recipient]
    assert "升级方：张伟（人工定级）" in mail.body_text and "升级原因：央视点名，按 I 级处置" in mail.body_text
    assert "短期突增" not in mail.body_text
