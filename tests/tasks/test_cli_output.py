"""What the CLI prints, as an operator reads it in a terminal or a script reads it through a pipe."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from tasks.db import session_scope
from tasks.models import Incident

runner = CliRunner()
DETECTED = datetime(2026, 11, 27, 2, 7, tzinfo=UTC)
KEYS = ["INC-20261127-001", "INC-20261127-002", "DRILL-20261127-001"]


def _incidents() -> None:
    with session_scope() as session:
        for n, (key, category) in enumerate(zip(KEYS, ["人身安全/食品安全", "个人信息泄露", "产品质量"], strict=True)):
            session.add(Incident(key=key, brand="澄星", category=category, level="II", state="acknowledged",
                                 heat=88.4, trigger_reason="测试", started_at=DETECTED,
                                 detected_at=DETECTED + timedelta(minutes=n), acknowledged_by="李娜（公关）",
                                 is_drill=key.startswith("DRILL")))


def _crisis(*args: str, columns: int = 80) -> str:
    """Run `crisis` as an operator does, its output piped (not a terminal), in a terminal `columns` wide."""
    env = {**os.environ, "COLUMNS": str(columns), "LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": ""}
    done = subprocess.run([sys.executable, "-m", "cli.app", *args], capture_output=True, env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[2], check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return done.stdout.decode("utf-8")


@pytest.mark.parametrize("columns", [80, 60])
def test_incidents_never_cuts_the_key_in_a_narrow_terminal_or_a_pipe(sqlite_db: str, columns: int) -> None:
    _incidents()
    shown = _crisis("incidents", columns=columns)
    assert all(key in shown for key in KEYS), shown  # whole, on one line: a responder copies it
    assert "…" not in shown and "事件编号" in shown and "已确认" in shown
    assert max(len(line) for line in shown.splitlines()) <= columns


def test_incidents_as_json_and_csv_for_scripts(sqlite_db: str) -> None:
    _incidents()
    rows = json.loads(_crisis("incidents", "--json"))
    assert [r["key"] for r in rows] == list(reversed(KEYS))  # newest first
    assert rows[-1] == {"key": "INC-20261127-001", "brand": "澄星", "category": "人身安全/食品安全", "level": "II",
                        "state": "acknowledged", "heat": 88.4, "detected_at": "2026-11-27T02:07:00+00:00",
                        "owner": "李娜（公关）", "drill": False}
    table = list(csv.DictReader(io.StringIO(_crisis("incidents", "--csv"))))
    assert [r["key"] for r in table] == [r["key"] for r in rows] and table[0]["drill"] == "True"
    assert table[-1]["category"] == "人身安全/食品安全" and table[-1]["owner"] == "李娜（公关）"
    both = runner.invoke(app, ["incidents", "--json", "--csv"])
    assert both.exit_code == 2



def test_the_demo_ends_saying_where_the_mail_review_and_pages_are() -> None:
    from rich.console import Console

    from cli.stack import demo_summary, where_to_look
    from tasks.demo import DemoResult

    result = DemoResult("INC-20261203-001", "II", 9, 180, 360000, "/srv/crisis/var/reviews/INC-20261203-001.md",
                        "http://127.0.0.1:4300", ["危机开始后 30 分钟的扫描开启了 INC-20261203-001"],
                        mail_dir="/srv/crisis/var/mail", drafts_to=["li.na@shop.example"])
    screen = Console(width=80, record=True, file=io.StringIO())
    screen.print(demo_summary(result))
    for line in where_to_look(result):
        screen.print(line, highlight=False, soft_wrap=True)
    text = screen.export_text()
    assert "INC-20261203-001（II 级）" in text and "3,600.00 元" in text and "草稿发给 1 人审核" in text
    for whole in ("/srv/crisis/var/mail", "/srv/crisis/var/reviews/INC-20261203-001.md",
                  "http://127.0.0.1:4300/artifacts/key/incident-board",
                  "http://127.0.0.1:4300/artifacts/key/brief-inc-20261203-001",
                  "http://127.0.0.1:4300/artifacts/key/review-inc-20261203-001"):
        assert whole in text, f"{whole} cut or wrapped:\n{text}"
    assert "make down" in text.splitlines()[-1]
