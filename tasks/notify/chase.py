"""Prefect tasks that keep chasing until someone owns an incident (快速反应): escalation to the next
tier when nobody acknowledges in time, and level-bound status updates while it is handled."""

from __future__ import annotations

from datetime import datetime, timedelta

from prefect import get_run_logger, task

from config.files import load_roster
from config.settings import get_settings
from tasks import audit
from tasks.aftercare.timeline import ACTIONS, actor_name
from tasks.common import show_time
from tasks.db import retry_transient_db, session_scope
from tasks.incidents import repository as incidents
from tasks.incidents.state import state_name
from tasks.models import Incident
from tasks.notify import repository
from tasks.notify.escalation import Tier, due_tier, periods_elapsed, status_needs, step_recipients
from tasks.notify.messages import by_name, compose, incident_context, matrix_recipients, plan, roster_people
from tasks.triage.brief import split_command

STEP_ACTIONS = {**ACTIONS, "notification.escalated": "升级通知", "notification.failed": "邮件无法送达"}


def _tiers() -> list[Tier]:
    return [Tier(t.name, tuple(t.roles), t.deputies) for t in load_roster().escalation.tiers]


def ack_period(level: str) -> timedelta:
    """Return how long an incident of this level may wait for an acknowledgement."""
    return timedelta(minutes=get_settings().notify.ack_minutes[level])  # type: ignore[index]


def status_period(level: str) -> timedelta:
    """Return the interval between status updates at this level."""
    return timedelta(minutes=get_settings().notify.status_minutes[level])  # type: ignore[index]


@task(task_run_name="escalate-overdue", retries=2, retry_delay_seconds=[2, 8], retry_condition_fn=retry_transient_db)
def escalate_overdue(now: datetime, actor: str, incident_key: str | None = None) -> list[dict[str, object]]:
    """Tell the next tier about every open incident nobody acknowledged within its level's time
    (or only the given one): the tier is advanced and its mails queued in one transaction.

    Exactly once per step: a step already taken — by this run, a concurrent one or the proactive
    trigger's — is not taken again (the incident's tier and the dedup keys say so).
    """
    tiers = _tiers()
    with session_scope() as session:
        keys = incidents.escalation_candidates(session, len(tiers), incident_key)
    steps = [step for key in keys if (step := _escalate(key, tiers, now, actor))]
    for step in steps:
        get_run_logger().warning("%s：无人确认，已升级通知第%s梯队", step["incident_key"], step["tier"])
    return steps


def _escalate(key: str, tiers: list[Tier], now: datetime, actor: str) -> dict[str, object] | None:
    with session_scope() as session:
        incident = incidents.locked_incident(session, key)
        if incident.alerted_at is None:
            return None
        reached = incident.escalation_tier
        target = due_tier(incident.alerted_at, now, ack_period(incident.level), len(tiers))
        if target <= reached or not incidents.advance_tier(session, incident.id, reached, target):
            return None
        people = roster_people()
        told = matrix_recipients(incident, people)
        chased = step_recipients(tiers, reached, target, told, people, by_name(people))
        deliveries = plan(chased, incident.level, now)
        context = {**incident_context(incident, incidents.top_posts(session, incident.id)),
                   "tier": target, "tier_name": tiers[target - 1].name, "alerted_at": show_time(incident.alerted_at),
                   "waited_minutes": int((now - incident.alerted_at).total_seconds() // 60),
                   "limit_minutes": f"{ack_period(incident.level).total_seconds() / 60:g}",
                   "told": [p.name for p in chased]}
        repository.enqueue(session, compose("escalation", incident, context, deliveries,
                                            lambda d: f"escalation:{key}:{target}:{d.addressee.email.lower()}", now))
        audit.record(session, actor=actor, action="notification.escalated", entity_type="incident", entity_id=key,
                     at=now, before={"escalation_tier": reached},
                     after={"escalation_tier": target, "tier": tiers[target - 1].name,
                            "recipients": [d.to.email for d in deliveries]})
    return {"incident_key": key, "tier": target, "recipients": len(deliveries)}


@task(task_run_name="remind-status-updates", retries=2, retry_delay_seconds=[2, 8],
      retry_condition_fn=retry_transient_db)
def remind_status_updates(now: datetime, actor: str, incident_key: str | None = None) -> list[str]:
    """Queue the status update (情况 / 措施 / 需求) of every incident being handled whose level's
    interval has come round since its first alert, to the people its matrix names.

    Safe to re-run: one mail per incident, level, step and person (dedup key). A missed step is
    not sent late; the next one is sent when it is due.
    """
    queued: list[str] = []
    with session_scope() as session:
        for incident in incidents.handled_incidents(session, incident_key):
            step = periods_elapsed(incident.alerted_at or now, now, status_period(incident.level))
            if step and _queue_status(session, incident, step, now, actor):
                queued.append(incident.key)
    if queued:
        get_run_logger().info("进展通报已加入发件箱：%s", "、".join(queued))
    return queued


def _queue_status(session, incident: Incident, step: int, now: datetime, actor: str) -> int:  # type: ignore[no-untyped-def]
    people = roster_people()
    told = matrix_recipients(incident, people)
    owner = next((p for p in people if p.name == incident.acknowledged_by), None)
    deliveries = plan(told + ([owner] if owner and owner not in told else []), incident.level, now)
    metric = incidents.latest_metric(session, incident.id)
    shared = incident_context(incident, incidents.top_posts(session, incident.id))
    needs = [split_command(need, incident.key) for need in status_needs(
        incident.state, incident.acknowledged_by, repository.compensated_orders(session, incident.id), incident.level)]
    context = {
        **shared,
        "step": step, "as_of": show_time(now), "state_name": state_name(incident.state),
        "owner": incident.acknowledged_by,
        "interval_minutes": f"{status_period(incident.level).total_seconds() / 60:g}",
        "negative_count": incident.negative_count, "reach": f"{incident.reach:,}",
        "latest": metric and {"window_end": show_time(metric.window_end), "volume": metric.volume,
                              "negative_share": f"{metric.negative_share:.0%}"},
        "actions": _actions(session, incident.key),
        "needs": [text for text, _ in needs],
        "commands": list(dict.fromkeys([*(command for _, command in needs if command), *shared["commands"]])),
    }
    added = repository.enqueue(session, compose(
        "status", incident, context, deliveries,
        lambda d: f"status:{incident.key}:{incident.level}:{step}:{d.addressee.email.lower()}", now))
    if added:
        audit.record(session, actor=actor, action="notification.queued", entity_type="incident",
                     entity_id=incident.key, at=now, after={"kind": "status", "step": step,
                                                            "recipients": [d.to.email for d in deliveries]})
    return added


def _actions(session, key: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """Return the incident's last 15 steps for the 措施 section: when, who (a flow run by its flow's name, never
    its id) and what, in Chinese."""
    from tasks.aftercare.review_tasks import flow_names  # its chart library loads only when a status is due

    entries = [e for e in audit.entries_for(session, "incident", key) if e.action != "notification.queued"][-15:]
    flows = flow_names({e.actor for e in entries})
    return [{"at": show_time(e.at), "actor": actor_name(e.actor, flows), "what": STEP_ACTIONS.get(e.action, "其他操作")}
            for e in entries]
