"""Notification on a real `prefect server start`, a process worker and a real SMTP server: the opened
trigger alerts, the acknowledge form acknowledges, the proactive trigger escalates only the incident
nobody acknowledged. Acknowledgement times are shortened to seconds through CRISIS_NOTIFY__ACK_MINUTES.
Every wait is on a condition with a generous deadline, and what is asserted is order (escalated once,
before anyone acknowledged; quiet for the incident acknowledged in time), so a slow worker only delays it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.events.worker import EventsWorker
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings

from config.files import clear_caches
from tasks.audit import entries_for
from tasks.db import session_scope
from tasks.notify.tasks import acknowledge
from tasks.stack import Stack, ensure_prefect_server, ensure_worker
from tasks.triage.tasks import announce_incidents
from tests.helpers import PATIENCE_SECONDS, wait_for
from tests.integration.server_support import after_warm_up, deploy, deployments_of, runs_for
from tests.notify_support import incident, mail_by_subject, make_incident, outbox

pytestmark = pytest.mark.integration

ACK_SECONDS = {"I": 10, "II": 60}
# Level I's proactive trigger, shortened: its run escalates when the first alert (queued by the opened
# trigger's run) is older than ack_minutes, so the period leaves that run two minutes to queue it even on
# a loaded machine (prefect.yaml: ack_minutes + 60 s). Level II keeps prefect.yaml's period: the incident
# acknowledged through the form never races its trigger, however slow the worker.
WITHIN_I = 120


def _deploy(stack: Stack, folder: Path) -> None:
    """Deploy notify and acknowledge from prefect.yaml with level I's proactive trigger shortened and no
    sweep schedule, so that what escalates here is the trigger."""
    spec = deployments_of("notify", "acknowledge")
    for deployment in spec["deployments"]:
        deployment.pop("schedules", None)
        for trigger in deployment.get("triggers", []):
            if trigger.get("posture") == "Proactive" and trigger["match"].get("crisis.incident.level") == "I":
                trigger["within"] = WITHIN_I
    deploy(stack, folder, spec)


def _waiting_form(key: str) -> FlowRun | None:
    return next((r for r in runs_for("acknowledge", key) if r.state and r.state.is_paused()), None)


def _resume(run: FlowRun, answer: dict[str, str]) -> bool:
    """Act as the responder; False while the run is still saving its form (a moment after it pauses)."""
    try:
        resume_flow_run(run.id, run_input=answer)
    except RuntimeError as exc:
        if "schema not found" not in str(exc):
            raise
        return False
    return True


def test_alert_form_and_escalation_through_the_deployments(
    local_stack: Stack, smtp_sink: Path, sqlite_db: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRISIS_NOTIFY__ACK_MINUTES", json.dumps({k: v / 60 for k, v in ACK_SECONDS.items()}))
    clear_caches()
    ensure_prefect_server(local_stack)
    _deploy(local_stack, var_dir)
    deployed = datetime.now(UTC)
    ensure_worker(local_stack)
    EventsWorker.drain_all()  # events go to this server, not to one an earlier test started
    with temporary_settings(updates={PREFECT_API_URL: local_stack.api_url}):
        after_warm_up(deployed)
        # an incident acknowledged in the CLI the moment it opens: the proactive trigger must stay quiet
        quiet = make_incident("INC-20261127-003", datetime.now(UTC), category="售后服务", level="I")
        announce_incidents.fn()
        EventsWorker.drain_all()
        acknowledge(quiet, "王强", "开启即接手", datetime.now(UTC))
        EventsWorker.drain_all()
        now = datetime.now(UTC)
        silent = make_incident("INC-20261127-001", now, level="I")
        owned = make_incident("INC-20261127-002", now, brand="青禾", level="II")
        announce_incidents.fn()
        EventsWorker.drain_all()

        # the opened trigger starts notify: alerts for both, through the worker and the SMTP server
        wait_for(lambda: mail_by_subject(smtp_sink, silent) and mail_by_subject(smtp_sink, owned), "alerts")
        # … and the acknowledge run, which waits suspended with its form; a responder fills it in
        form = wait_for(lambda: _waiting_form(owned), "the acknowledge form")
        wait_for(lambda: _resume(form, {"who": "李娜", "note": "公关接手（表单）"}), "resuming the form")
        wait_for(lambda: incident(owned).acknowledged_by == "李娜", "the acknowledgement from the form")

        # nobody acknowledges the level I incident: the proactive trigger escalates it
        wait_for(lambda: incident(silent).escalation_tier >= 1, "escalation of the unacknowledged incident")
        escalated = wait_for(lambda: mail_by_subject(smtp_sink, "升级至第"), "escalation mail")
        assert {m["Subject"].split(" · ")[0].rsplit(" ", 1)[1] for m in escalated} == {silent}
        assert len(runs_for("notify", silent)) == 2, "one run from the opened trigger, one from the proactive one"
        # the same trigger's period ended earlier for the incident acknowledged at once: it stayed quiet
        assert len(runs_for("notify", quiet)) == 1, "no proactive run for the incident acknowledged in time"
        assert len(runs_for("notify", owned)) == 1
        (answered,) = runs_for("acknowledge", owned)
        assert answered.state is not None and answered.state.is_completed()
        assert _waiting_form(silent) is not None, "the unacknowledged incident's form still waits"

        # the other one is taken in the CLI; the sweep escalates nothing and closes its waiting form
        acknowledge(silent, "张伟", "电话确认", datetime.now(UTC))
        EventsWorker.drain_all()
        sweep = run_deployment("notify/notify", parameters={}, timeout=PATIENCE_SECONDS, poll_interval=1)
        assert sweep.state is not None and sweep.state.is_completed(), sweep.state
        assert incident(owned).escalation_tier == 0 and incident(quiet).escalation_tier == 0
        assert not [n for n in outbox(owned) + outbox(quiet) if n.kind == "escalation"]
        closed = wait_for(lambda: [r for r in runs_for("acknowledge", silent) if r.state and r.state.is_completed()],
                          "the sweep closing the form answered in the CLI")
        assert len(closed) == 1 and incident(silent).acknowledged_by == "张伟"
        assert len(runs_for("notify", quiet)) == 1, "still no proactive run for the incident acknowledged in time"
    EventsWorker.drain_all()

    with session_scope() as session:
        acknowledged = [e for e in entries_for(session, "incident", owned) if e.action == "incident.acknowledged"]
        chased = [e.action for e in entries_for(session, "incident", silent)
                  if e.action in ("notification.escalated", "incident.acknowledged")]
    assert chased == ["notification.escalated", "incident.acknowledged"], "escalated once, before the acknowledgement"
    assert len(acknowledged) == 1 and acknowledged[0].actor == "李娜" and "公关接手（表单）" in acknowledged[0].after
    sent = [n for n in outbox() if n.status == "sent"]
    assert len({n.message_id for n in sent}) == len(sent)
