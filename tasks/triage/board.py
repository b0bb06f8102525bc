"""What operators look at in the Prefect UI: the incident board and one brief per active incident."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from config.files import load_playbooks, load_severity
from config.settings import get_settings
from tasks.common import local_zone, show_time
from tasks.db import session_scope
from tasks.incidents import repository
from tasks.incidents.state import LEVEL_NAMES, RESOLUTION_NAMES, Level, Resolution
from tasks.models import Incident
from tasks.notify.templates import escape_markdown, markdown_link, one_line
from tasks.triage import repository as mentions
from tasks.triage.brief import BriefData, render_brief
from tasks.triage.debunk import render_debunk_statement

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _age(incident: Incident, now: datetime) -> str:
    minutes = max(0, int((now - incident.detected_at).total_seconds() // 60))
    return f"{minutes} 分钟" if minutes < 120 else f"{minutes / 60:.1f} 小时"


def _state(incident: Incident) -> str:
    """Return the state, with how it was closed when it was no real crisis (closed（误报）)."""
    if incident.resolution is None:
        return str(incident.state)
    return f"{incident.state}（{RESOLUTION_NAMES[Resolution(incident.resolution)]}）"


def board_row(incident: Incident, now: datetime, sources: str) -> dict[str, object]:
    """Return one row of the incident board (the trigger reason and rumour reason are ours, not post text)."""
    return {"key": incident.key, "level": f"{incident.level} {LEVEL_NAMES[Level(incident.level)]}",
            "state": _state(incident), "brand": incident.brand, "category": incident.category, "heat": incident.heat,
            "age": _age(incident, now), "owner": incident.owner or "—",
            "rumour": (incident.rumour_reason or "疑似谣言") if incident.possible_rumour else "—",
            "source health": sources, "trigger reason": incident.trigger_reason}


@task
def publish_incident_board(now: datetime, source_health: list[dict[str, object]] | None = None) -> int:
    """Update the `incident-board` table artifact (newest first, with source health); return its rows."""
    sources = "; ".join(f"{h['name']}: {h['status']}" for h in source_health or []) or "—"
    with session_scope() as session:
        rows = [board_row(i, now, sources) for i in repository.list_incidents(session)]
    create_table_artifact(key="incident-board", table=rows or [{"key": "—", "state": "no incidents",
                                                                "source health": sources}],
                          description="舆情事件看板 — incidents, newest first")
    return len(rows)


def _hourly_negative(session: Session, incident: Incident, now: datetime) -> list[int]:
    since = now - timedelta(hours=24)
    counts = [0] * 24
    for at in mentions.negative_times(session, incident, since, now):
        counts[min(23, int((at - since).total_seconds() // 3600))] += 1
    return counts


def brief_for(session: Session, incident: Incident, now: datetime) -> str:
    """Return the Markdown brief of one incident (post text escaped and inert, links only to http(s) URLs)."""
    from tasks.monitoring.sentiment_model import negative_evidence

    level = Level(incident.level)
    posts = []
    for p in repository.top_posts(session, incident.id):
        why = negative_evidence(p.text) if p.negative else ""
        link = markdown_link("原文", p.url)
        posts.append(f"[{escape_markdown(p.platform or p.source)}] 触达 {p.reach:,} · {escape_markdown(one_line(p.text))}"
                     + (f" ({link})" if link else "")
                     + (f"  \n   负面依据：{escape_markdown(why)}" if why else ""))
    return render_brief(BriefData(
        key=incident.key, brand=incident.brand, category=incident.category, level=level.value,
        level_name=LEVEL_NAMES[level], state=incident.state, heat=incident.heat,
        reason=escape_markdown(incident.trigger_reason), detected=show_time(incident.detected_at),
        owner=escape_markdown(incident.owner or "未确认"), hourly_negative=_hourly_negative(session, incident, now),
        top_posts=posts, level_steps=load_severity().level_steps.get(level.value, []),
        playbook=load_playbooks().for_category(incident.category), **_rumour_parts(session, incident, now),
    ))


def _rumour_parts(session: Session, incident: Incident, now: datetime) -> dict[str, object]:
    """Return the brief's 辟谣 section of a possible rumour: the reason, the path, the draft statement."""
    if not incident.possible_rumour:
        return {}
    origin = [m for m in repository.earliest_posts(session, incident.id) if not m.debunk]
    claim = one_line(origin[0].text, 40) if origin else f"{incident.brand}{incident.category}问题"
    statement = render_debunk_statement(get_settings().config_dir / "templates", brand=escape_markdown(incident.brand),
                                        claim=escape_markdown(claim),
                                        today=now.astimezone(local_zone()).strftime("%Y年%m月%d日"))
    return {"rumour": escape_markdown(incident.rumour_reason or "疑似谣言"),
            "debunk_steps": load_playbooks().debunk.steps, "debunk_statement": statement}


@task
def publish_briefs(now: datetime) -> list[str]:
    """Publish a `brief-<key>` markdown artifact for every active incident; return their keys."""
    keys = []
    with session_scope() as session:
        for incident in repository.active_incidents(session):
            create_markdown_artifact(markdown=brief_for(session, incident, now), key=f"brief-{incident.key.lower()}",
                                     description=f"事件简报 {incident.key}")
            keys.append(incident.key)
    return keys
