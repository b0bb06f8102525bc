"""Record and tell the competitor alerts (同类风险预警) a scan finds; publish the `competitor-board` artifact."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from config.files import Person, load_lexicon, load_roster
from config.settings import get_settings, read_environment
from tasks import audit
from tasks.common import local_zone, show_time
from tasks.db import session_scope
from tasks.models import CompetitorAlert, Mention
from tasks.notify.chat import chat_recipient
from tasks.notify.routing import QuietHours
from tasks.notify.templates import one_line, render_mail, safe_url
from tasks.outbox import Letter, queue_letters
from tasks.triage import competitors
from tasks.triage.detection import GroupWindow, RuleHit
from tasks.triage.severity import heat_index
from tasks.triage.warning import (
    KIND,
    QUESTION,
    CompetitorWarning,
    board_row,
    dedup_prefix,
    people_to_warn,
    robot_body,
    robot_markdown,
    robots_to_warn,
    rule_label,
    title,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LOOKBACK = timedelta(days=1)  # the products and posts a rival's crisis names: those of the last day


def raise_competitor_alerts(rivals: Sequence[tuple[GroupWindow, Sequence[RuleHit]]], now: datetime,
                            actor: str) -> list[str]:
    """Record an alert for each rival group our rules would have opened an incident for (hits in RULES order),
    queue its mail and group-robot messages and audit it, all in one unit of work; return `竞品·类别` of each new
    alert. The competitor's mentions open nothing of ours and page nobody.

    Safe to re-run: a competitor's category has one alert a local day (the first one stands), its messages
    one per dedup key, so a second scan the same day tells nobody again.
    """
    if not rivals:
        return []
    day = now.astimezone(local_zone()).strftime("%Y-%m-%d")
    raised: list[str] = []
    with session_scope() as session:
        for g, hits in rivals:
            warning = _warning(session, g, hits, day, now)
            alert_id = competitors.insert_alert(session, {
                "competitor": warning.competitor, "category": warning.category, "day": day,
                "product_category": warning.product_category, "products": "、".join(warning.products),
                "rule": warning.rule, "reason": warning.reason, "heat": warning.heat, "detected_at": now,
                "created_at": now})
            if alert_id is None:
                continue
            posts = competitors.top_posts(session, g.brand, g.category, now - LOOKBACK, now)
            told = _queue_warning(session, warning, posts, now)
            audit.record(session, actor=actor, action="competitor.alerted", entity_type="competitor_alert",
                         entity_id=str(alert_id), at=now,
                         after={"competitor": warning.competitor, "category": warning.category, "day": day,
                                "rule": warning.rule, "reason": warning.reason, "heat": warning.heat,
                                "products": list(warning.products), "told": told})
            raised.append(f"{warning.competitor}·{warning.category}")
    if raised:
        get_run_logger().warning("已发出同类风险预警：%s", "、".join(raised))
    return raised


def _warning(session: Session, g: GroupWindow, hits: Sequence[RuleHit], day: str, now: datetime) -> CompetitorWarning:
    """Return the alert of a rival's group: the rules' reasons with their numbers, the products its negatives of
    the last day name, and ours in the same product category."""
    lexicon = load_lexicon()
    category = lexicon.competitors[g.brand].category
    return CompetitorWarning(
        competitor=g.brand, product_category=category, category=g.category, day=day,
        products=tuple(competitors.products_named(session, g.brand, g.category, now - LOOKBACK, now)),
        rule=hits[0].rule, reason="；".join(h.reason for h in hits), heat=heat_index(g.negative, g.negative_reach),
        our_products=tuple(p for b in lexicon.brands.values() if b.category == category for p in b.products))


def _context(warning: CompetitorWarning, posts: Sequence[Mention], now: datetime) -> dict[str, Any]:
    """Return what the competitor_alert mail shows (untrusted text raw: the templates escape it)."""
    base = (read_environment("PREFECT_UI_URL") or "http://127.0.0.1:4200").rstrip("/")
    return {
        "competitor": one_line(warning.competitor, 64), "product_category": one_line(warning.product_category, 64),
        "category": one_line(warning.category, 64), "day": warning.day, "heat": warning.heat,
        "products": "、".join(warning.products) or "—", "rule": rule_label(warning.rule),
        "reason": one_line(warning.reason, 500), "our_products": "、".join(warning.our_products),
        "question": QUESTION, "detected_at": show_time(now),
        "posts": [{"platform": p.platform or p.source, "author": one_line(p.author or "匿名", 40),
                   "reach": f"{p.reach:,}", "text": one_line(p.text), "link": safe_url(p.url)} for p in posts],
        "board_url": f"{base}/artifacts/key/competitor-board", "sender_name": get_settings().email.sender_name,
    }


def _greeting(person: Person, titles: dict[str, str]) -> str:
    return f"{person.name}（{'、'.join(titles.get(r, r) for r in person.roles)}）您好："


def _queue_warning(session: Session, warning: CompetitorWarning, posts: Sequence[Mention], now: datetime) -> list[str]:
    """Queue the alert's mail to each person told (held until their quiet hours end: a warning, not a crisis)
    and its message to each group robot they hold a role of; return who, by name."""
    roster = load_roster()
    people, prefix = people_to_warn(roster, warning.product_category), dedup_prefix(
        warning.competitor, warning.category, warning.day)
    context, templates = _context(warning, posts, now), get_settings().config_dir / "templates"
    local = now.astimezone(local_zone())
    held: dict[datetime | None, list[Letter]] = {}
    for person in people:
        quiet = QuietHours.parse(person.quiet_hours) if person.quiet_hours else None
        until = quiet.end_after(local) if quiet is not None and quiet.contains(local.time()) else None
        mail = render_mail(KIND, {**context, "greeting": _greeting(person, roster.roles)}, templates)
        held.setdefault(until, []).append(
            Letter(person.email, prefix + person.email.lower(), mail.subject, mail.text, mail.html))
    robots = robots_to_warn(roster, people)
    for name, channel in robots:
        held.setdefault(None, []).append(Letter(
            chat_recipient(channel.kind, name), f"{prefix}{channel.kind}:{name}", title(warning),
            robot_markdown(warning), json.dumps(robot_body(channel.kind, warning), ensure_ascii=False)))
    for until, letters in held.items():
        queue_letters(session, incident_id=None, kind=KIND, letters=letters, now=now, not_before=until)
    return [p.name for p in people] + [f"群 {name}" for name, _ in robots]


def _warning_of(alert: CompetitorAlert) -> CompetitorWarning:
    return CompetitorWarning(alert.competitor, alert.product_category, alert.category, alert.day,
                             tuple(filter(None, alert.products.split("、"))), alert.rule, alert.reason, alert.heat, ())


def competitor_board_rows() -> list[dict[str, object]]:
    """Return the competitor board's rows, newest first: each alert, who was told and how many were sent."""
    names = {p.email.lower(): p.name for p in load_roster().people}
    with session_scope() as session:
        return [board_row(_warning_of(alert), competitors.told(session, dedup_prefix(
                    alert.competitor, alert.category, alert.day)), names)
                for alert in competitors.recent_alerts(session)]


@task
def publish_competitor_board() -> int:
    """Update the `competitor-board` table artifact (newest first: who was told, how many sent); return its rows."""
    rows = competitor_board_rows()
    create_table_artifact(key="competitor-board", table=rows or [{"竞品": "—", "触发规则/原因": "暂无同类风险预警"}],
                          description="同类风险预警看板 — 竞品按我们的规则本会立案的危机，最新在前")
    return len(rows)
