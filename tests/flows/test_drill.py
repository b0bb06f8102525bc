"""A drill (应急演练) through the real flows: the injected crisis opens a drill incident that never mixes with
real ones, every mail says 【演练】, customers hear nothing, nothing is paid, and the response is graded."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.drills import load_drills
from config.files import load_roster
from flows.compensate import compensate
from flows.drill import drill, drill_grade
from flows.monitor import scan
from flows.notify import notify
from tasks.aftercare.repository import set_step
from tasks.db import session_scope
from tasks.drills.tasks import DrillRefused
from tasks.models import CompensationItem, Drill, Incident, Mention, Notification
from tasks.notify.tasks import acknowledge
from tasks.scenario.files import write_mentions
from tasks.scenario.week import generate_scenario
from tests.helpers import read_mail, text_part

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _count(model, *where) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)))


def _orders_with_emails(folder: Path, drill_id: int) -> Path:
    """The drill's generated orders, with an e-mail for every customer (so a notice could be sent)."""
    source = folder / "drills" / str(drill_id) / "orders.csv"
    rows = list(csv.DictReader(source.open(encoding="utf-8")))
    target = folder / "orders-with-email.csv"
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0].keys(), "email"])
        writer.writeheader()
        writer.writerows({**row, "email": f"{row['customer_id'].lower()}@customer.example"} for row in rows)
    return target


@pytest.mark.parametrize("scenario", sorted(load_drills().scenarios))
def test_every_scenario_opens_a_drill_incident_at_its_expected_level(sqlite_db: str, scenario: str) -> None:
    result = drill(scenario=scenario, started_by="王强", now=NOW)
    expected = load_drills().scenarios[scenario]
    with session_scope() as session:
        incident = session.scalars(select(Incident).where(Incident.key == result["incident"])).one()
        assert incident.is_drill and incident.key.startswith("DRILL-")
        assert (incident.brand, incident.category, incident.level) == (expected.brand, expected.category,
                                                                       expected.expected_level)


