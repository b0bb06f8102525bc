"""Notification runbook (应急响应、信息发布、快速反应)."""

from __future__ import annotations

from prefect import flow

from flows.forms import Now, optional, run_name
from tasks.audit import flow_actor
from tasks.common import resolve_now
from tasks.notify.ack import close_answered_forms
from tasks.notify.chase import escalate_overdue, remind_status_updates
from tasks.notify.tasks import (
    deliver_outbox,
    incidents_needing_alerts,
    incidents_touched,
    publish_mail_report,
    queue_alerts,
    report_undeliverable,
)

SomeIncident = optional(str, "事件编号", "例如 INC-20261129-001；留空则处理全部事件（定时巡检）")


@flow(name="notify", flow_run_name=run_name("notify", "incident_key"), log_prints=True)
def notify(incident_key: SomeIncident = None, now: Now = None) -> dict[str, object]:
    """Tell the emergency organisation, and keep chasing until someone owns the incident.

    With a key (the opened / escalated / not-acknowledged triggers) for that incident; without
    one (the sweep) for every incident, so a missed trigger or a restarted server loses nothing:
    1) queue alerts (mail, group robots, SMS) and the PR drafts for each incident whose level has not
       been alerted;
    2) escalate each open incident nobody acknowledged in its level's time to the next tier —
       exactly once per step; 3) queue the level-bound status updates of incidents being handled;
    4) deliver the outbox (group robots and SMS, then mail): each message once, transient failures
       (SMTP 4xx, HTTP 5xx, rate limits) retried with backoff;
    5) close acknowledgement forms answered elsewhere; publish the mail of each incident touched;
    6) report addresses that failed for good — the run then ends Failed, as it does while mail waits.
    One incident, step or message that fails never stops the others: each goes on, and the run ends Failed.
    """
    at, actor = resolve_now(now), flow_actor()
    keys = [incident_key] if incident_key else incidents_needing_alerts()
    queued = [queue_alerts(key, at, actor, return_state=True) for key in keys]
    escalated = escalate_overdue(at, actor, incident_key, return_state=True)
    reminded = remind_status_updates(at, actor, incident_key, return_state=True)
    delivery = deliver_outbox(at, return_state=True)
    close_answered_forms()
    publish_mail_report(incidents_touched(keys, escalated, reminded))
    report_undeliverable(at, actor)
    return {"incidents": keys, "queued": sum(q.result() for q in queued), "escalated": escalated.result(),
            "reminded": reminded.result(), **delivery.result()}
