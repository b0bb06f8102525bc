"""Prefect tasks of notification (应急响应、快速反应): queue alerts and drafts in the outbox, deliver
them, report what cannot be delivered, record acknowledgements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.events import Event

from config.files import load_playbooks, load_roster
from config.settings import get_settings
from tasks import audit
from tasks.common import local_zone, show_time
from tasks.db import retry_transient_db, session_scope
from tasks.errors import CrisisError, InvalidTransition
from tasks.events import INCIDENT_ACKNOWLEDGED, INCIDENT_OPENED, emit_incident_event, incident_resource
from tasks.incidents import repository as incidents
from tasks.incidents.repository import get_incident
from tasks.incidents.service import transition
from tasks.incidents.state import IncidentState, state_name
from tasks.models import Incident, Notification
from tasks.notify import repository
from tasks.notify.delivery import (
    GIVE_UP_AFTER,
    STATUS_NAMES,
    DeliveryStatus,
    DeliveryUncertain,
    Outcome,
    classify,
)
from tasks.notify.messages import (
    compose,
    compose_chats,
    failure_lines,
    incident_context,
    level_raise_context,
    matrix_recipients,
    plan,
    roster_people,
)
from tasks.notify.robots import ChatSender
from tasks.notify.routing import Delivery, holders
from tasks.notify.senders import SmtpSender
from tasks.notify.templates import incident_markdown

DRAFT_KINDS = ("apology", "announcement")
CUSTOMER_KINDS = ("compensation_notice",)  # sent in the shop's name (settings [shop]), never the system's
SHOWN = 20  # failed addresses named in an error, a notice or the audit log; the rest are counted


class DeliveryDeferred(CrisisError):
    """Some messages could not be delivered yet (SMTP unavailable); the outbox keeps them pending."""


class DeliveryFailed(CrisisError):
    """Some messages failed for good (rejected address, 5xx, undelivered for a day); they are marked failed."""


class SmtpMisconfigured(CrisisError):
    """The SMTP server refused our login, TLS or sender address: fix [email]; the outbox keeps the mail."""


class AlreadyAcknowledged(InvalidTransition):
    """The incident already has an owner; the message names who and when."""


def retry_deferred(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Prefect retry_condition_fn: retry only deliveries deferred by a transient SMTP failure."""
    try:
        state.result()
    except DeliveryDeferred:
        return True
    except Exception:  # noqa: BLE001 - anything else is not worth a retry
        return False
    return False


@dataclass
class DeliveryReport:
    sent: int = 0
    retry_later: int = 0
    failed: list[str] = field(default_factory=list)
    waiting_because: str = ""


def _misconfigured(exc: BaseException) -> SmtpMisconfigured:
    email = get_settings().email
    return SmtpMisconfigured(f"SMTP {email.host}:{email.port} refused us ({type(exc).__name__}: {exc}); "
                             "check [email] user, password, ssl, starttls — the outbox keeps every message")


def _draft_rows(incident: Incident, context: dict[str, object], now: datetime) -> list[dict[str, object]]:
    drafts = load_roster().drafts
    if incident.level not in drafts.levels:
        return []
    reviewers = plan(holders(drafts.roles, roster_people()), incident.level, now)
    draft_context = {**context, "commitments": load_playbooks().commitments_for(incident.category),
                     "today": now.astimezone(local_zone()).strftime("%Y年%m月%d日")}
    rows: list[dict[str, object]] = []
    for kind in DRAFT_KINDS:
        rows += compose(kind, incident, draft_context, reviewers,
                        lambda d, kind=kind: f"{kind}:{incident.key}:{d.addressee.email.lower()}", now)
    return rows


@task(task_run_name="queue-alerts-{incident_key}", retries=2, retry_delay_seconds=[2, 8],
      retry_condition_fn=retry_transient_db)
def queue_alerts(incident_key: str, now: datetime, actor: str) -> int:
    """Record one alert per person the roster's matrix names, routed around quiet hours, one per group robot
    and SMS the roster's [channels] name for the level, plus the PR drafts (apology, announcement) in the
    outbox; stamp the incident's first alert time. After a rise of the level the alert says so (from which
    level, who or which rule, why).

    Safe to re-run: dedup keys already queued are skipped, the first alert time is kept.
    """
    with session_scope() as session:
        incident = incidents.locked_incident(session, incident_key)
        context = {**incident_context(incident, incidents.top_posts(session, incident.id)),
                   "raised": level_raise_context(session, incident)}
        deliveries = plan(matrix_recipients(incident, roster_people()), incident.level, now)
        rows = compose("alert", incident, context, deliveries,
                       lambda d: f"alert:{incident.key}:{incident.level}:{d.addressee.email.lower()}", now)
        rows += compose_chats(incident, context, now) + _draft_rows(incident, context, now)
        added = repository.enqueue(session, rows)
        if incident.alerted_at is None:
            incident.alerted_at = now
        if added:
            audit.record(session, actor=actor, action="notification.queued", entity_type="incident",
                         entity_id=incident.key, at=now,
                         after={"kind": "alert", "level": incident.level, "recipients": _mailboxes(deliveries)})
    get_run_logger().info("%s：%d 条消息加入发件箱，%d 条此前已在发件箱中", incident_key, added, len(rows) - added)
    return added


