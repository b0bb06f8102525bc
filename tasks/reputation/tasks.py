"""Prefect tasks of reputation monitoring (舆情监测): compute and store the daily indicators of every watched
brand, ours and our rivals'; publish the reputation-board; write, publish and mail the weekly 声誉报告."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

import markdown as md
import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from config.files import load_lexicon, load_roster
from config.settings import get_settings
from tasks.common import show_time
from tasks.compensation.artifacts import in_prefect_run
from tasks.db import session_scope
from tasks.incidents.state import LEVEL_NAMES, Level
from tasks.monitoring.analysis import DEFAULT_TOKENIZER, load_user_dictionary, normalise, tokenize
from tasks.monitoring.lexicon import lexicon_data
from tasks.notify.templates import render_mail
from tasks.outbox import queue_mail
from tasks.reputation import repository
from tasks.reputation.chart import png, series_of, trend_figure
from tasks.reputation.indicators import BASELINE_DAYS, BrandInfo, compute_rows, day_end
from tasks.reputation.report import (
    IncidentLine,
    ReportData,
    board_rows,
    parse_week,
    render_report,
    weekly,
)

STATE_NAMES = {"open": "待确认", "acknowledged": "已确认", "responding": "处置中", "monitoring": "回落观察",
               "resolved": "已回落", "closed": "已关闭"}
TREND_WEEKS = 8


def watched_brands() -> dict[str, BrandInfo]:
    """Return every brand of config/lexicon.toml, ours and the competitors, with its product category."""
    lexicon = load_lexicon()
    return {**{name: BrandInfo(False, b.category) for name, b in lexicon.brands.items()},
            **{name: BrandInfo(True, c.category) for name, c in lexicon.competitors.items()}}


def _names() -> list[str]:
    """Return every brand, alias and product name, ours and the competitors' (never a rising term)."""
    lexicon = load_lexicon()
    return [n for name, b in (*lexicon.brands.items(), *lexicon.competitors.items()) for n in (name, *b.aliases, *b.products)]


def _tokenizer() -> Callable[[str], list[str]]:
    load_user_dictionary([*lexicon_data().dictionary_words(), *_names()])
    return lambda text: tokenize(normalise(text), DEFAULT_TOKENIZER)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@task(task_run_name="reputation-{first}-{last}")
def compute_reputation(first: date, last: date, now: datetime) -> dict[str, object]:
    """Compute the indicators of every watched brand for each local day in [first, last] and replace those
    days' stored rows. Safe to re-run: a day recomputed gets the same rows (computed_at aside)."""
    zone, days = get_settings().timezone, days_between(first, last)
    start, end = day_end(first - timedelta(days=BASELINE_DAYS + 1), zone), day_end(last, zone)
    with session_scope() as session:
        mentions = repository.mention_frame(session, start, end)
        incidents, metrics = repository.incident_frames(session, end)
    rows = compute_rows(mentions, incidents, metrics, days, watched_brands(), _names(), _tokenizer(), zone)
    with session_scope() as session:
        written = repository.replace_days(session, [d.isoformat() for d in days], rows, now)
    get_run_logger().info("声誉指标 %s … %s（%d 天）：读取 %d 条提及（含此前 %d 天），写入 %d 行",
                          first, last, len(days), len(mentions), BASELINE_DAYS, written)
    return {"first": first.isoformat(), "last": last.isoformat(), "rows": written}


@task
def days_to_compute(first: date, last: date, refresh_from: date) -> tuple[date, date]:
    """Return the span to compute so that every day of [first, last] is stored: from the first missing day
    (or `refresh_from`, recomputed anyway) to `last`."""
    with session_scope() as session:
        stored = repository.stored_days(session, first.isoformat(), last.isoformat())
    missing = [d for d in days_between(first, refresh_from) if d.isoformat() not in stored]
    return (missing[0] if missing else refresh_from), last


@task(task_run_name="reputation-board-{day}")
def publish_reputation_board(day: date) -> int:
    """Update the `reputation-board` table artifact with the day's indicators against the same day last
    week (ours first, rivals marked 竞品); return its rows. Publishes nothing outside a Prefect run."""
    before = (day - timedelta(days=7)).isoformat()
    with session_scope() as session:
        rows = board_rows(repository.reputation_frame(session, day.isoformat(), day.isoformat()),
                          repository.reputation_frame(session, before, before))
    if in_prefect_run():
        create_table_artifact(key="reputation-board", table=rows or [{"品牌": "—", "声量": "暂无数据"}],
                              description=f"声誉看板 {day}（北京时间当日；较上周 = 与上周同一天相比；声量份额为同品类内占比）")
    return len(rows)


