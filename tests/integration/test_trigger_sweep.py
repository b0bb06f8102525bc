"""The notify deployment on a real `prefect server start`, a process worker and a real SMTP server: the
`crisis.incident.opened` trigger starts a notify run for the incident, and the sweep (the deployment's
interval schedule, shortened here) alerts exactly once for an incident whose opened event reached the server
before the automation existed. How fast the trigger acts is printed, not asserted: on a loaded machine it
is slower, and a test that fails then throws away a whole run (`make bench` measures speed)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, State
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from tasks.stack import Stack, ensure_prefect_server, ensure_worker
from tasks.triage.tasks import announce_incidents
from tests.helpers import read_mail, wait_for
from tests.integration.server_support import after_warm_up, deploy, deployments_of, flow_runs, runs_for
from tests.notify_support import make_incident, outbox

pytestmark = pytest.mark.integration

SWEEP_SECONDS = 20


def _deploy(stack: Stack, folder: Path) -> None:
    """Deploy notify from prefect.yaml with its opened/escalated trigger and its sweep every SWEEP_SECONDS."""
    spec = deployments_of("notify")
    (notify,) = spec["deployments"]
    notify["triggers"] = [t for t in notify["triggers"] if t["posture"] == "Reactive"]
    assert notify["triggers"] and notify["schedules"], "notify has an opened trigger and a sweep schedule"
    notify["schedules"] = [{**s, "interval": SWEEP_SECONDS} for s in notify["schedules"]]
    deploy(stack, folder, spec)


def _alerts(folder: Path, key: str) -> list[EmailMessage] | None:
    """Return the incident's delivered alert messages once every alert in its outbox is sent, else None."""
    queued = [n for n in outbox(key) if n.kind == "alert"]
    if not queued or any(n.status != "sent" for n in queued):
        return None
    ids = {n.message_id for n in queued}
    return [m for m in read_mail(folder) if m["Message-ID"] in ids]


def _final_state(run_id: UUID) -> State | None:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    return state if state is not None and state.is_final() else None


def _sweeps_started_after(moment: datetime) -> list[FlowRun]:
    return [r for r in flow_runs("notify") if not r.parameters.get("incident_key") and r.start_time
            and r.start_time > moment and r.state is not None and r.state.is_final()]


def test_the_trigger_alerts_an_opened_incident_and_the_sweep_catches_a_missed_trigger(
    local_stack: Stack, smtp_sink: Path, sqlite_db: str, var_dir: Path
) -> None:
    ensure_prefect_server(local_stack)
    EventsWorker.drain_all()  # events go to this server, not to one an earlier test started
    with temporary_settings(updates={PREFECT_API_URL: local_stack.api_url}):
        # (b) an incident opens while nothing listens: its event reaches the server before the automation
        missed = make_incident("INC-20261127-001", datetime.now(UTC), level="I")
        assert announce_incidents.fn() == [missed]
        EventsWorker.drain_all()
        _deploy(local_stack, var_dir)
        deployed = datetime.now(UTC)
        ensure_worker(local_stack)

        # (a) once the automation is loaded, an opened incident gets its own notify run (the trigger's)
        after_warm_up(deployed)
        heard = make_incident("INC-20261127-002", datetime.now(UTC), brand="青禾", level="I")
        emitted = datetime.now(UTC)
        assert announce_incidents.fn() == [heard]
        EventsWorker.drain_all()
        (triggered,) = wait_for(lambda: runs_for("notify", heard), f"a notify run for {heard}")
        started_in = (triggered.created - emitted).total_seconds()
        wait_for(lambda: _alerts(smtp_sink, heard), f"the alerts of {heard}")
        alerted_in = (datetime.now(UTC) - emitted).total_seconds()

        # (b) the sweep alerts the missed incident, and a later sweep sends nothing again
        wait_for(lambda: _alerts(smtp_sink, missed), f"the sweep's alerts of {missed}")
        swept = datetime.now(UTC)
        wait_for(lambda: _sweeps_started_after(swept), "a later sweep")
        assert runs_for("notify", missed) == [], "the trigger never heard of the missed incident"
        ended = wait_for(lambda: _final_state(triggered.id), "the triggered run ending")
    EventsWorker.drain_all()

    print(f"trigger → notify run {started_in:.1f} s, → alert mail {alerted_in:.1f} s")
    assert ended.is_completed(), ended
    for key in (heard, missed):
        delivered = _alerts(smtp_sink, key)
        queued = {n.message_id for n in outbox(key) if n.kind == "alert"}
        assert delivered is not None and Counter(m["Message-ID"] for m in delivered) == Counter(queued), \
            f"each alert of {key} delivered exactly once"