def test_a_drill_runs_the_real_lifecycle_apart_from_real_incidents(database: str, smtp_sink: Path,
                                                                   var_dir: Path) -> None:
    # A real crisis of the same brand and category is going on at the same time.
    real = generate_scenario(11, NOW, crisis_start=NOW - timedelta(minutes=90))
    write_mentions(real, var_dir / "real.jsonl")
    scan(now=NOW, extra_file=str(var_dir / "real.jsonl"))
    with session_scope() as session:
        real_keys = set(session.scalars(select(Incident.key).where(Incident.is_drill.is_(False))))
    assert real_keys, "the real crisis opens a real incident"

    started = drill(scenario="quality", started_by="王强", now=NOW)
    key = started["incident"]
    assert key and key.startswith("DRILL-")
    with pytest.raises(DrillRefused, match="仍在进行"):
        drill(scenario="safety", started_by="王强", now=NOW + timedelta(minutes=1))
    with session_scope() as session:
        incident = session.scalars(select(Incident).where(Incident.key == key)).one()
        linked = set(session.scalars(select(Mention.is_drill).where(Mention.incident_id == incident.id)))
        assert linked == {True}, "only drill mentions join the drill incident"
        reals = session.scalars(select(Incident).where(Incident.is_drill.is_(False))).all()
        assert {i.key for i in reals} == real_keys, "a drill opens no real incident"
    assert _count(Mention, Mention.is_drill.is_(True), Mention.incident_id.in_([i.id for i in reals])) == 0
    # A later regular scan keeps both apart (no drill mention reaches the real incident, nor the reverse).
    scan(now=NOW + timedelta(minutes=30), extra_file=str(var_dir / "real.jsonl"))
    assert _count(Incident, Incident.is_drill.is_(True)) == 1

    notify(incident_key=key, now=NOW + timedelta(minutes=2))
    acknowledge(key, "李娜", "演练接手", NOW + timedelta(minutes=20))
    orders = _orders_with_emails(var_dir, started["drill"])
    paid = compensate(incident_key=key, orders_path=str(orders), policy="coupon-20", dry_run=False,
                      notify_customers=True, requested_by="刘洋", now=NOW + timedelta(minutes=40))
    assert paid["dry_run"] is True and paid["applied"] > 0, "a drill's compensation is only ever a dry run"
    assert _count(CompensationItem) == 0
    with session_scope() as session:
        incident = session.scalars(select(Incident).where(Incident.key == key)).one()
        for step in ("apology", "disclosure"):
            set_step(session, incident, step, actor="李娜", at=NOW + timedelta(minutes=50), state="done")

    graded = drill_grade(drill_id=started["drill"], now=NOW + timedelta(hours=3))[0]
    assert graded["incident"] == key
    scorecard = Path(str(graded["path"])).read_text(encoding="utf-8")
    assert "✅ 确认接手" in scorecard and "20.0 分钟" in scorecard  # III: acknowledged within 120 minutes
    assert "✅ 补偿演练" in scorecard and "⚠️ 修复步骤" in scorecard and "监测和反馈" in scorecard
    assert graded["score"] == 93 and graded["verdict"] == "合格"  # 100 points but 2 of 3 steps: 13/20
    assert drill_grade(drill_id=started["drill"], now=NOW + timedelta(hours=5))[0]["score"] == 93, "graded once"
    later = Mention.is_drill.is_(True), Mention.published_at > NOW + timedelta(hours=3)
    assert _count(Mention, *later) == 0, "grading ends the drill's feed: its later posts are withdrawn"

    mail = read_mail(smtp_sink)
    drill_mail = [m for m in mail if key in m["Subject"] or "演练评估" in m["Subject"]]
    assert {m["Subject"].split("】")[0] for m in drill_mail} == {"【演练"}, [m["Subject"] for m in drill_mail]
    assert any("演练评估" in m["Subject"] and "93 分" in m["Subject"] for m in drill_mail)
    assert "<table" in text_part(next(m for m in drill_mail if "演练评估" in m["Subject"]), "html")
    assert not [m for m in mail if "customer.example" in str(m["To"])], "no customer hears of a drill"
    assert _count(Notification, Notification.kind == "compensation_notice") == 0
    with session_scope() as session:
        row = session.scalars(select(Drill)).one()
        assert (row.status, row.score, row.started_by) == ("graded", 93, "王强")


def test_the_schedule_grades_only_drills_whose_time_is_up(sqlite_db: str, smtp_sink: Path) -> None:
    started = drill(scenario="pricing", started_by="王强", now=NOW)
    assert drill_grade(now=NOW + timedelta(minutes=30)) == []
    due = load_drills().scenarios["pricing"].grade_after_minutes
    results = drill_grade(now=NOW + timedelta(minutes=due))
    assert [r["drill"] for r in results] == [started["drill"]]
    assert results[0]["verdict"] == "需改进"  # nobody acknowledged, no step done
    assert "❌ 确认接手" in Path(str(results[0]["path"])).read_text(encoding="utf-8")
    assert drill(scenario="quality", started_by="王强", now=NOW + timedelta(hours=4))["drill"] == started["drill"] + 1, \
        "a graded drill no longer blocks the next"


def test_an_unknown_scenario_is_refused_with_the_known_names(sqlite_db: str) -> None:
    with pytest.raises(DrillRefused, match="没有演练场景 'fire'.*quality"):
        drill(scenario="fire", started_by="王强", now=NOW)
    assert _count(Drill) == 0 and _count(Mention) == 0


def test_the_cli_names_the_known_scenarios_and_lists_drills(sqlite_db: str) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    runner = CliRunner()
    refused = runner.invoke(app, ["drill", "--scenario", "fire"])
    assert refused.exit_code == 1 and "没有演练场景 'fire'" in refused.output and "quality" in refused.output
    started = runner.invoke(app, ["drill", "--scenario", "pricing", "--by", "王强", "--now", "2026-11-20T12:00"])
    assert started.exit_code == 0, started.output
    assert "演练 #1（pricing）已开始；演练事件：DRILL-20261120-001" in started.output
    listed = runner.invoke(app, ["drill", "list"])
    assert "pricing" in listed.output and "进行中" in listed.output


