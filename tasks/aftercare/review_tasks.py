"""Prefect tasks of the review (总结和反思): gather, write Markdown + HTML + curve, publish, e-mail; and the
经验教训 responders add before the review is final (audited entries the review reads back)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import markdown as md
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from config.detection import load_detection
from config.files import load_roster
from config.settings import get_settings
from tasks import audit
from tasks.aftercare.chart import curve_png
from tasks.aftercare.recovery import Outcome
from tasks.aftercare.repair import STEPS, overdue, review_due
from tasks.aftercare.repository import last_check, list_steps, mention_times, outcome_counts
from tasks.aftercare.review import (
    FollowUp,
    Lesson,
    LevelChange,
    Response,
    ReviewData,
    StepRow,
    TimelineEntry,
    assess,
    render_review,
)
from tasks.aftercare.timeline import LESSON_ACTION, RUN_PREFIX, actor_name, describe
from tasks.common import local_zone, show_time
from tasks.compensation.repository import incident_totals
from tasks.db import session_scope
from tasks.errors import InvalidTransition
from tasks.incidents.repository import get_incident, linked_mentions, locked_incident, peak_metric, top_posts
from tasks.incidents.state import LEVEL_NAMES, IncidentState, Level, durations, opened_by_hand, state_name
from tasks.models import Incident
from tasks.notify.repository import recipients_of, sent_count
from tasks.notify.templates import clean_subject, escape_markdown, one_line
from tasks.outbox import queue_mail
from tasks.triage.brief import reason_lines

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LEVEL_ACTIONS = {"incident.opened", "incident.escalated", "incident.level_overridden"}
CHECK_NAMES = {Outcome.RECOVERED: "已回落", Outcome.NOT_YET: "未回落", Outcome.SECOND_WAVE: "二次爆发",
               Outcome.INSUFFICIENT_DATA: "数据不足（无法判断）"}


MARK_NAMES = {"started_at": "首条负面", "detected_at": "发现", "acknowledged_at": "确认接手", "mitigated_at": "缓解",
              "resolved_at": "解决", "closed_at": "关闭"}


def _detail(entry) -> str:  # type: ignore[no-untyped-def]
    after = json.loads(entry.after)
    if isinstance(after.get("reason"), str):
        after["reason"] = "；".join(reason_lines(after["reason"]))
    return escape_markdown(describe(entry.action, after))


def flow_names(actors: set[str]) -> dict[str, str]:
    """Return the flow name of each `flow-run:<id>` actor, asked of the Prefect API (none without one: a
    run the API no longer knows is shown as 系统流程)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterId, FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL

    ids = {}
    for actor in actors:
        try:
            ids[UUID(actor.removeprefix(RUN_PREFIX))] = actor
        except ValueError:
            continue
    if not ids or not PREFECT_API_URL.value():
        return {}
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(ids))))
        flows = {f.id: f.name for f in client.read_flows(
            flow_filter=FlowFilter(id=FlowFilterId(any_=list({r.flow_id for r in runs}))))} if runs else {}
    return {ids[r.id]: flows[r.flow_id] for r in runs if r.flow_id in flows}


