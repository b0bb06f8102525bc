"""Reputation runbook (舆情监测 and 监测和反馈): daily indicators per brand, ours and our rivals', and the weekly
声誉报告 the PR lead reads on Monday."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from prefect import flow

from flows.forms import Now, ask, optional, plain_parameters, run_name
from tasks.common import local_zone, resolve_now
from tasks.notify.tasks import deliver_outbox
from tasks.reputation.report import last_full_week, parse_week, week_label
from tasks.reputation.tasks import (
    compute_reputation,
    days_to_compute,
    publish_reputation_board,
    write_reputation_report,
)

Day = optional(date, "日期", "计算到哪一天（北京时间），例如 2026-11-29；留空为昨天")
Days = Annotated[int, ask("天数", "从该日往前共计算几天（补算历史时加大），1 到 400", ge=1, le=400)]
Week = optional(str, "周次", "ISO 周，例如 2026-W48；留空为上一个完整的周")


@plain_parameters
@flow(name="reputation", flow_run_name=run_name("reputation", "day"), log_prints=True)
def reputation(day: Day = None, days: Days = 1, now: Now = None) -> dict[str, object]:
    """Compute the day's reputation indicators and update the board.

    1) take the day (yesterday in Beijing time unless given) and the `days` before it;
    2) per brand of config/lexicon.toml, ours and the competitors': volume, negative share, net sentiment,
       share of voice within the product category, top complaint categories, terms rising against the
       previous 7 days, open incidents and their heat — each day's rows replaced, so a re-run changes nothing;
    3) update the `reputation-board` artifact: the day against the same day last week.
    """
    at = resolve_now(now)
    last = day or at.astimezone(local_zone()).date() - timedelta(days=1)
    result = compute_reputation(last - timedelta(days=days - 1), last, at)
    publish_reputation_board(last)
    return result


@plain_parameters
@flow(name="reputation-weekly", flow_run_name=run_name("reputation-weekly", "week"), log_prints=True)
def reputation_weekly(week: Week = None, now: Now = None) -> str:
    """Write and send the weekly 声誉报告.

    1) take the week (the last full week unless given);
    2) make sure every day of the last 8 weeks has indicators (missing days computed, the week itself recomputed);
    3) write var/reports/reputation-<week>.md / .html with the 7-day and 8-week trends against each competitor,
       complaint categories, rising terms, incidents and their state, and three sentences on what changed;
    4) publish it as the `reputation-<week>` artifact and mail it to the PR lead and the commander, once per week.
    """
    at = resolve_now(now)
    monday = parse_week(week) if week else last_full_week(at.astimezone(local_zone()).date())
    sunday = monday + timedelta(days=6)
    first, last = days_to_compute(monday - timedelta(weeks=7), sunday, monday)
    compute_reputation(first, last, at)
    path = write_reputation_report(week_label(monday), at)
    deliver_outbox(at)
    return path
