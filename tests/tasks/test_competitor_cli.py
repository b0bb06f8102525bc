"""`crisis report competitors`: the 同类风险预警 an operator can list without the UI, newest first, escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from cli.app import app
from tasks.db import session_scope
from tasks.triage.competitors import insert_alert

AT = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def _alert(day: str, products: str) -> None:
    with session_scope() as session:
        insert_alert(session, {"competitor": "焰峰", "category": "人身安全/食品安全", "day": day,
                               "product_category": "厨房电器", "products": products, "rule": "short_spike",
                               "reason": "负面 12 条，基线 0.4", "heat": 61.25, "detected_at": AT, "created_at": AT})


def test_competitor_alerts_are_listed_newest_first_in_chinese_and_as_json(sqlite_db: str) -> None:
    empty = CliRunner().invoke(app, ["report", "competitors"], env={"COLUMNS": "160"})
    assert empty.exit_code == 0 and "没有同类风险预警" in empty.output

    _alert("2026-11-19", "焰峰电饭煲")
    _alert("2026-11-20", "焰峰空气炸锅[red]x[/red]")
    listed = CliRunner().invoke(app, ["report", "competitors"], env={"COLUMNS": "160"})
    assert listed.exit_code == 0, listed.output
    assert "同类风险预警" in listed.output and "竞品" in listed.output and "涉及产品" in listed.output
    assert listed.output.index("2026-11-20") < listed.output.index("2026-11-19"), "newest first"
    assert "[red]x[/red]" in listed.output and "\x1b" not in listed.output, "a product name prints as stored"
    assert "short_spike" not in listed.output, "the rule as a Chinese sentence, not its key"

    scripted = CliRunner().invoke(app, ["report", "competitors", "--json", "--limit", "1"])
    rows = json.loads(scripted.output)
    assert [(r["day"], r["competitor"], r["rule"], r["heat"]) for r in rows] == [
        ("2026-11-20", "焰峰", "short_spike", 61.2)]
