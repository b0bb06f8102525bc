"""Drills (应急演练): inject a generated crisis into the drill source, find its incident, grade the response.

A drill's mentions carry `is_drill`: triage grades them apart, into drill incidents (DRILL-…) that run the
real lifecycle, and nothing real ever sees them. The drill row records what was injected and, once
graded, the scorecard.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import markdown as md
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from config.drills import Scenario, load_drills
from config.files import load_roster
from config.settings import get_settings
from tasks import audit
from tasks.common import show_time
from tasks.db import session_scope
from tasks.drills.grading import DrillFacts, Targets, grade, render_scorecard
from tasks.errors import CrisisError, NotFound
from tasks.models import CompensationBatch, Drill, Incident, Mention, Notification, RepairStep
from tasks.monitoring import repository as mentions
from tasks.monitoring.duplicates import link_duplicates
from tasks.monitoring.sources import RawMention
from tasks.monitoring.tasks import DUPLICATE_WINDOW
from tasks.notify.delivery import DeliveryStatus, message_id_for
from tasks.notify.repository import enqueue
from tasks.notify.templates import clean_subject, escape_markdown
from tasks.scenario import CrisisSpec, generate_orders, generate_week, write_orders_rows

DRILL_SOURCE = "drill"
DRILL_LOCK = 0x64726C6C  # "drll": two drill starts at the same moment take turns, so only one runs
RUNNING, GRADED = "running", "graded"


class DrillRefused(CrisisError):
    """A drill cannot start: unknown scenario, or another drill is still running."""


@dataclass(frozen=True)
class Injection:
    """A generated drill, before it is stored."""

    scenario: str
    seed: int
    crisis_start: datetime
    mentions: list[RawMention]
    rows: list[dict[str, object]]  # canonical rows, written to var/drills/<id>/mentions.jsonl
    orders: list[dict[str, object]]


def scenario_for(name: str) -> Scenario:
    """Return the named scenario of config/drills.toml, or raise DrillRefused listing the known ones."""
    try:
        return load_drills().get(name)
    except KeyError as exc:
        raise DrillRefused(str(exc.args[0])) from None


@task(cache_policy=NO_CACHE)
def generate_drill(name: str, seed: int, now: datetime) -> Injection:
    """Generate the scenario's crisis (starting `lead_minutes` before `now`) on `baseline_days` of ordinary
    chatter; posts dated after `now` appear to scans as their time comes. No side effect."""
    cfg, scenario = load_drills(), scenario_for(name)
    crisis_start = (now - timedelta(minutes=scenario.lead_minutes)).replace(microsecond=0)
    end = now + timedelta(hours=scenario.duration_hours)
    days = cfg.baseline_days + math.ceil(scenario.duration_hours / 24) + 1
    spec = CrisisSpec(scenario.brand, scenario.product, scenario.category, crisis_start, scenario.size,
                      scenario.expected_level)
    try:
        week = generate_week(seed, end, days=days, crises=[spec])
        orders = generate_orders(seed, scenario.product, 200, crisis_start) if scenario.compensation else []
    except ValueError as exc:
        raise DrillRefused(f"drills.toml: scenario {name!r}: {exc}") from None
    raws = [RawMention(source=DRILL_SOURCE, external_id=str(row["id"]), text=str(row["text"]),
                       published_at=datetime.fromisoformat(str(row["published_at"])), author=str(row["author"]),
                       reach=int(row["reach"]), url=str(row["url"]), platform=str(row["platform"]))  # type: ignore[call-overload]
            for row in week.mentions]
    return Injection(name, seed, crisis_start, raws, week.mentions, orders)


def _running(session: Session) -> Drill | None:
    return session.scalars(select(Drill).where(Drill.status == RUNNING).order_by(Drill.id).limit(1)).first()


@task(cache_policy=NO_CACHE)
def inject_drill(injection: Injection, analysed: list[dict[str, object]], started_by: str, now: datetime) -> int:
    """Record the drill and store its mentions in the drill source, in one transaction (all or nothing);
    return the drill's id. Refused while another drill is running: two would feed each other's incidents."""
    scenario = scenario_for(injection.scenario)
    with session_scope() as session:
        if session.get_bind().dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE already serialises
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": DRILL_LOCK})
        running = _running(session)
        if running is not None:
            raise DrillRefused(f"drill #{running.id} ({running.scenario}) is still running until "
                               f"{show_time(running.grade_at)}: grade it first (crisis drill grade {running.id})")
        drill = Drill(scenario=injection.scenario, seed=injection.seed, brand=scenario.brand,
                      category=scenario.category, expected_level=scenario.expected_level, status=RUNNING,
                      started_by=started_by, started_at=now, crisis_start=injection.crisis_start,
                      grade_at=now + timedelta(minutes=scenario.grade_after_minutes), mentions=len(analysed))
        session.add(drill)
        session.flush()
        rows = [{**row, "external_id": f"d{drill.id}-{row['external_id']}", "is_drill": True} for row in analysed]
        earlier = mentions.recent_originals(session, rows, DUPLICATE_WINDOW)
        _, new = mentions.insert_mentions(session, rows)
        mentions.link_duplicates(session, link_duplicates(earlier, new, window=DUPLICATE_WINDOW))
        audit.record(session, actor=started_by, action="drill.started", entity_type="drill", entity_id=str(drill.id),
                     at=now, after={"scenario": injection.scenario, "seed": injection.seed, "brand": scenario.brand,
                                    "category": scenario.category, "expected_level": scenario.expected_level,
                                    "mentions": len(rows), "crisis_start": injection.crisis_start.isoformat(),
                                    "grade_at": drill.grade_at.isoformat()})
        drill_id = drill.id
    folder = get_settings().var_path / "drills" / str(drill_id)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "mentions.jsonl").open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in injection.rows)
    if injection.orders:
        write_orders_rows(injection.orders, folder / "orders.csv")
    get_run_logger().info("drill #%d (%s): %d mentions injected into the drill source; graded at %s",
                          drill_id, injection.scenario, len(rows), show_time(now + timedelta(
                              minutes=scenario.grade_after_minutes)))
    return drill_id


def _drill_incident(session: Session, drill: Drill) -> Incident | None:
    """Return the drill incident this drill opened: its brand and category, detected after the crisis began."""
    if drill.incident_id is not None:
        return session.get(Incident, drill.incident_id)
    incident = session.scalars(select(Incident).where(
        Incident.is_drill.is_(True), Incident.brand == drill.brand, Incident.category == drill.category,
        Incident.detected_at >= drill.crisis_start).order_by(Incident.id).limit(1)).first()
    if incident is not None:
        drill.incident_id = incident.id
    return incident


@task(cache_policy=NO_CACHE)
def link_drill_incident(drill_id: int) -> str | None:
    """Link the drill to the incident its mentions opened; return its key (None while none is open)."""
    with session_scope() as session:
        drill = _get(session, drill_id)
        incident = _drill_incident(session, drill)
        return incident.key if incident else None


def _get(session: Session, drill_id: int) -> Drill:
    drill = session.get(Drill, drill_id)
    if drill is None:
        raise NotFound(f"no drill #{drill_id}")
    return drill


def targets() -> Targets:
    """Return the grading targets: config/drills.toml [targets] and settings.toml [notify] ack_minutes."""
    t = load_drills().targets
    return Targets(detect_minutes=t.detect_minutes, alert_minutes=t.alert_minutes,
                   ack_minutes=get_settings().notify.ack_minutes,
                   required_steps={k: list(v) for k, v in t.required_steps.items()}, pass_score=t.pass_score)


def drill_facts(session: Session, drill: Drill, now: datetime) -> DrillFacts:
    """Gather what the response did, as recorded in the database."""
    scenario = load_drills().scenarios.get(drill.scenario)
    incident = _drill_incident(session, drill)
    base = dict(drill_id=drill.id, scenario=drill.scenario, title=scenario.title if scenario else drill.scenario,
                expected_level=drill.expected_level, crisis_start=drill.crisis_start, started_at=drill.started_at,
                graded_at=now, compensation_expected=bool(scenario and scenario.compensation))
    if incident is None:
        return DrillFacts(**base)  # type: ignore[arg-type]
    first_alert = session.scalar(select(func.min(Notification.sent_at)).where(
        Notification.incident_id == incident.id, Notification.kind == "alert",
        Notification.status == DeliveryStatus.SENT.value))
    sent = session.scalar(select(func.count(Notification.id)).where(
        Notification.incident_id == incident.id, Notification.status == DeliveryStatus.SENT.value))
    steps = dict(session.execute(select(RepairStep.step, RepairStep.state).where(
        RepairStep.incident_id == incident.id)).tuples().all())
    batches = session.scalar(select(func.count(CompensationBatch.id)).where(
        CompensationBatch.incident_id == incident.id, CompensationBatch.dry_run.is_(True)))
    return DrillFacts(**base, incident_key=incident.key, level=incident.level,  # type: ignore[arg-type]
                      detected_at=incident.detected_at, first_alert_at=first_alert,
                      acknowledged_at=incident.acknowledged_at, acknowledged_by=incident.acknowledged_by,
                      escalation_tier=incident.escalation_tier, steps=steps, dry_run_batches=int(batches or 0),
                      mails_sent=int(sent or 0))


@task(cache_policy=NO_CACHE)
def due_drills(now: datetime) -> list[int]:
    """Return the running drills whose grading time has come (no side effect)."""
    with session_scope() as session:
        return list(session.scalars(select(Drill.id).where(Drill.status == RUNNING, Drill.grade_at <= now)
                                    .order_by(Drill.id)))


@task(task_run_name="grade-drill-{drill_id}", cache_policy=NO_CACHE)
def grade_drill(drill_id: int, now: datetime, actor: str) -> dict[str, object]:
    """Grade the drill as of `now`: write var/drills/<id>/scorecard.md and .html, publish the `drill-<id>`
    artifact, queue the scorecard mail (【演练】) to everyone the drill alerted and the commander. Safe to
    re-run: a graded drill keeps its first grade; files and artifact are rewritten, the mail queued once."""
    with session_scope() as session:
        drill = _get(session, drill_id)
        if drill.status == GRADED and drill.grade:
            result = json.loads(drill.grade)
            text = (get_settings().var_path / "drills" / str(drill_id) / "scorecard.md")
            return {"drill": drill_id, "score": drill.score, "verdict": result.get("verdict"), "path": str(text)}
        facts = drill_facts(session, drill, now)
        result = grade(facts, targets())
        text = render_scorecard(facts, result, show_time, escape_markdown)
        drill.status, drill.graded_at, drill.score = GRADED, now, result.score
        drill.grade = json.dumps({**result.as_dict(), "incident": facts.incident_key}, ensure_ascii=False)
        stopped = _stop_feed(session, drill, now)
        audit.record(session, actor=actor, action="drill.graded", entity_type="drill", entity_id=str(drill_id),
                     at=now, after={"score": result.score, "verdict": result.verdict, "incident": facts.incident_key,
                                    "posts_withdrawn": stopped})
        queued = _queue_scorecard(session, drill, facts.incident_key, text, now)
    path = _write(drill_id, text)
    create_markdown_artifact(markdown=text, key=f"drill-{drill_id}", description=f"演练评估 #{drill_id}")
    get_run_logger().info("drill #%d graded %d (%s); scorecard %s; %d mail(s) queued", drill_id, result.score,
                          result.verdict, path, queued)
    return {"drill": drill_id, "score": result.score, "verdict": result.verdict, "path": str(path),
            "incident": facts.incident_key}


def _stop_feed(session: Session, drill: Drill, now: datetime) -> int:
    """End the drill's feed: its posts not yet published are withdrawn, so the tail of the generated crisis
    cannot open another drill incident once this one is handled. Return how many."""
    result = session.execute(delete(Mention).where(
        Mention.is_drill.is_(True), Mention.source == DRILL_SOURCE, Mention.external_id.like(f"d{drill.id}-%"),
        Mention.published_at > now, Mention.incident_id.is_(None)))
    return result.rowcount or 0


def _write(drill_id: int, text: str) -> object:
    folder = get_settings().var_path / "drills" / str(drill_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scorecard.md").write_text(text, encoding="utf-8")
    html = md.markdown(text, extensions=["tables"])
    (folder / "scorecard.html").write_text(
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"></head><body>' + html + "</body></html>",
        encoding="utf-8")
    return folder / "scorecard.md"


def _queue_scorecard(session: Session, drill: Drill, incident_key: str | None, text: str, now: datetime) -> int:
    """Queue the scorecard to everyone the drill's incident alerted, plus the commander and the scribe.
    A drill that never opened an incident (detection failed) still reports, to the commander and scribe."""
    incident = session.get(Incident, drill.incident_id) if drill.incident_id else None
    verdict = json.loads(drill.grade or "{}").get("verdict", "")
    subject = clean_subject(f"【演练】演练评估 #{drill.id} {incident_key or '未立案'}：{verdict}（{drill.score} 分）")
    recipients: set[str] = set()
    if incident is not None:
        recipients |= set(session.scalars(select(Notification.recipient).where(
            Notification.incident_id == incident.id, Notification.kind.in_(("alert", "escalation", "status")))))
    recipients |= {p.email for p in load_roster().people if {"commander", "scribe"} & set(p.roles)}
    html = md.markdown(text, extensions=["tables"])
    rows = [{"incident_id": incident.id if incident else None, "kind": "drill_grade", "recipient": email,
             "dedup_key": f"drill_grade:{drill.id}:{email.lower()}", "subject": subject, "body_text": text,
             "body_html": html, "status": DeliveryStatus.PENDING.value, "attempts": 0,
             "message_id": message_id_for(f"drill_grade:{drill.id}:{email.lower()}"), "created_at": now}
            for email in sorted(recipients, key=str.lower)]
    return enqueue(session, rows)


def list_drills(limit: int = 20) -> list[dict[str, object]]:
    """Return the newest drills for people: id, scenario, status, incident, score."""
    with session_scope() as session:
        drills = list(session.scalars(select(Drill).order_by(Drill.id.desc()).limit(limit)))
        out = []
        for d in drills:
            incident = session.get(Incident, d.incident_id) if d.incident_id else None
            out.append({"id": d.id, "scenario": d.scenario, "status": d.status, "started": show_time(d.started_at),
                        "grade at": show_time(d.grade_at), "incident": incident.key if incident else "—",
                        "score": "—" if d.score is None else str(d.score)})
        return out
