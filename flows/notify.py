"""Notification runbook (应急响应、信息发布、快速反应)."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from tasks.audit import flow_actor
from tasks.common import resolve_now
from tasks.notify.tasks import deliver_outbox, incidents_needing_alerts, queue_alerts


@flow(name="notify", log_prints=True)
def notify(incident_key: str | None = None, now: datetime | None = None) -> dict[str, object]:
    """Tell the emergency organisation.

    1) queue alert mails for the incident — or, run as the sweep (no key), for every active
    incident whose level has not been alerted, so a missed trigger loses nothing;
    2) deliver the outbox: each message once, transient SMTP failures retried later.
    """
    at = resolve_now(now)
    keys = [incident_key] if incident_key else incidents_needing_alerts()
    queued = sum(queue_alerts(key, at, flow_actor()) for key in keys)
    delivered = deliver_outbox(at)
    return {"incidents": keys, "queued": queued, **delivered}
