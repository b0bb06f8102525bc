"""Compose outbox rows: who gets which mail (and which group robot or phone an alert), when, rendered
from the Chinese templates.

Reads the roster, playbooks and settings and takes incidents the caller loaded; it sends nothing
and writes nothing. Untrusted text (posts, authors) stays raw here: the templates escape it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from config.files import address_problem, load_playbooks, load_roster
from config.settings import get_settings, read_environment
from tasks import audit
from tasks.aftercare.timeline import MAIL_KINDS
from tasks.common import local_zone, show_time
from tasks.incidents.state import LEVEL_COLOURS, LEVEL_NAMES, Level
from tasks.models import Incident, Mention, Notification
from tasks.notify.ack_link import ack_url
from tasks.notify.chat import (
    MENTION_LEVELS,
    OnDuty,
    alert_markdown,
    alert_title,
    chat_recipient,
    recipient_label,
    robot_body,
    sms_body,
)
from tasks.notify.delivery import DeliveryStatus, message_id_for
from tasks.notify.escalation import level_raise, raise_context
from tasks.notify.repository import latest_hit_reasons
from tasks.notify.routing import Delivery, QuietHours, Recipient, holders, plan_deliveries, recipients
from tasks.notify.templates import RenderedMail, one_line, render_mail, safe_url
from tasks.triage.brief import reason_lines, split_command

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LEVEL_CSS = {Level.I: "#c0392b", Level.II: "#e67e22", Level.III: "#d4ac0d", Level.IV: "#2e86c1"}


def roster_people() -> list[Recipient]:
    """Return the roster's people as routing recipients (with deputies and quiet hours)."""
    return [
        Recipient(p.name, p.email, tuple(p.roles), p.deputy,
                  QuietHours.parse(p.quiet_hours) if p.quiet_hours else None)
        for p in load_roster().people
    ]


def by_name(people: Sequence[Recipient]) -> dict[str, Recipient]:
    """Return the people by name (to find deputies)."""
    return {p.name: p for p in people}


def matrix_recipients(incident: Incident, people: Sequence[Recipient]) -> list[Recipient]:
    """Return who the roster's matrix tells about the incident at its current level and category."""
    matrix = load_roster().notify
    return recipients(incident.level, incident.category, people, matrix.by_level(), matrix.by_category)


def plan(people: Sequence[Recipient], level: str, now: datetime) -> list[Delivery]:
    """Route each person's message by quiet hours and deputies, as of `now`."""
    everyone = roster_people()
    return plan_deliveries(people, level, now.astimezone(local_zone()), by_name(everyone))


def incident_context(incident: Incident, posts: Sequence[Mention]) -> dict[str, Any]:
    """Return what every mail about the incident shows: facts, top posts, playbook, where to act. The trigger
    reason is read as the brief reads it (one Chinese sentence per rule, statistics in words); the playbook's
    commands are apart from its steps, for the person on duty."""
    level = Level(incident.level)
    reasons = [one_line(line, 300) for line in reason_lines(incident.trigger_reason)]
    steps = [split_command(step, incident.key) for step in load_playbooks().for_category(incident.category)]
    return {
        "key": one_line(incident.key, 64), "brand": one_line(incident.brand, 64),
        "category": one_line(incident.category, 64),
        "level": level.value, "level_name": LEVEL_NAMES[level], "level_colour": LEVEL_COLOURS[level],
        "level_css": LEVEL_CSS[level], "heat": incident.heat,
        "reasons": reasons, "reason": one_line("；".join(reasons), 500),
        "detected_at": show_time(incident.detected_at), "drill": incident.is_drill,
        "rumour": one_line(incident.rumour_reason or "疑似谣言", 500) if incident.possible_rumour else "",
        "posts": [
            {"platform": p.platform or p.source, "author": one_line(p.author or "匿名", 40),
             "reach": f"{p.reach:,}", "text": one_line(p.text), "url": one_line(p.url or "", 300),
             "link": safe_url(p.url)}
            for p in posts
        ],
        "playbook": [text for text, _ in steps if text],
        "commands": list(dict.fromkeys(command for _, command in steps if command)),
        "ui_url": ack_url(incident.key),
        "sender_name": get_settings().email.sender_name,
    }


def level_raise_context(session: Session, incident: Incident) -> dict[str, Any]:
    """Read how the incident's level rose to the current one (the audit log, the detection hits of that
    scan, worded as the brief words them) and return it as `raise_context` does."""
    entries = [{"action": e.action, "actor": e.actor, "at": e.at, "before": json.loads(e.before or "null"),
                "after": json.loads(e.after or "null")} for e in audit.entries_for(session, "incident", incident.key)]
    raised = level_raise(entries, Level(incident.level))
    hits = latest_hit_reasons(session, incident.id, raised.at) if raised and not raised.manual else []
    return raise_context(raised, [line for hit in hits for line in reason_lines(hit)])


