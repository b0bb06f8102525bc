"""A full drill on a real `prefect server start`, a process worker and a real SMTP server: the drill deployment
injects the scenario, the opened trigger alerts with 【演练】, a responder answers the acknowledge form, the
compensate deployment pays nothing, and the drill-grade deployment grades and mails the scorecard."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.events.worker import EventsWorker
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import func, select

from tasks.aftercare.repository import set_step
from tasks.db import session_scope
from tasks.models import CompensationItem, Drill, Incident, Notification
from tasks.stack import Stack, ensure_prefect_server, ensure_worker
from tests.helpers import PATIENCE_SECONDS, read_mail, wait_for
from tests.integration.server_support import deploy, deployments_of, runs_for
from tests.notify_support import incident, mail_by_subject

pytestmark = pytest.mark.integration


def _completed(name: str, parameters: dict[str, object]) -> None:
    run = run_deployment(name=name, parameters=parameters, timeout=PATIENCE_SECONDS, poll_interval=1)
    assert run.state is not None and run.state.is_completed(), f"{name}: {run.state}"


def _answer_form(key: str) -> bool:
    """Act as the responder on the acknowledge form; False until the run waits with its form."""
    waiting = [r for r in runs_for("acknowledge", key) if r.state and r.state.is_paused()]
    if not waiting:
        return False
    try:
        resume_flow_run(waiting[0].id, run_input={"who": "李娜", "note": "演练：公关接手"})
    except RuntimeError as exc:  # the form is saved a moment after the run pauses
        if "schema not found" not in str(exc):
            raise
        return False
    return True


def test_a_full_drill_through_the_deployments(local_stack: Stack, smtp_sink: Path, sqlite_db: str,
                                              var_dir: Path) -> None:
    ensure_prefect_server(local_stack)
    spec = deployments_of("drill", "drill-grade", "notify", "acknowledge", "compensate")
    for deployment in spec["deployments"]:
        deployment.pop("schedules", None)  # what happens here is the drill, its triggers and the grading run
    deploy(local_stack, var_dir, spec)
    ensure_worker(local_stack)
    EventsWorker.drain_all()
    with temporary_settings(updates={PREFECT_API_URL: local_stack.api_url}):
        _completed("drill/drill", {"scenario": "quality", "started_by": "王强"})
        with session_scope() as session:
            drill = session.scalars(select(Drill)).one()
            key = session.get(Incident, drill.incident_id).key  # type: ignore[union-attr]
        assert key.startswith("DRILL-")

        alerts = wait_for(lambda: mail_by_subject(smtp_sink, key), "the drill's alert (opened trigger)")
        assert all(m["Subject"].startswith("【演练】") for m in alerts)
        wait_for(lambda: _answer_form(key), "the drill's acknowledge form")
        wait_for(lambda: incident(key).acknowledged_by == "李娜", "the acknowledgement from the form")

        orders = var_dir / "drills" / str(drill.id) / "orders.csv"
        _completed("compensate/compensate", {"incident_key": key, "orders_path": str(orders), "dry_run": False,
                                             "requested_by": "刘洋"})
        with session_scope() as session:
            assert session.scalar(select(func.count(CompensationItem.id))) == 0, "a drill pays nothing"
            drill_incident = session.scalars(select(Incident).where(Incident.key == key)).one()
            for step in ("apology", "disclosure", "monitoring"):
                set_step(session, drill_incident, step, actor="李娜", at=drill_incident.detected_at, state="done")

        _completed("drill-grade/drill-grade", {"drill_id": drill.id})
        with session_scope() as session:
            graded = session.get(Drill, drill.id)
            assert graded is not None and graded.status == "graded"
            assert graded.score == 100, graded.grade
        scorecards = wait_for(lambda: mail_by_subject(smtp_sink, "演练评估"), "the scorecard mail")
        assert "合格" in scorecards[0]["Subject"] and "100 分" in scorecards[0]["Subject"]
        with get_client(sync_client=True) as client:
            artifact = client.read_latest_artifacts()
        assert any(a.key == f"drill-{drill.id}" and "100 分" in str(a.data) for a in artifact)

    subjects = [m["Subject"] for m in read_mail(smtp_sink)]
    assert subjects and all(s.startswith("【演练】") for s in subjects), subjects
    with session_scope() as session:
        kinds = set(session.scalars(select(Notification.kind)))
    assert "compensation_notice" not in kinds and {"alert", "drill_grade"} <= kinds
