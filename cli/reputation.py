"""`crisis report --since DAY | report reputation --week 2026-W48`: metrics across incidents, and the weekly
声誉报告 through the same flow the Monday schedule runs."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import aftercare
from cli.options import Now, console, fails_cleanly, parse_time, safe_text

report_app = typer.Typer(help="Reports: metrics across incidents (--since), the weekly 声誉报告 (reputation).",
                         invoke_without_command=True)


@report_app.callback()
def report(ctx: typer.Context,
           since: Annotated[str | None, typer.Option("--since", help="First day (YYYY-MM-DD, Asia/Shanghai).")] = None
           ) -> None:
    """Metrics across incidents since a day (`crisis report --since 2026-11-01`): counts by level and category,
    median TTD/TTA/TTR, compensation, unfounded and false alarms. `crisis report reputation`: the 声誉报告."""
    if ctx.invoked_subcommand is not None:
        return
    if since is None:
        console.print(ctx.get_help())
        raise typer.Exit(2)
    aftercare.report(since)


@report_app.command("reputation")
@fails_cleanly
def reputation(week: Annotated[str | None, typer.Option(
        "--week", help="ISO week, e.g. 2026-W48 (default: the last full week).")] = None, now: Now = None) -> None:
    """Write the weekly 声誉报告 (var/reports/reputation-<week>.md / .html with charts), publish it and mail it
    to the PR lead and the commander (once per week)."""
    from flows.reputation import reputation_weekly
    from tasks.reputation.report import parse_week

    if week is not None:
        parse_week(week)  # a bad week stops here, before Prefect starts
    path = reputation_weekly(week=week, now=parse_time(now))
    console.print(f"声誉报告已写入 {safe_text(path)}（及同名 .html），并已发送给公关负责人和应急指挥", highlight=False)


@report_app.command("competitors")
@fails_cleanly
def competitors(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many alerts, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON (UTF-8) with stable field names, for scripts.")] = False,
) -> None:
    """List the competitor alerts (同类风险预警), newest first: day, rival, crisis category, products, the rule
    that would have fired and its reason, heat."""
    import json

    from rich.table import Table

    from tasks.db import session_scope
    from tasks.triage.competitors import recent_alerts
    from tasks.triage.warning import rule_label

    with session_scope() as session:
        rows = [{"day": a.day, "competitor": a.competitor, "category": a.category,
                 "product_category": a.product_category, "products": a.products, "rule": a.rule,
                 "reason": a.reason, "heat": round(a.heat, 1)} for a in recent_alerts(session, limit)]
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        console.print("没有同类风险预警（竞品尚未出现会让我们开启事件的情况）", highlight=False)
        return
    table = Table("日期", "竞品", "类别", "涉及产品", "触发规则", "热度", title="同类风险预警（竞品危机）")
    for row in rows:
        table.add_row(row["day"], safe_text(row["competitor"]), safe_text(row["category"]),
                      safe_text(row["products"] or "—"), safe_text(rule_label(str(row["rule"]))), f"{row['heat']:.1f}")
    console.print(table)
