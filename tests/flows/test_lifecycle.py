"""The walking skeleton end to end against the flow tests' Prefect server: scan → incident → mail → ack →
compensation → recovery → review, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from flows.after_action import after_action
from flows.compensate import compensate
from flows.monitor import scan
from flows.notify import notify
from flows.review import review
from tasks.audit import verify_chain
from tasks.db import session_scope
from tasks.models import CompensationItem, Incident, Mention, Notification
from tasks.notify.tasks import acknowledge
from tasks.scenario.files import write_mentions, write_orders
from tasks.scenario.week import generate_scenario
from tests.helpers import read_mail, text_part

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def scenario_files(var_dir: Path):  # type: ignore[no-untyped-def]
    scenario = generate_scenario(7, END)
    folder = var_dir / "scenario"
    folder.mkdir(parents=True)
    write_mentions(scenario, folder / "mentions.jsonl")
    write_orders(scenario, folder / "orders.csv")
    return scenario, folder / "mentions.jsonl", folder / "orders.csv"


def _count(model) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def test_whole_lifecycle(database: str, smtp_sink: Path, scenario_files) -> None:  # type: ignore[no-untyped-def]
    scenario, mentions, orders = scenario_files
    quiet = scan(now=scenario.crisis_start - timedelta(hours=1), extra_file=str(mentions))
    assert quiet["new"] > 500 and not [c for c in quiet["changes"] if c["kind"] == "opened"]
    assert scan(now=scenario.crisis_start - timedelta(hours=1), extra_file=str(mentions))["new"] == 0

    opened = []
    for minutes in (30, 60, 90):
        result = scan(now=scenario.crisis_start + timedelta(minutes=minutes), extra_file=str(mentions))
        opened += [c for c in result["changes"] if c["kind"] == "opened"]
    assert len(opened) == 1, opened
    key = opened[0]["incident_key"]
    with session_scope() as session:
        incident = session.scalars(select(Incident).where(Incident.key == key)).one()
        assert (incident.brand, incident.category) == (scenario.brand, scenario.category)
        assert incident.started_at <= incident.detected_at

    first = notify(incident_key=key, now=scenario.crisis_start + timedelta(minutes=95))
    mail = read_mail(smtp_sink)
    assert first["sent"] == len(mail) >= 2
    assert all(key in m["Subject"] and scenario.brand in m["Subject"] for m in mail)
    assert "触发原因" in text_part(mail[0], "plain") and "<table" in text_part(mail[0], "html")
    notify(incident_key=key, now=scenario.crisis_start + timedelta(minutes=100))
    assert len(read_mail(smtp_sink)) == len(mail), "a rerun must not send again"

    acknowledge(key, "李娜", "接手", scenario.crisis_start + timedelta(hours=2))
    dry = compensate(incident_key=key, orders_path=str(orders), policy="coupon-20", dry_run=True,
                     requested_by="刘洋", now=scenario.crisis_start + timedelta(hours=5))
    assert dry["applied"] > 0 and _count(CompensationItem) == 0
    paid = compensate(incident_key=key, orders_path=str(orders), policy="coupon-20", dry_run=False,
                      requested_by="刘洋", now=scenario.crisis_start + timedelta(hours=6))
    assert _count(CompensationItem) == paid["applied"] == dry["applied"]
    assert paid["amount_fen"] == 2000 * paid["applied"]
    again = compensate(incident_key=key, orders_path=str(orders), policy="coupon-20", dry_run=False,
                       requested_by="刘洋", now=scenario.crisis_start + timedelta(hours=7))
    assert again["applied"] == 0 and _count(CompensationItem) == paid["applied"]

    scan(now=END, extra_file=str(mentions))
    checks = [after_action(incident_key=key, now=END - timedelta(hours=h))[0]["outcome"] for h in (2, 1, 0)]
    assert checks == ["recovered", "recovered", "resolved"], checks
    path = Path(review(incident_key=key, now=END))
    text = path.read_text(encoding="utf-8")
    assert key in text and "TTD" in text and "补偿" in text and "确认接手" in text and "后续改进" in text
    assert f"补偿：{paid['applied']:,} 笔订单，{paid['amount_fen'] / 100:,.2f} 元" in text
    assert "确认接手用时" in text.split("### 做得好的")[1].split("## 关键时间指标")[0]
    assert "没有记录任何声誉修复步骤" in text.split("### 需要改进的")[1], "no repair step was recorded here"
    assert path.with_suffix(".html").read_text(encoding="utf-8").count("data:image/png;base64,") == 1
    with session_scope() as session:
        assert verify_chain(session).ok
        assert session.scalar(select(func.count(Mention.id)).where(Mention.incident_id.is_not(None))) > 20
        sent = session.scalar(select(func.count(Notification.id)).where(Notification.status == "sent"))
        assert sent == len(read_mail(smtp_sink)) > len(mail), "the review went to the roster too"
