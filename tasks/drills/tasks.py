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
from typing import TYPE_CHECKING

import markdown as md
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from config.drills import Scenario, load_drills
from config.files import load_roster
from config.settings import get_settings
from tasks import audit
from tasks.aftercare.repository import step_states
from tasks.common import show_time
from tasks.compensation.repository import dry_run_batches
from tasks.db import session_scope
from tasks.drills.grading import DrillFacts, Targets, grade, render_scorecard
from tasks.drills.repository import (
    GRADED,
    RUNNING,
    drill_incident,
    due_drill_ids,
    get_drill,
    lock_drill_starts,
    new_drill,
    newest_drills,
    running_drill,
    withdraw_unpublished,
)
from tasks.errors import CrisisError
from tasks.monitoring import repository as mentions
from tasks.monitoring.sources import RawMention
from tasks.monitoring.tasks import DUPLICATE_WINDOW
from tasks.notify.repository import first_sent_at, recipients_of, sent_count
from tasks.notify.templates import clean_subject, escape_markdown
from tasks.outbox import queue_mail
from tasks.scenario.files import write_mention_rows, write_orders_rows
from tasks.scenario.orders import generate_orders
from tasks.scenario.week import CrisisSpec, generate_week

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tasks.models import Drill

DRILL_SOURCE = "drill"


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
        raise DrillRefused(f"drills.toml：演练场景 {name!r} 无法生成：{exc}") from None
    raws = [RawMention(source=DRILL_SOURCE, external_id=str(row["id"]), text=str(row["text"]),
                       published_at=datetime.fromisoformat(str(row["published_at"])), author=str(row["author"]),
                       reach=int(row["reach"]), url=str(row["url"]), platform=str(row["platform"]))  # type: ignore[call-overload]
            for row in week.mentions]
    return Injection(name, seed, crisis_start, raws, week.mentions, orders)


@task(cache_policy=NO_CACHE)
def inject_drill(injection: Injection, analysed: list[dict[str, object]], started_by: str, now: datetime) -> int:
    """Record the drill and store its mentions in the drill source, in one transaction (all or nothing);
    return the drill's id. Refused while another drill is running: two would feed each other's incidents."""
    scenario = scenario_for(injection.scenario)
    with session_scope() as session:
        lock_drill_starts(session)
        running = running_drill(session)
        if running is not None:
            raise DrillRefused(f"演练 #{running.id}（{running.scenario}）仍在进行，{show_time(running.grade_at)} 评分；"
                               f"请先评分（crisis drill grade {running.id}）再开始新的演练")
        drill = new_drill(session, scenario=injection.scenario, seed=injection.seed, brand=scenario.brand,
                          category=scenario.category, expected_level=scenario.expected_level, status=RUNNING,
                          started_by=started_by, started_at=now, crisis_start=injection.crisis_start,
                          grade_at=now + timedelta(minutes=scenario.grade_after_minutes), mentions=len(analysed))
        rows = [{**row, "external_id": f"d{drill.id}-{row['external_id']}", "is_drill": True} for row in analysed]
        mentions.store_new_mentions(session, rows, DUPLICATE_WINDOW)
        audit.record(session, actor=started_by, action="drill.started", entity_type="drill", entity_id=str(drill.id),
                     at=now, after={"scenario": injection.scenario, "seed": injection.seed, "brand": scenario.brand,
                                    "category": scenario.category, "expected_level": scenario.expected_level,
                                    "mentions": len(rows), "crisis_start": injection.crisis_start.isoformat(),
                                    "grade_at": drill.grade_at.isoformat()})
        drill_id = drill.id
    _keep_injection(drill_id, injection)
    get_run_logger().info("演练 #%d（%s）：已向演练数据源注入 %d 条提及，将于 %s 评估",
                          drill_id, injection.scenario, len(rows), show_time(now + timedelta(
                              minutes=scenario.grade_after_minutes)))
    return drill_id


def _keep_injection(drill_id: int, injection: Injection) -> None:
    """Write what was injected under var/drills/<id>/: mentions.jsonl, and orders.csv when there are orders."""
    folder = get_settings().var_path / "drills" / str(drill_id)
    folder.mkdir(parents=True, exist_ok=True)
    write_mention_rows(injection.rows, folder / "mentions.jsonl")
    if injection.orders:
        write_orders_rows(injection.orders, folder / "orders.csv")


@task(cache_policy=NO_CACHE)
def link_drill_incident(drill_id: int) -> str | None:
    """Link the drill to the incident its mentions opened; return its key (None while none is open)."""
    with session_scope() as session:
        incident = drill_incident(session, get_drill(session, drill_id))
        return incident.key if incident else None


def targets() -> Targets:
    """Return the grading targets: config/drills.toml [targets] and settings.toml [notify] ack_minutes."""
    t = load_drills().targets
    return Targets(detect_minutes=t.detect_minutes, alert_minutes=t.alert_minutes,
                   ack_minutes=get_settings().notify.ack_minutes,
                   required_steps={k: list(v) for k, v in t.required_steps.items()}, pass_score=t.pass_score)