def _curve(session: Session, incident: Incident, end: datetime) -> bytes:
    start = (incident.started_at - timedelta(hours=12)).replace(minute=0, second=0, microsecond=0)
    stop = max(end, start + timedelta(hours=2))
    rows = mention_times(session, incident.brand, incident.is_drill, start, stop)
    hours = max(1, min(24 * 14, int((stop - start).total_seconds() // 3600) + 1))
    volume, negative = [0] * hours, [0] * hours
    for at, is_negative in rows:
        slot = min(hours - 1, int((at - start).total_seconds() // 3600))
        volume[slot] += 1
        negative[slot] += bool(is_negative)
    zone = local_zone()
    axis = [(start + timedelta(hours=h)).astimezone(zone).replace(tzinfo=None) for h in range(hours)]
    marks = [(value.astimezone(zone).replace(tzinfo=None), MARK_NAMES.get(name, name))
             for name, value in incident.stamps().items() if value is not None and start <= value <= stop]
    return curve_png(axis, volume, negative, marks)


def _follow_ups(incident: Incident, steps: list, due: str) -> list[FollowUp]:  # type: ignore[type-arg]
    owners = {r: p.name for p in load_roster().people for r in p.roles}
    ups = [FollowUp(f"完成修复步骤「{STEPS[s.step]}」", s.owner or owners.get("pr", "—"), due)
           for s in steps if s.state not in ("done", "skipped")]
    return [*ups, FollowUp("召开复盘会并更新应急预案（改进完善）", owners.get("commander", "—"), due),
            FollowUp(f"复查「{incident.category}」类问题的根因与整改", owners.get("quality", "—"), due)]


def review_data(session: Session, incident: Incident, chart: str, now: datetime) -> ReviewData:
    """Gather everything the review shows as of `now` (post text escaped)."""
    entries = sorted(audit.entries_for(session, "incident", incident.key), key=lambda e: (e.at, e.seq))
    actors = flow_names({e.actor for e in entries if e.actor.startswith(RUN_PREFIX)})
    steps = list_steps(session, incident.id)
    resolved = (incident.resolved_at or incident.detected_at).astimezone(local_zone()).date()
    due = review_due(incident.level, resolved).isoformat()
    sent = sent_count(session, incident.id)
    totals = incident_totals(session, incident.id)
    end = incident.resolved_at or incident.closed_at or now
    checks = outcome_counts(session, incident.id)
    well, improve = assess(Response(
        level=incident.level, durations=durations(incident.stamps()),
        ack_target_minutes=get_settings().notify.ack_minutes[incident.level],  # type: ignore[index]
        detect_target_minutes=float(load_detection().window_minutes), escalation_tier=incident.escalation_tier,
        second_waves=checks.get(Outcome.SECOND_WAVE, 0), steps={STEPS[s.step]: s.state for s in steps},
        overdue_steps=[STEPS[s.step] for s in overdue(steps, end)],
        compensated_orders=sum(n for n, _ in totals.values()),
        insufficient_checks=checks.get(Outcome.INSUFFICIENT_DATA, 0),
        by_hand=opened_by_hand(incident.trigger_reason)))
    return ReviewData(
        key=incident.key, brand=incident.brand, category=incident.category, level=incident.level,
        level_name=LEVEL_NAMES[Level(incident.level)], state=state_name(incident.state),
        trigger_reason=escape_markdown("；".join(reason_lines(incident.trigger_reason))),
        stamps={name: show_time(value) for name, value in incident.stamps().items()},
        durations=durations(incident.stamps()),
        timeline=[TimelineEntry(show_time(e.at), escape_markdown(actor_name(e.actor, actors)), e.action, _detail(e))
                  for e in entries],
        compensation=totals,
        top_posts=[f"[{escape_markdown(p.platform or p.source)}] 触达 {p.reach:,}：{escape_markdown(one_line(p.text))}"
                   for p in top_posts(session, incident.id)],
        mail_sent=sent,
        level_history=[LevelChange(show_time(e.at), json.loads(e.after).get("level", ""), _detail(e))
                       for e in entries if e.action in LEVEL_ACTIONS],
        steps=[StepRow(STEPS[s.step], escape_markdown(s.owner or "—"), show_time(s.due_at), s.state,
                       escape_markdown(s.evidence or "—")) for s in steps],
        follow_ups=_follow_ups(incident, steps, due), review_due=due, chart=chart, is_drill=incident.is_drill,
        summary=_summary(session, incident, totals, sent, checks), went_well=[escape_markdown(x) for x in well],
        to_improve=[escape_markdown(x) for x in improve],
        lessons=[Lesson(show_time(e.at), escape_markdown(e.actor), escape_markdown(json.loads(e.after).get("text", "")))
                 for e in entries if e.action == LESSON_ACTION],
    )


def _summary(session: Session, incident: Incident, totals: dict[str, tuple[int, int]], sent: int,
             checks: dict[str, int]) -> list[str]:
    """Return the impact in numbers: negative posts and reach, the peak window, compensation, mail, recovery."""
    posts, reach = linked_mentions(session, incident.id)
    peak = peak_metric(session, incident.id)
    last = last_check(session, incident.id)
    orders, fen = sum(n for n, _ in totals.values()), sum(f for _, f in totals.values())
    lines = [f"相关帖子 {posts:,} 条（负面帖子及其转发），触达 {reach:,} 人次；最高热度 {incident.heat:.1f}"]
    if peak is not None:
        lines.append(f"峰值：{show_time(peak.window_end)} 前一小时负面 {peak.negative} 条（热度 {peak.heat:.1f}）")
    lines.append(f"补偿：{orders:,} 笔订单，{fen / 100:,.2f} 元" if orders else "补偿：无")
    lines.append(f"预警与通报邮件 {sent} 封")
    if checks:
        lines.append(f"回落检查 {sum(checks.values())} 次：" + "，".join(
            f"{name} {checks[outcome]} 次" for outcome, name in CHECK_NAMES.items() if checks.get(outcome)))
    if last is not None:
        lines.append(f"最近一次回落检查（{show_time(last.window_end)}）：{escape_markdown(last.reason)}")
    return lines


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _html(markdown_text: str, png: bytes, chart: str) -> str:
    body = md.markdown(markdown_text.replace(f"]({chart})", f"]({_data_uri(png)})"), extensions=["tables"])
    return ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>table{border-collapse:collapse}'
            "td,th{border:1px solid #ccc;padding:4px 8px}img{max-width:100%}</style></head><body>" + body
            + "</body></html>")


@task(task_run_name="review-{incident_key}")
def write_review(incident_key: str, now: datetime) -> str:
    """Write var/reviews/<KEY>.md, .html and -curve.png, publish the artifact (the curve inline, as a data:
    URI the UI shows) and queue the review mail to the roster. Safe to re-run: files are rewritten, the
    artifact gets a new version, the mail is queued once per incident."""
    folder = get_settings().var_path / "reviews"
    folder.mkdir(parents=True, exist_ok=True)
    chart = f"{incident_key}-curve.png"
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        png = _curve(session, incident, incident.resolved_at or now)
        markdown_text = render_review(review_data(session, incident, chart, now)) + audit.head_note(session)
        html = _html(markdown_text, png, chart)
        _queue_review(session, incident, markdown_text, html, now)
    (folder / chart).write_bytes(png)
    (folder / f"{incident_key}.md").write_text(markdown_text, encoding="utf-8")
    (folder / f"{incident_key}.html").write_text(html, encoding="utf-8")
    create_markdown_artifact(markdown=markdown_text.replace(f"]({chart})", f"]({_data_uri(png)})"),
                             key=f"review-{incident_key.lower()}", description=f"事件复盘 {incident_key}")
    get_run_logger().info("复盘报告已写入 %s", folder / f"{incident_key}.md")
    return str(folder / f"{incident_key}.md")


def _queue_review(session: Session, incident: Incident, text: str, html: str, now: datetime) -> int:
    """Queue the review to everyone the incident's mail reached, plus the commander and the scribe."""
    prefix = "【演练】" if incident.is_drill else ""
    subject = clean_subject(f"{prefix}【复盘】{incident.brand}「{incident.category}」事件 {incident.key} 复盘报告")
    involved = recipients_of(session, incident.id, excluding="review")
    involved |= {p.email for p in load_roster().people if {"commander", "scribe"} & set(p.roles)}
    return queue_mail(session, incident_id=incident.id, kind="review", recipients=involved,
                      dedup_prefix=f"review:{incident.key}", subject=subject, body_text=text, body_html=html, now=now)


LESSON_LIMIT = 2000  # characters of one lesson


@dataclass(frozen=True)
class LessonAdded:
    count: int  # the incident's lessons now
    added: bool  # False when the same person had written the same text already
    review_written: bool  # the incident is resolved: its review exists and is rewritten with the lesson


def add_lesson(incident_key: str, by: str, text: str, now: datetime) -> LessonAdded:
    """Add a 经验教训 to the incident's review: an audited entry (`review.lesson_added`) the review lists with
    who and when. Refused once the incident is closed (复盘通过: the review is final). Safe to re-run: the
    same text by the same person is kept once."""
    by, text = by.strip(), text.strip()
    if not by or not text:
        raise InvalidTransition(f"{incident_key}：经验教训需要填写人和内容")
    if len(text) > LESSON_LIMIT:
        raise InvalidTransition(f"{incident_key}：经验教训最多 {LESSON_LIMIT} 字（现为 {len(text)} 字），请分条填写")
    with session_scope() as session:
        incident = locked_incident(session, incident_key)
        if incident.state == IncidentState.CLOSED:
            raise InvalidTransition(f"{incident_key}：事件已关闭，复盘已定稿，不能再添加经验教训")
        known = [json.loads(e.after) | {"by": e.actor} for e in audit.entries_for(session, "incident", incident_key)
                 if e.action == LESSON_ACTION]
        added = {"by": by, "text": text} not in [{"by": k["by"], "text": k.get("text")} for k in known]
        if added:
            audit.record(session, actor=by, action=LESSON_ACTION, entity_type="incident", entity_id=incident_key,
                         at=now, after={"text": text})
        return LessonAdded(len(known) + added, added, incident.state == IncidentState.RESOLVED)


@task(task_run_name="lesson-{incident_key}")
def record_lesson(incident_key: str, by: str, text: str, now: datetime) -> LessonAdded:
    """Add the lesson (see `add_lesson`). Safe to re-run: the same text by the same person is kept once."""
    result = add_lesson(incident_key, by, text, now)
    get_run_logger().info("%s：共 %d 条经验教训%s", incident_key, result.count, "" if result.added else "（此条此前已记录）")
    return result