def _mailboxes(deliveries: list[Delivery]) -> list[str]:
    return [d.to.email for d in deliveries]


@task
def incidents_needing_alerts() -> list[str]:
    """Return active incidents whose current level has not been alerted (no side effect)."""
    with session_scope() as session:
        return repository.incidents_without_alerts(session)


def _connect(sender: SmtpSender, report: DeliveryReport) -> bool:
    """Open the connection; False (and why) when the server is unavailable for now."""
    try:
        sender.connect()
    except Exception as exc:  # noqa: BLE001 - classified: unavailable for now, or our settings
        if classify(exc, connecting=True) is not Outcome.RETRY:
            raise _misconfigured(exc) from exc
        sender.reset()
        report.waiting_because = f"{type(exc).__name__}: {exc}"
        return False
    return True


def _attempt(sender: SmtpSender | ChatSender, notification_id: int, now: datetime, report: DeliveryReport) -> None:
    with session_scope() as session:
        was_uncertain = repository.status_of(session, notification_id) == DeliveryStatus.UNCERTAIN
        row = repository.claim(session, notification_id, now)
    if row is None:
        return
    from_name = get_settings().shop.name if row.kind in CUSTOMER_KINDS else None  # customers hear from the shop
    try:
        sender.send(row.recipient, row.subject, row.body_text, row.body_html, row.message_id, from_name)
    except Exception as exc:  # noqa: BLE001 - classified below and recorded, never swallowed
        outcome = classify(exc, connecting=False)
        status = DeliveryStatus.FAILED if outcome is Outcome.FAIL_MESSAGE else DeliveryStatus.PENDING
        if isinstance(exc, DeliveryUncertain) or (was_uncertain and status is DeliveryStatus.PENDING):
            status = DeliveryStatus.UNCERTAIN  # it may have arrived: say so until an attempt is answered
        with session_scope() as session:
            repository.finish(session, row.id, status, now, f"{type(exc).__name__}: {exc}")
        if outcome is Outcome.FIX_SETTINGS:
            raise _misconfigured(exc) from exc
        if outcome is Outcome.RETRY:
            report.retry_later += 1
            report.waiting_because = f"{type(exc).__name__}: {exc}"
            sender.reset()
        else:
            report.failed.append(f"{row.recipient}: {exc}")
        return
    with session_scope() as session:
        repository.finish(session, row.id, DeliveryStatus.SENT, now)
    report.sent += 1


@task(retries=4, retry_delay_seconds=[5, 15, 45, 135], retry_jitter_factor=0.5, retry_condition_fn=retry_deferred)
def deliver_outbox(now: datetime) -> dict[str, object]:
    """Send every deliverable outbox message once: group robots and SMS first, then mail. Safe to re-run:
    sent messages are never sent again.

    A message that fails for good (5xx, bad address) is marked failed (report_undeliverable tells
    people); one that fails for now (server down, 4xx) stays pending, and the task retries with
    backoff (5 s … 135 s), then the next sweep; a server that cannot be reached leaves the rest of the
    batch untouched. Messages held for quiet hours wait. A refused login, TLS or sender address
    stops the batch with SmtpMisconfigured, every message still pending.
    """
    report = DeliveryReport()
    with session_scope() as session:
        expired = repository.give_up_expired(session, now)
        chats = repository.deliverable_ids(session, now, chat=True)
        ids = repository.deliverable_ids(session, now, chat=False)
    _deliver_chats(chats, now, report)
    sender = SmtpSender(get_settings().email)
    try:
        for position, notification_id in enumerate(ids):
            if not _connect(sender, report):
                report.retry_later += len(ids) - position  # the server is down: the rest wait untouched
                break
            _attempt(sender, notification_id, now, report)
    finally:
        sender.close()
    get_run_logger().info("发件箱：已发送 %d 条，%d 条稍后重试，%d 条失败，%d 条超过 %g 小时未发出、已放弃", report.sent,
                          report.retry_later, len(report.failed), expired, GIVE_UP_AFTER.total_seconds() / 3600)
    if report.retry_later:
        raise DeliveryDeferred(f"{report.retry_later} 条消息留待稍后重试：{report.waiting_because}")
    return {"sent": report.sent}


def _deliver_chats(ids: list[int], now: datetime, report: DeliveryReport) -> None:
    """Post each group-robot and SMS message: a 5xx, 429 or rate limit keeps it pending, a wrong signature or
    key fails it (reported once), no answer in time leaves it uncertain (tried again)."""
    if not ids:
        return
    sender = ChatSender(load_roster().channels)
    try:
        for notification_id in ids:
            _attempt(sender, notification_id, now, report)
    finally:
        sender.close()