def drill_facts(session: Session, drill: Drill, now: datetime) -> DrillFacts:
    """Gather what the response did, as recorded in the database."""
    scenario = load_drills().scenarios.get(drill.scenario)
    incident = drill_incident(session, drill)
    base = dict(drill_id=drill.id, scenario=drill.scenario, title=scenario.title if scenario else drill.scenario,
                expected_level=drill.expected_level, crisis_start=drill.crisis_start, started_at=drill.started_at,
                graded_at=now, compensation_expected=bool(scenario and scenario.compensation))
    if incident is None:
        return DrillFacts(**base)  # type: ignore[arg-type]
    return DrillFacts(**base, incident_key=incident.key, level=incident.level,  # type: ignore[arg-type]
                      detected_at=incident.detected_at, first_alert_at=first_sent_at(session, incident.id, "alert"),
                      acknowledged_at=incident.acknowledged_at, acknowledged_by=incident.acknowledged_by,
                      escalation_tier=incident.escalation_tier, steps=step_states(session, incident.id),
                      dry_run_batches=dry_run_batches(session, incident.id), mails_sent=sent_count(session, incident.id))


@task(cache_policy=NO_CACHE)
def due_drills(now: datetime) -> list[int]:
    """Return the running drills whose grading time has come (no side effect)."""
    with session_scope() as session:
        return due_drill_ids(session, now)


@task(task_run_name="grade-drill-{drill_id}", cache_policy=NO_CACHE)
def grade_drill(drill_id: int, now: datetime, actor: str) -> dict[str, object]:
    """Grade the drill as of `now`: write var/drills/<id>/scorecard.md and .html, publish the `drill-<id>`
    artifact, queue the scorecard mail (【演练】) to everyone the drill alerted and the commander. Safe to
    re-run: a graded drill keeps its first grade; files and artifact are rewritten, the mail queued once."""
    with session_scope() as session:
        drill = get_drill(session, drill_id)
        if drill.status == GRADED and drill.grade:
            result = json.loads(drill.grade)
            text = (get_settings().var_path / "drills" / str(drill_id) / "scorecard.md")
            return {"drill": drill_id, "score": drill.score, "verdict": result.get("verdict"), "path": str(text)}
        facts = drill_facts(session, drill, now)
        result = grade(facts, targets())
        text = render_scorecard(facts, result, show_time, escape_markdown)
        drill.status, drill.graded_at, drill.score = GRADED, now, result.score
        drill.grade = json.dumps({**result.as_dict(), "incident": facts.incident_key}, ensure_ascii=False)
        # End the feed: the tail of the generated crisis must not open another drill incident.
        stopped = withdraw_unpublished(session, drill.id, DRILL_SOURCE, now)
        audit.record(session, actor=actor, action="drill.graded", entity_type="drill", entity_id=str(drill_id),
                     at=now, after={"score": result.score, "verdict": result.verdict, "incident": facts.incident_key,
                                    "posts_withdrawn": stopped})
        queued = _queue_scorecard(session, drill, facts.incident_key, text, now)
    path = _write(drill_id, text)
    create_markdown_artifact(markdown=text, key=f"drill-{drill_id}", description=f"演练评估 #{drill_id}")
    get_run_logger().info("演练 #%d 评估完成：%d 分（%s）；评估报告 %s；%d 封邮件加入发件箱", drill_id, result.score,
                          result.verdict, path, queued)
    return {"drill": drill_id, "score": result.score, "verdict": result.verdict, "path": str(path),
            "incident": facts.incident_key}


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
    verdict = json.loads(drill.grade or "{}").get("verdict", "")
    subject = clean_subject(f"【演练】演练评估 #{drill.id} {incident_key or '未立案'}：{verdict}（{drill.score} 分）")
    recipients: set[str] = set()
    if drill.incident_id:
        recipients |= recipients_of(session, drill.incident_id, kinds=("alert", "escalation", "status"))
    recipients |= {p.email for p in load_roster().people if {"commander", "scribe"} & set(p.roles)}
    return queue_mail(session, incident_id=drill.incident_id or None, kind="drill_grade",
                      recipients=recipients, dedup_prefix=f"drill_grade:{drill.id}", subject=subject, body_text=text,
                      body_html=md.markdown(text, extensions=["tables"]), now=now)


def list_drills(limit: int = 20) -> list[dict[str, object]]:
    """Return the newest drills for people: id, scenario, status, incident, score."""
    with session_scope() as session:
        return [{"id": d.id, "scenario": d.scenario, "status": d.status, "started": show_time(d.started_at),
                 "grade at": show_time(d.grade_at), "incident": incident.key if incident else "—",
                 "score": "—" if d.score is None else str(d.score)}
                for d, incident in newest_drills(session, limit)]
