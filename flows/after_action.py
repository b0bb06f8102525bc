"""After-action runbook (监测和反馈): watch incidents in monitoring until opinion recovers."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from tasks.aftercare.tasks import evaluate_recovery, incidents_in_monitoring
from tasks.audit import flow_actor
from tasks.common import resolve_now


@flow(name="after-action", log_prints=True)
def after_action(incident_key: str | None = None, now: datetime | None = None) -> list[dict[str, object]]:
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