@task(task_run_name="report-undeliverable")
def report_undeliverable(now: datetime, actor: str) -> None:
    """Report messages that failed for good: queue a notice to the roster's `delivery.report_to`
    roles (sent by the next delivery), audit it, and raise DeliveryFailed naming each address.

    Safe to re-run: each failure is reported once (notifications.reported_at).
    """
    with session_scope() as session:
        failures = repository.claim_unreported_failures(session, now)
        by_incident: dict[int, list[Notification]] = {}
        for row in failures:  # mail about no incident is named in the error below, with no notice of its own
            if row.kind != "undeliverable" and row.incident_id is not None:
                by_incident.setdefault(row.incident_id, []).append(row)
        for incident_id, rows in by_incident.items():
            _queue_failure_notice(session, session.get_one(Incident, incident_id), rows, now, actor)
        described = [f"{r.recipient}（{r.kind}）：{r.last_error}" for r in failures]
    if described:
        more = f"；……另有 {len(described) - SHOWN} 条" if len(described) > SHOWN else ""
        raise DeliveryFailed(f"{len(described)} 条消息最终未能送达：" + "；".join(described[:SHOWN]) + more)


def _queue_failure_notice(session, incident: Incident, rows: list[Notification], now: datetime,  # type: ignore[no-untyped-def]
                          actor: str) -> None:
    reporters = plan(holders(load_roster().delivery.report_to, roster_people()), incident.level, now)
    context = {**incident_context(incident, incidents.top_posts(session, incident.id)),
               "failed_count": len(rows),
               "failures": failure_lines(rows[:SHOWN])}
    first = rows[0].id
    repository.enqueue(session, compose("undeliverable", incident, context, reporters,
                                        lambda d: f"undeliverable:{incident.key}:{first}:{d.addressee.email.lower()}",
                                        now))
    audit.record(session, actor=actor, action="notification.failed", entity_type="incident", entity_id=incident.key,
                 at=now, after={"failed": len(rows), "first": [r.recipient for r in rows[:SHOWN]],
                                "reported_to": _mailboxes(reporters)})


def incidents_touched(keys: list[str], escalated: State, reminded: State) -> list[str]:
    """Return the incidents whose mail changed this run: those alerted, and those the escalation and status
    steps touched when they completed (a failed step is reported by its own state)."""
    touched = set(keys)
    if escalated.is_completed():
        touched |= {str(s["incident_key"]) for s in escalated.result()}
    if reminded.is_completed():
        touched |= set(reminded.result())
    return sorted(touched)


@task
def publish_mail_report(incident_keys: list[str]) -> None:
    """Publish each incident's mail (recipients, status, top posts) as a markdown artifact
    `mail-<key>`; post text is escaped. Safe to re-run: a new version of the same artifact."""
    names = {p.email.lower(): p.name for p in roster_people()}
    with session_scope() as session:
        for key in incident_keys:
            incident = get_incident(session, key)
            context = incident_context(incident, incidents.top_posts(session, incident.id))
            rows = [{"kind": n.kind, "name": names.get(n.recipient.lower(), "—"), "email": n.recipient,
                     "status": _status_label(n.status)} for n in repository.notifications_of(session, incident.id)]
            create_markdown_artifact(key=f"mail-{key.lower()}", markdown=incident_markdown(context, rows),
                                     description=f"{key} 的危机邮件")


def _status_label(status: str) -> str:
    """Return `uncertain（待确认）` and the like: the stored status and what it means."""
    name = STATUS_NAMES.get(status)
    return f"{status}（{name}）" if name else status


def acknowledge(incident_key: str, by: str, note: str, now: datetime, *, via: str = "cli",
                if_open: bool = False) -> bool:
    """Record that `by` owns the incident (确认接手) and emit crisis.incident.acknowledged.

    The event follows the opening event, so Prefect sees the pair (and a proactive escalation
    trigger stays quiet). An incident someone already owns is refused with AlreadyAcknowledged,
    or, with `if_open`, left as it is (returns False).
    """
    with session_scope() as session:
        incident = incidents.locked_incident(session, incident_key)
        if incident.state != IncidentState.OPEN:
            if if_open:
                return False
            raise AlreadyAcknowledged(f"{incident_key} 已是「{state_name(incident.state)}」：确认人 "
                                      f"{incident.acknowledged_by or '—'}，确认时间 {show_time(incident.acknowledged_at)}")
        transition(session, incident, IncidentState.ACKNOWLEDGED, actor=by, at=now, note=note,
                   acknowledged_by=by, owner=by)
        opened = _opened_event(incident)
        brand, level = incident.brand, incident.level
    emit_incident_event(INCIDENT_ACKNOWLEDGED, incident_key, brand=brand, level=level,
                        payload={"by": by, "note": note, "via": via}, follows=opened)
    return True


def _opened_event(incident: Incident) -> Event | None:
    if not incident.opened_event_id or not incident.opened_event_at:
        return None
    return Event(id=UUID(incident.opened_event_id), occurred=incident.opened_event_at,
                 event=INCIDENT_OPENED, resource=incident_resource(incident.key))
