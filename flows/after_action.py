"""After-action runbook (监测和反馈): watch incidents in monitoring until opinion recovers."""

from __future__ import annotations

from prefect import flow

from flows.forms import Now, optional, run_name
from tasks.aftercare.tasks import evaluate_recovery, incidents_in_monitoring
from tasks.audit import flow_actor
from tasks.common import resolve_now

WatchedIncident = optional(str, "事件编号", "例如 INC-20261129-001；留空则检查全部观察中的事件")


@flow(name="after-action", flow_run_name=run_name("after-action", "incident_key"), log_prints=True)
def after_action(incident_key: WatchedIncident = None, now: Now = None) -> list[dict[str, object]]:
    """Compare each watched incident with its pre-incident baseline.

    1) take the incident (or, on the schedule, every incident in monitoring);
    2) compare the last window's negative share with the baseline before the incident started — a
       window with too few mentions of the brand, or a source of the brand that is down, is
       insufficient data and never counts as recovered;
    3) resolve what has recovered and announce `crisis.incident.resolved`;
    4) after `recovery.windows_required` checks in a row without enough data, tell the scribe once.
    """
    at = resolve_now(now)
    keys = [incident_key] if incident_key else incidents_in_monitoring()
    return [evaluate_recovery(key, at, flow_actor()) for key in keys]