def test_two_drills_started_at_the_same_moment_make_one(database: str) -> None:
    import threading

    from prefect.logging import disable_run_logger

    from tasks.drills.tasks import generate_drill, inject_drill
    from tasks.monitoring.tasks import analyse_mentions

    with disable_run_logger():
        injection = generate_drill.fn("pricing", 1, NOW)
        rows = analyse_mentions.fn(injection.mentions, NOW)
    start, outcomes = threading.Barrier(2), []

    def begin() -> None:
        start.wait()
        try:
            outcomes.append(inject_drill.fn(injection, rows, "王强", NOW))
        except DrillRefused as exc:
            outcomes.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - anything else is the test's answer, not a lost thread
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=begin) for _ in range(2)]
    # one disable_run_logger around both threads: it switches loggers off and on globally, so a thread's own
    # would switch them back on while the other still logs
    with disable_run_logger():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes, key=str)[0] == 1 and "仍在进行" in str(sorted(outcomes, key=str)[1]), outcomes
    assert _count(Drill) == 1 and _count(Mention) == len(rows)


def test_a_drill_that_opened_no_incident_still_mails_its_scorecard(sqlite_db: str, smtp_sink: Path) -> None:
    """Detection missed the drill: exactly then the commander and the scribe must hear of it."""
    with session_scope() as session:
        row = Drill(scenario="pricing", seed=1, brand="青禾", category="价格/虚假宣传", expected_level="IV",
                    status="running", started_by="王强", started_at=NOW, crisis_start=NOW,
                    grade_at=NOW + timedelta(hours=1), mentions=0)
        session.add(row)
        session.flush()
        drill_id = row.id
    graded = drill_grade(drill_id=drill_id, now=NOW + timedelta(hours=1))[0]
    assert (graded["score"], graded["verdict"], graded["incident"]) == (0, "需改进", None)
    mail = [m for m in read_mail(smtp_sink) if "演练评估" in m["Subject"]]
    commanders = {p.email for p in load_roster().people if {"commander", "scribe"} & set(p.roles)}
    assert {str(m["To"]).split("<")[-1].rstrip(">") for m in mail} == commanders
    assert all(m["Subject"].startswith("【演练】") and "未立案" in m["Subject"] for m in mail)
    assert "❌ 发现" in text_part(mail[0], "plain")
    with session_scope() as session:
        assert session.scalars(select(Notification.incident_id).where(Notification.kind == "drill_grade")).all() \
            == [None] * len(commanders)


def test_the_brief_says_why_each_negative_top_post_reads_negative(sqlite_db: str) -> None:
    import re

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    key = drill(scenario="service", started_by="王强", now=NOW)["incident"]
    with get_client(sync_client=True) as client:
        brief = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[f"brief-{key.lower()}"])))[0].data
    assert "## 代表性帖子" in brief
    reasons = re.findall(r"负面依据：(.+)", brief)
    assert reasons, brief
    for reason in reasons:
        *claims, words = reason.split("；")  # 风险说法：… first when the post makes a claim about the brand
        assert all(claim.startswith("风险说法：") for claim in claims), reason
        weights = [float(part.rsplit(" ", 1)[1]) for part in words.split("、")]
        assert weights and all(w < 0 for w in weights) and weights == sorted(weights), reason


def test_nobody_starts_a_drill_anonymously(database: str) -> None:
    """started_by has no default (it was "prefect-ui"): the UI's form asks 发起人 and refuses a blank one."""
    with pytest.raises(TypeError, match="started_by"):
        drill(scenario="quality", now=NOW)  # type: ignore[call-arg]
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Drill)) == 0
    schema = drill.parameters.model_dump()
    assert "started_by" in schema["required"] and schema["properties"]["started_by"]["title"] == "发起人"