def failure_lines(rows: Sequence[Notification]) -> list[dict[str, str]]:
    """Return the undeliverable notice's lines: to whom (a group robot by its platform), which kind of message
    in Chinese, and why it failed."""
    return [{"recipient": recipient_label(r.recipient), "kind": MAIL_KINDS.get(r.kind, "消息"),
             "error": r.last_error or ""} for r in rows]


def personal_context(delivery: Delivery) -> dict[str, Any]:
    """Return the greeting of one delivery (and whom a deputy stands in for)."""
    titles = load_roster().roles
    person = delivery.to
    return {
        "greeting": f"{person.name}（{'、'.join(titles.get(r, r) for r in person.roles)}）您好：",
        "on_behalf": delivery.addressee.name if delivery.on_behalf else "",
    }


def compose(
    kind: str,
    incident: Incident,
    context: dict[str, Any],
    deliveries: Sequence[Delivery],
    dedup_for: Callable[[Delivery], str],
    now: datetime,
) -> list[dict[str, object]]:
    """Render one message per delivery and return outbox rows (pending, keyed for deduplication).

    A message that cannot be sent (a bad roster address, a template that does not render) is a failed row
    naming why, reported like any undeliverable mail; it never stops the others.
    """
    from jinja2 import TemplateError  # imported when mail is written, not by every scan and CLI command

    templates = get_settings().config_dir / "templates"
    rows: list[dict[str, object]] = []
    for delivery in deliveries:
        dedup = dedup_for(delivery)
        mail, problem = RenderedMail("", "", ""), address_problem(delivery.to.email)
        if problem is not None:
            problem = f"roster.toml 中 {delivery.to.name} 的地址：{problem}"
        else:
            try:
                mail = render_mail(kind, {**context, **personal_context(delivery)}, templates)
            except TemplateError as exc:
                problem = f"模板 {kind} 无法生成邮件（{type(exc).__name__}: {exc}）；运行 crisis config check"
        rows.append({
            "incident_id": incident.id, "kind": kind, "recipient": delivery.to.email, "dedup_key": dedup,
            "subject": mail.subject, "body_text": mail.text, "body_html": mail.html,
            "status": (DeliveryStatus.FAILED if problem else DeliveryStatus.PENDING).value, "last_error": problem,
            "attempts": 0, "message_id": message_id_for(dedup), "created_at": now, "not_before": delivery.not_before,
        })
    return rows


def chat_links(key: str) -> dict[str, str]:
    """Return the links a chat alert carries: the incident's brief artifact and where to acknowledge."""
    base = (read_environment("PREFECT_UI_URL") or "http://127.0.0.1:4200").rstrip("/")
    return {"brief": f"{base}/artifacts/key/brief-{key.lower()}", "ack": ack_url(key)}


def compose_chats(incident: Incident, context: dict[str, Any], now: datetime) -> list[dict[str, object]]:
    """Return the alert's outbox rows for the roster's [channels] at the incident's level: one per group robot
    (@-mentioning the on-duty holders of its roles at levels I and II), one SMS per holder of an SMS channel's
    roles. Keyed `alert:<key>:<level>:<recipient>`; a holder without a mobile number is a failed row naming why.
    """
    roster = load_roster()
    people, persons = roster_people(), {p.name: p for p in roster.people}
    links = chat_links(incident.key)
    rows: list[dict[str, object]] = []
    for name, channel in roster.channels.items():
        if incident.level not in channel.levels:
            continue
        if channel.kind == "sms":
            for holder in holders(channel.roles, people):
                mobile = persons[holder.name].mobile
                body = sms_body(mobile or "", channel.sign_name or "", channel.template or "", context)
                problem = None if mobile else f"roster.toml 中 {holder.name} 没有手机号（mobile），短信无法发送"
                rows.append(_chat_row(incident, chat_recipient("sms", name, mobile), f"sms:{name}:{holder.name}",
                                      alert_title(context), f"短信模板 {channel.template}：{body['TemplateParam']}",
                                      body, problem, now))
            continue
        on_duty = ([d.to for d in plan(holders(channel.roles, people), incident.level, now)]
                   if incident.level in MENTION_LEVELS else [])
        mentions = [OnDuty(p.name, persons[p.name].mobile, persons[p.name].chat_ids.get(channel.kind))
                    for p in on_duty]
        rows.append(_chat_row(incident, chat_recipient(channel.kind, name), f"{channel.kind}:{name}",
                              alert_title(context), alert_markdown(channel.kind, context, links, mentions),
                              robot_body(channel.kind, context, links, mentions), None, now))
    return rows


def _chat_row(incident: Incident, recipient: str, channel_key: str, subject: str, text: str,
              body: dict[str, Any], problem: str | None, now: datetime) -> dict[str, object]:
    dedup = f"alert:{incident.key}:{incident.level}:{channel_key}"
    return {"incident_id": incident.id, "kind": "alert", "recipient": recipient, "dedup_key": dedup,
            "subject": subject, "body_text": text, "body_html": json.dumps(body, ensure_ascii=False),
            "status": (DeliveryStatus.FAILED if problem else DeliveryStatus.PENDING).value, "last_error": problem,
            "attempts": 0, "message_id": message_id_for(dedup), "created_at": now, "not_before": None}