def _charts(frame: pd.DataFrame, weeks: pd.DataFrame, monday: date, week: str) -> dict[str, tuple[str, bytes]]:
    """Return file name -> (title, PNG) of the 7-day and the 8-week trend."""
    rivals = sorted(frame.loc[frame["competitor"].astype(bool), "brand"].unique()) if not frame.empty else []
    days = [(monday + timedelta(days=n)).isoformat() for n in range(7)]
    mondays = [monday - timedelta(weeks=n) for n in range(TREND_WEEKS - 1, -1, -1)]
    week_frame = weeks.assign(week=weeks["week"].map(str))
    seven = trend_figure(f"近 7 日趋势（{week}）", [d[5:] for d in days], series_of(frame, "day", days), rivals)
    eight = trend_figure("近 8 周趋势（按周合计）", [f"{m:%m-%d}周" for m in mondays],
                         series_of(week_frame, "week", [str(m) for m in mondays]), rivals)
    return {f"reputation-{week}-7d.png": ("近 7 日趋势", png(seven)), f"reputation-{week}-8w.png": ("近 8 周趋势", png(eight))}


def _inline(text: str, charts: dict[str, tuple[str, bytes]]) -> str:
    for name, (_, data) in charts.items():
        text = text.replace(f"]({name})", "](data:image/png;base64," + base64.b64encode(data).decode() + ")")
    return text


def _report_data(monday: date, week: str) -> tuple[ReportData, pd.DataFrame]:
    zone = get_settings().timezone
    first, sunday = monday - timedelta(weeks=TREND_WEEKS - 1), monday + timedelta(days=6)
    start, end = day_end(monday - timedelta(days=1), zone), day_end(sunday, zone)
    with session_scope() as session:
        frame = repository.reputation_frame(session, first.isoformat(), sunday.isoformat())
        active = repository.incidents_active(session, start, end)
        incidents = [IncidentLine(i.key, i.brand, i.category, f"{i.level.value}级·{LEVEL_NAMES[Level(i.level)]}",
                                  STATE_NAMES.get(i.state, i.state), i.heat, show_time(i.detected_at)) for i in active]
        opened = sum(1 for i in active if i.detected_at >= start)
    days = frame[frame["day"] >= monday.isoformat()]
    return ReportData(week, monday, weekly(frame), days, incidents, opened), frame


@task(task_run_name="reputation-report-{week}")
def write_reputation_report(week: str, now: datetime) -> str:
    """Write var/reports/reputation-<week>.md, .html and the trend PNGs, publish the markdown artifact (charts
    inline) and queue the report to the roster's PR lead and commander. Safe to re-run: files are rewritten,
    the mail is queued once per week."""
    monday = parse_week(week)
    data, frame = _report_data(monday, week)
    charts = _charts(frame, data.weeks, monday, week)
    text = render_report(replace(data, charts=[(title, name) for name, (title, _) in charts.items()]))
    html = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>table{border-collapse:collapse}'
            "td,th{border:1px solid #ccc;padding:4px 8px}img{max-width:100%}</style></head><body>"
            + md.markdown(_inline(text, charts), extensions=["tables"]) + "</body></html>")
    folder = get_settings().var_path / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (_, data_png) in charts.items():
        (folder / name).write_bytes(data_png)
    (folder / f"reputation-{week}.md").write_text(text, encoding="utf-8")
    (folder / f"reputation-{week}.html").write_text(html, encoding="utf-8")
    if in_prefect_run():
        create_markdown_artifact(key=f"reputation-{week.lower()}", markdown=_inline(text, charts),
                                 description=f"声誉报告 {week}")
    _queue_report(week, monday, text, html, now)
    get_run_logger().info("声誉报告已写入 %s", folder / f"reputation-{week}.md")
    return str(folder / f"reputation-{week}.md")


def _queue_report(week: str, monday: date, text: str, html: str, now: datetime) -> int:
    """Queue the report to the PR lead and the commander, once per week (dedup key reputation:<week>)."""
    settings = get_settings()
    people = [p for p in load_roster().people if {"pr", "commander"} & set(p.roles)]
    body = text
    for line in text.splitlines():
        if line.startswith("!["):
            body = body.replace(line, "（图表见 HTML 版本）")
    mail = render_mail("reputation_report", {
        "week": week, "first": monday.isoformat(), "last": (monday + timedelta(days=6)).isoformat(),
        "report_text": body, "report_html": html.split("<body>", 1)[1].rsplit("</body>", 1)[0],
        "sender_name": settings.email.sender_name}, settings.config_dir / "templates")
    with session_scope() as session:
        return queue_mail(session, incident_id=None, kind="reputation", recipients={p.email for p in people},
                          dedup_prefix=f"reputation:{week}", subject=mail.subject, body_text=mail.text,
                          body_html=mail.html, now=now)
