"""Review runbook (总结和反思): the after-action review of a resolved incident."""

from __future__ import annotations

from prefect import flow

from flows.forms import IncidentKey, Now
from tasks.aftercare.review_tasks import write_review
from tasks.audit_anchor import publish_audit_head
from tasks.common import resolve_now
from tasks.notify.tasks import deliver_outbox


@flow(name="review", flow_run_name="review-{incident_key}", log_prints=True)
def review(incident_key: IncidentKey, now: Now = None) -> str:
    """Write the incident's review and send it to the roster.

    1) rebuild the timeline and level history from the audit trail; 2) compute TTD / TTA / TTM / TTR;
    3) draw the volume and negative curve; 4) list repair steps, compensation and follow-up actions
    with owners and due dates; 5) publish the audit chain's head outside the database and state it in
    the review; 6) write var/reviews/<KEY>.md/.html, publish the artifact, mail it.
    """
    at = resolve_now(now)
    publish_audit_head(at)
    path = write_review(incident_key, at)
    deliver_outbox(at)
    return path
