"""Prefect tasks of triage (确定危机事件的性质和范围): detect, open or update incidents, announce them."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from prefect import get_run_logger, task

from config.detection import Detection, load_detection
from config.files import load_lexicon, load_severity
from tasks import audit
from tasks.common import collector_paused, local_zone
from tasks.db import retry_transient_db, session_scope
from tasks.errors import InvalidTransition
from tasks.incidents import repository as incidents
from tasks.incidents.service import announce_pending, escalate, open_incident, override_level
from tasks.incidents.state import (
    LEVEL_NAMES,
    OTHER_CATEGORY,
    RESOLUTION_NAMES,
    Level,
    Resolution,
    hand_reason,
    higher,
    is_higher,
)
from tasks.models import Incident
from tasks.triage import repository
from tasks.triage.detection import WATCH_MODE, GroupWindow, RuleHit, Thresholds, evaluate, spreading_watch
from tasks.triage.severity import grade, heat_index
from tasks.triage.warning_tasks import raise_competitor_alerts

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


CHANGE_LINES = {"opened": "事件 %s 已立案：%s 级（%s）", "escalated": "事件 %s 已升级为 %s 级（%s）"}


@dataclass(frozen=True)
class IncidentChange:
    incident_key: str
    kind: str  # opened | escalated | updated
    level: Level
    previous_level: Level | None = None
    # An incident opened by hand: the dismissed incidents whose story it took over, with the posts taken.
    overruled: dict[str, int] | None = None


def thresholds(det: Detection) -> Thresholds:
    """Return the pure detection thresholds from config/detection.toml."""
    return Thresholds(
        window_minutes=det.window_minutes, short_baseline_hours=det.short_baseline_hours, k_sigma=det.k_sigma,
        min_volume=det.min_volume, alpha=det.alpha, rate_floor=det.rate_floor, min_share_rise=det.min_share_rise,
        negative_majority=det.negative_majority,
        critical_min=det.critical_min, claims_min=det.claims_min, critical_alpha=det.critical_alpha,
        influencer_reach=det.influencer_reach,
        viral_min_reposts=det.viral_min_reposts, viral_audience_share=det.viral_audience_share,
        viral_max_reposts=det.viral_max_reposts, viral_unexplained_factor=det.viral_unexplained_factor,
        watch_share=det.watch_share,
    )


def _mode(det: Detection, hit: RuleHit, end: datetime) -> str:
    """Return enforce | monitor | snoozed for a hit at `end`."""
    zone = local_zone()
    for snooze in det.snooze:
        start = snooze.start if snooze.start.tzinfo else snooze.start.replace(tzinfo=zone)
        stop = snooze.end if snooze.end.tzinfo else snooze.end.replace(tzinfo=zone)
        brands = set(snooze.brands)
        if hit.rule in snooze.rules and ("*" in brands or hit.brand in brands) and start <= end < stop:
            return "snoozed"
    return det.rules.get(hit.rule, "enforce")  # type: ignore[call-overload, no-any-return]


def _level(g: GroupWindow, affected_orders: int | None) -> tuple[float, Level]:
    severity = load_severity()
    heat = heat_index(g.negative, g.negative_reach)
    return heat, grade(heat, g.category, severity.heat, severity.category_floor, affected_orders,
                       severity.affected_orders)


def _open(session: Session, g: GroupWindow, reason: str, now: datetime, actor: str, drill: bool) -> IncidentChange:
    heat, level = _level(g, None)
    key = incidents.next_incident_key(session, now.astimezone(local_zone()).strftime("%Y%m%d"), drill)
    open_incident(session, key, actor=actor, at=now, reason=reason, brand=g.brand, category=g.category,
                  level=level, auto_level=level, heat=heat, negative_count=g.negative, reach=g.negative_reach,
                  started_at=min(g.first_negative_at or now, now), is_drill=drill)
    return IncidentChange(key, "opened", level)


def _update(session: Session, incident: Incident, g: GroupWindow, now: datetime, actor: str) -> IncidentChange:
    heat, level = _level(g, incident.affected_orders)
    incident.heat = max(incident.heat, heat)
    incident.negative_count = max(incident.negative_count, g.negative)
    incident.reach = max(incident.reach, g.negative_reach)
    auto, previous = Level(incident.auto_level or incident.level), Level(incident.level)
    reason = f"热度升至 {heat:.1f}，级别 {previous} → {level}"
    if not is_higher(level, auto) or not escalate(session, incident, level, reason=reason, actor=actor, at=now):
        incident.auto_level = higher(auto, level)
        return IncidentChange(incident.key, "updated", incident.level)
    return IncidentChange(incident.key, "escalated", level, previous)


def _record_hits(session: Session, hits: list[tuple[RuleHit, str]], end: datetime, incident_id: int | None,
                 drill: bool) -> None:
    rows = [{"window_end": end, "rule": h.rule, "brand": h.brand, "category": h.category, "mode": mode,
             "reason": h.reason, "incident_id": incident_id if mode == "enforce" else None, "is_drill": drill}
            for h, mode in hits]
    repository.record_hits(session, rows)


def _triage_group(session: Session, g: GroupWindow, det: Detection, end: datetime, actor: str,
                  drill: bool, active: dict[tuple[str, str], Incident]) -> IncidentChange | None:
    limits = thresholds(det)
    hits = [(hit, _mode(det, hit, end)) for hit in evaluate(g, limits)]
    enforced = [hit for hit, mode in hits if mode == "enforce"]
    incident = active.get((g.brand, g.category))
    if (incident is not None and enforced
            and repository.last_activity(session, incident) < end - timedelta(hours=det.dedup_hours)
            and not repository.holds_any(session, incident, [p.mention_id for p in g.spreading])):
        # Quiet for dedup_hours: a new spike is a new incident, unless it is the incident's own story spreading
        # again (scans down for a day, or a story flaring up after two quiet days): its reposts join it.
        incident = None
    change = None
    if incident is None and enforced:
        change = _open(session, g, "；".join(h.reason for h in enforced), end, actor, drill)
        incident = incidents.get_incident(session, change.incident_key)
    elif incident is not None and g.negative:
        change = _update(session, incident, g, end, actor)
    if incident is None and (watch := spreading_watch(g, limits)) is not None:
        hits.append((watch, WATCH_MODE))  # 待核实: listed on the watch board, opens nothing
    _record_hits(session, hits, end, incident.id if incident else None, drill)
    if incident is not None:
        repository.attach_negative_mentions(session, incident, incident.started_at, end)
        repository.attach_spreading(session, incident, g.spreading)
        repository.attach_reposts(session, incident, end)
        _record_metric(session, incident, g, end, det.window_minutes)
    return change


@task(retries=2, retry_delay_seconds=[2, 8], retry_jitter_factor=0.5, retry_condition_fn=retry_transient_db)
def update_incidents(window_end: datetime, actor: str) -> list[IncidentChange]:
    """Evaluate every brand x category at `window_end`; open, update or escalate incidents; record
    each rule that fired (enforced, monitored or snoozed). A competitor's groups are judged by the same
    rules but open nothing: where one would have opened an incident, a competitor alert is raised
    (同类风险预警, tasks/triage/warning_tasks.py), after our incidents are committed.

    Safe to re-run for the same window: an active incident absorbs its group instead of a new one,
    and hits and metrics of a window are written once. The drill source's mentions are graded apart,
    into drill incidents only: a drill never feeds, opens or escalates a real incident. A story a responder
    closed as unfounded or a false alarm opens nothing again (repository.group_windows), and the scan says so.
    """
    det, rivals = load_detection(), set(load_lexicon().competitors)
    changes: list[IncidentChange] = []
    rival_hits: list[tuple[GroupWindow, list[RuleHit]]] = []
    ignored: Counter[repository.Dismissed] = Counter()  # per dismissed incident: its story's new negatives, left out
    # The collector paused: a day holding a crisis of 30,000 reposts reads 30,000 rows at every scan, and the
    # full collections they set off took a third of its triage (0.5-0.67 s against 0.31-0.38 s a scan).
    with collector_paused(), session_scope() as session:
        repository.lock_triage(session)
        for drill in (False, True):
            left_out: Counter[repository.Dismissed] = Counter()
            unheld: set[repository.Dismissed] = set()
            groups = repository.group_windows(session, window_end, det.window_minutes, det.short_baseline_hours,
                                              det.long_baseline_days, det.influencer_reach, drill, left_out,
                                              det.dismissed_days, unheld)
            for story in sorted(unheld, key=lambda d: d.key):  # its new reposts join it, never a new incident
                repository.attach_reposts(session, incidents.get_incident(session, story.key), window_end)
            _record_dismissed(session, left_out, window_end, det.window_minutes, det.min_volume, drill)
            ignored.update(left_out)
            if not groups:
                continue
            active = incidents.active_by_group(session, drill)  # each group is triaged once per scan
            for _, g in sorted(groups.items()):
                if g.brand in rivals:
                    enforced = [h for h in evaluate(g, thresholds(det)) if _mode(det, h, window_end) == "enforce"]
                    if enforced and not drill:
                        rival_hits.append((g, enforced))
                    continue
                change = _triage_group(session, g, det, window_end, actor, drill, active)
                if change is not None:
                    changes.append(change)
    raise_competitor_alerts(rival_hits, window_end, actor)
    for story, n in sorted(((s, n) for s, n in ignored.items() if n), key=lambda item: item[0].key):
        get_run_logger().info("未计入检测：%s 已按谣言或误报关闭，本窗口内其帖子及转发又有 %d 条负面", story.key, n)
    for change in changes:
        if change.kind != "updated":
            get_run_logger().warning(CHANGE_LINES[change.kind], change.incident_key, change.level.value,
                                     LEVEL_NAMES[change.level])
    return changes


DISMISSED_RULE = "dismissed_story"  # a 待核实 row: a dismissed incident's story still spreading, counted for nothing


def _record_dismissed(session: Session, left_out: Counter[repository.Dismissed], end: datetime, window_minutes: int,
                      at_least: int, drill: bool) -> None:
    """List each brand and category whose dismissed story went on spreading in the window, with at least
    `at_least` negatives (min_volume: a trickle of late reposts is no news), on the 待核实 board (a row that opens
    nothing), so that a person sees what detection leaves out and can open it by hand."""
    by_group: dict[tuple[str, str], list[str]] = {}
    for story, n in sorted(left_out.items(), key=lambda item: item[0].key):
        if n < max(at_least, 1):
            continue
        how = RESOLUTION_NAMES[Resolution(story.resolution)]
        by_group.setdefault((story.brand, story.category), []).append(f"{story.key}（已按{how}关闭）又有 {n} 条")
    repository.record_hits(session, [
        {"window_end": end, "rule": DISMISSED_RULE, "brand": brand, "category": category, "mode": WATCH_MODE,
         "reason": f"仍在传播、未计入检测：最近 {window_minutes} 分钟「{brand}·{category}」" + "；".join(parts)
                   + "负面帖子或其转发；若已不是误报或谣言，请人工立案", "incident_id": None, "is_drill": drill}
        for (brand, category), parts in by_group.items()])


def _record_metric(session: Session, incident: Incident, g: GroupWindow, end: datetime, window_minutes: int) -> None:
    previous = g.baseline_counts[0] if g.baseline_counts else 0
    repository.record_metric(session, {
        "incident_id": incident.id, "window_start": end - timedelta(minutes=window_minutes), "window_end": end,
        "volume": g.brand_volume, "negative": g.negative, "negative_share": round(g.share, 4),
        "reach": g.negative_reach, "heat": heat_index(g.negative, g.negative_reach),
        "velocity": float(g.negative - previous),
    })


@task
def announce_incidents() -> list[str]:
    """Emit `opened` / `escalated` for every incident whose state was not announced yet.

    Reconciles from the database, so an event lost to a crash is emitted on the next scan.
    """
    with session_scope() as session:
        return announce_pending(session)


def change_dicts(changes: list[IncidentChange]) -> list[dict[str, object]]:
    """Return changes as JSON-able dicts (flow return values)."""
    return [asdict(c) for c in changes]


def open_by_hand(brand: str, category: str, *, by: str, reason: str, at: datetime,
                 level: str | None = None) -> IncidentChange:
    """Open an incident a person judged to be a crisis where no rule opened one (人工立案): a 待核实 post, a call
    from the press. Graded and filled like one a rule opens (the brand and category's negatives of the
    window, their reposts, its metrics), `level` set by hand if given; audited with who and why. Announced
    by the caller or at the next scan (announce_pending). Refused, with nothing written, for a brand we do
    not watch (a competitor's crisis is never ours), an unknown category, an empty reason, or a brand and
    category that already has an incident in hand. A story of the brand and category dismissed as 误报 or 谣言
    within dismissed_days is taken over: its posts move to the new incident and count again (audited as
    incident.dismissal_overruled)."""
    lexicon = load_lexicon()
    if brand in lexicon.competitors:
        raise InvalidTransition(f"{brand} 是竞争对手（lexicon.toml 的 competitors），不开我方事件")
    if brand not in lexicon.brands:
        raise InvalidTransition(f"{brand} 不是监测中的品牌（lexicon.toml 的 brands：{'、'.join(lexicon.brands)}）")
    if category not in (categories := [*lexicon.categories, OTHER_CATEGORY]):
        raise InvalidTransition(f"未知类别 {category}（可选：{'、'.join(categories)}）")
    if not reason.strip():
        raise InvalidTransition("人工立案须说明理由（--reason）")
    if not by.strip():
        raise InvalidTransition("人工立案须填写立案人（--by）")
    if level is not None and level.upper() not in tuple(Level):
        raise InvalidTransition(f"未知级别 {level}（{'、'.join(Level)}）")
    det = load_detection()
    with session_scope() as session:
        repository.lock_triage(session)  # a scan triaging this moment finishes first: its incident is seen here
        held = incidents.active_by_group(session).get((brand, category))
        if held is not None:
            raise InvalidTransition(f"「{brand}·{category}」已有进行中的事件 {held.key}：请在该事件上处理"
                                    "（crisis level 调整级别）")
        # A person opening it overrules a dismissal of the brand and category's story (see take_dismissed_story):
        # it counts in the grading, as it will from now on.
        groups = repository.group_windows(session, at, det.window_minutes, det.short_baseline_hours,
                                          det.long_baseline_days, det.influencer_reach, False)
        g = groups.get((brand, category)) or GroupWindow(brand=brand, category=category)
        change = _open(session, g, hand_reason(by, reason), at, by, False)
        incident = incidents.get_incident(session, change.incident_key)
        taken = repository.take_dismissed_story(session, incident, at, det.dismissed_days)
        if taken:
            audit.record(session, actor=by, action="incident.dismissal_overruled", entity_type="incident",
                         entity_id=incident.key, at=at, after={"from": taken})
        if level is not None and level.upper() != incident.level:
            override_level(session, incident, level.upper(), reason=f"人工立案时定级：{reason.strip()}", actor=by, at=at)
            change = IncidentChange(incident.key, "opened", Level(incident.level))
        repository.attach_negative_mentions(session, incident, incident.started_at, at)
        repository.attach_reposts(session, incident, at)
        if g.negative:
            _record_metric(session, incident, g, at, det.window_minutes)
    return replace(change, overruled=taken or None)
