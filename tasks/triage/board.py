"""What operators look at in the Prefect UI: the incident board (drills on a board of their own) and one brief
per active incident."""

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
from tasks.incidents.repository import fired_rules
from tasks.incidents.state import LEVEL_NAMES, RESOLUTION_NAMES, Level, Resolution, state_name
from tasks.models import Incident
from tasks.monitoring.health import STATUS_NAMES
from tasks.notify.templates import escape_markdown, inert, markdown_link, one_line
from tasks.triage import repository as mentions
from tasks.triage.brief import BriefData, reason_sentence, render_brief
from tasks.triage.debunk import render_debunk_statement

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


BOARD_LIMIT = 50  # rows on each board


def _age(incident: Incident, now: datetime) -> str:
    minutes = max(0, int((now - incident.detected_at).total_seconds() // 60))
    return f"{minutes} 分钟" if minutes < 120 else f"{minutes / 60:.1f} 小时"


def _state(incident: Incident) -> str:
    """Return the state in Chinese, with how it was closed when it was no real crisis (已关闭（误报）)."""
    if incident.resolution is None:
        return state_name(incident.state)
    return f"{state_name(incident.state)}（{RESOLUTION_NAMES[Resolution(incident.resolution)]}）"


def board_row(incident: Incident, now: datetime, rules: list[str]) -> dict[str, object]:
    """Return one row of the incident board: the essentials in Chinese, the reason as one short sentence
    (ours, not post text; the numbers are in the brief)."""
    reason = reason_sentence(rules, incident.trigger_reason, bool(incident.possible_rumour))
    return {"事件编号": incident.key, "级别": f"{incident.level} {LEVEL_NAMES[Level(incident.level)]}",
            "状态": _state(incident), "品牌 · 类别": f"{incident.brand} · {incident.category}",
            "热度": round(incident.heat, 1), "已持续": _age(incident, now), "负责人": incident.owner or "未确认",
            "触发原因": reason}


def sources_line(source_health: list[dict[str, object]] | None) -> str:
    """Return the data sources' health as one line for the board's description."""
    parts = [f"{h['name']} {STATUS_NAMES.get(str(h['status']), h['status'])}" for h in source_health or []]
    return "数据来源：" + ("，".join(parts) if parts else "本次未检查")


@task
def publish_incident_board(now: datetime, source_health: list[dict[str, object]] | None = None) -> int:
    """Update the `incident-board` table artifact (newest first; sources' health in its description) and,
    when there are drills, the `drill-board` (【演练】) apart; return the real incidents' rows."""
    with session_scope() as session:
        listed = repository.list_incidents(session, limit=BOARD_LIMIT * 4)
        rows = {drill: [board_row(i, now, fired_rules(session, i.id)) for i in listed if bool(i.is_drill) == drill]
                [:BOARD_LIMIT] for drill in (False, True)}
    sources = sources_line(source_health)
    create_table_artifact(key="incident-board", table=rows[False] or [{"事件编号": "—", "状态": "暂无事件"}],
                          description=f"舆情事件看板（最新在前，不含演练）。{sources}")
    if rows[True]:
        create_table_artifact(key="drill-board", table=rows[True],
                              description=f"【演练】演练事件看板（最新在前）：演练事件不是真实舆情。{sources}")
    return len(rows[False])


WATCH_DAY = timedelta(hours=24)  # 首次列出: the first watch row of a brand and category within this


def watch_rows(session: Session, now: datetime) -> list[dict[str, object]]:
    """Return the 待核实 rows of the scan at `now`: negative posts about our brands spreading towards an
    incident that no rule opened (tasks/triage/detection.spreading_watch), by brand and category, with when
    each was first listed within a day and the command that opens an incident by hand."""
    hits = mentions.watch_hits(session, now)
    first = mentions.first_watched(session, now - WATCH_DAY) if hits else {}
    return [{"品牌 · 类别": f"{hit.brand} · {hit.category}", "待核实原因": inert(one_line(hit.reason, 300)),
             "首次列出": show_time(first.get((hit.rule, hit.brand, hit.category), hit.window_end)),
             "确属危机时": f"crisis open {hit.brand} --category {hit.category} --by 姓名 --reason 理由"} for hit in hits]


@task
def publish_watch_board(now: datetime, source_health: list[dict[str, object]] | None = None) -> int:
    """Update the `watch-board` table artifact (待核实) for the scan at `now`, the sources' health in its
    description; return its rows. An empty board says whether every source was read: nothing listed from a
    source that failed is no news."""
    with session_scope() as session:
        rows = watch_rows(session, now)
    table, description = watch_board(rows, source_health)
    create_table_artifact(key="watch-board", table=table, description=description)
    return len(rows)


def watch_board(rows: list[dict[str, object]],
                source_health: list[dict[str, object]] | None) -> tuple[list[dict[str, object]], str]:
    """Return the 待核实 board's table and description: an empty board names the sources not read in full."""
    unread = [str(h["name"]) for h in source_health or [] if h.get("status") in ("failing", "partial")]
    empty = ("暂无：没有正在扩散却未立案的负面帖子" if not unread else
             f"暂无，但 {'、'.join(unread)} 本次没有读全：那里的帖子未被检查，不等于没有")
    return rows or [{"品牌 · 类别": "—", "待核实原因": empty}], (
        "待核实看板：关于我方品牌、正在扩散的负面帖子，检测规则尚未开启事件（词库没有它的类别词，"
        "或转发还没到门槛，或其事件已按误报、谣言关闭）。请人工判断；确属危机时用 crisis open 或 open-incident 部署人工立案"
        f"（记入审计日志）。{sources_line(source_health)}")


def _hourly_negative(session: Session, incident: Incident, now: datetime) -> tuple[list[int], list[str]]:
    """Return the negative mentions of each of the last 24 whole hours (the last one is the hour now is in),
    oldest first, and the hour each starts at on screen ("14时")."""
    zone = local_zone()
    first = now.astimezone(zone).replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    counts = [0] * 24
    for at in mentions.negative_times(session, incident, first - timedelta(microseconds=1), now):
        counts[min(23, max(0, int((at - first).total_seconds() // 3600)))] += 1
    return counts, [f"{(first + timedelta(hours=h)).hour:02d}时" for h in range(24)]


def brief_for(session: Session, incident: Incident, now: datetime) -> str:
    """Return the Markdown brief of one incident (post text escaped and inert, links only to http(s) URLs)."""
    from tasks.monitoring.sentiment_model import negative_evidence

    level = Level(incident.level)
    hourly, hours = _hourly_negative(session, incident, now)
    posts = []
    for p in repository.top_posts(session, incident.id):
        why = negative_evidence(p.text) if p.negative else ""
        link = markdown_link("原文", p.url)
        posts.append(f"[{escape_markdown(p.platform or p.source)}] 触达 {p.reach:,} · {escape_markdown(one_line(p.text))}"
                     + (f" ({link})" if link else "")
                     + (f"  \n   负面依据：{escape_markdown(why)}" if why else ""))
    return render_brief(BriefData(
        key=incident.key, brand=incident.brand, category=incident.category, level=level.value,
        level_name=LEVEL_NAMES[level], state=_state(incident), heat=incident.heat,
        reason=escape_markdown(incident.trigger_reason), detected=show_time(incident.detected_at),
        owner=escape_markdown(incident.owner or "未确认"), hourly_negative=hourly, hour_labels=hours,
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
