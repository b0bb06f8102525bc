"""The demo's lifecycle against a real Prefect server, a process worker and a real SMTP server."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.files import load_roster
from config.settings import PROJECT_DIR
from tasks.demo import run_demo
from tasks.stack import Stack
from tests.helpers import read_mail, text_part
from tests.integration.ui import look_at_the_ui

pytestmark = pytest.mark.integration


def test_demo_runs_the_lifecycle_through_deployments_and_triggers(
    local_stack: Stack, smtp_sink: Path, sqlite_db: str, chromium_present: None
) -> None:
    result = run_demo(local_stack, seed=11, say=lambda line: None)

    assert not [n for n in result.notes if "did not" in n], result.notes  # the event triggers did the work
    everything = read_mail(smtp_sink)
    mail = [m for m in everything if m["Subject"].endswith(f"舆情事件 {result.incident_key}")]  # the alerts
    assert len(mail) > 0 and result.mails_delivered >= len(mail)
    reviews = [m for m in everything if "复盘报告" in m["Subject"] and result.incident_key in m["Subject"]]
    assert {m["X-Envelope-To"] for m in mail} <= {m["X-Envelope-To"] for m in reviews}
    roster = load_roster()
    wanted_roles = set(getattr(roster.notify, result.level)) | set(roster.notify.by_category.get("产品质量", []))
    expected = {p.email for p in roster.people if wanted_roles & set(p.roles)}
    assert {m["X-Envelope-To"] for m in mail} == expected
    for message in mail:
        assert message["Subject"].startswith(f"【{result.level}级")
        assert "澄星" in message["Subject"] and "产品质量" in message["Subject"]
        body = text_part(message, "plain")
        assert "舆情危机预警" in body and "触发原因" in body and "澄星空气炸锅" in body
        assert "<h2" in text_part(message, "html")
    assert result.orders_compensated > 100 and result.amount_fen == 2000 * result.orders_compensated
    review = Path(result.review_path).read_text(encoding="utf-8")
    assert result.incident_key in review and "TTR" in review and "补偿批次完成" in review

    ui = look_at_the_ui(local_stack.ui_url, local_stack.api_url, result.incident_key,
                        PROJECT_DIR / "var" / "screenshots")
    for deployment in ("scan", "notify", "compensate", "after-action", "review", "drill", "drill-grade", "backfill"):
        assert deployment in ui["deployments"]
    assert all(f"Every {n} minutes" in ui["deployments"] for n in (5, 10, 30))
    assert result.incident_key in ui["board"] and "澄星" in ui["board"] and "产品质量" in ui["board"]
    assert f"事件复盘 {result.incident_key}" in ui["review"] and "TTD" in ui["review"] and "做得好的" in ui["review"]
    assert result.incident_key in ui["brief"] and "处置步骤" in ui["brief"] and "负面声量" in ui["brief"]
