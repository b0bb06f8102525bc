"""`crisis report --since DAY | report reputation --week 2026-W48`: metrics across incidents, and the weekly
声誉报告 through the same flow the Monday schedule runs."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import aftercare
from cli.options import Now, console, fails_cleanly, no_heartbeats, parse_time, safe_text

report_app = typer.Typer(help="报告：跨事件统计指标（--since）和每周声誉报告（reputation）。",
                         invoke_without_command=True)


@report_app.callback()
def report(ctx: typer.Context,
           since: Annotated[str | None, typer.Option("--since", help="起始日期（YYYY-MM-DD，按 Asia/Shanghai 北京时间）。")] = None
           ) -> None:
    """自某日起的跨事件统计（`crisis report --since 2026-11-01`）：按级别和类别计数、TTD/TTA/TTR 中位数、补偿、
    谣言和误报。`crisis report reputation`：声誉报告。"""
    if ctx.invoked_subcommand is not None:
        return
    if since is None:
        console.print(ctx.get_help())
        raise typer.Exit(2)
    aftercare.report(since)


@report_app.command("reputation")
@fails_cleanly
def reputation(week: Annotated[str | None, typer.Option(
        "--week", help="ISO 周，例如 2026-W48（默认：上一个完整的周）。")] = None, now: Now = None) -> None:
    """生成每周声誉报告，并发邮件给公关负责人和应急指挥。

    报告写入 var/reports/reputation-<week>.md 和带图表的 .html，并发布到 Prefect 界面；每周只发一次邮件。"""
    from flows.reputation import reputation_weekly
    from tasks.reputation.report import parse_week

    if week is not None:
        parse_week(week)  # a bad week stops here, before Prefect starts
    with no_heartbeats():
        path = reputation_weekly(week=week, now=parse_time(now))
    console.print(f"声誉报告已写入 {safe_text(path)}（及同名 .html），并已发送给公关负责人和应急指挥", highlight=False)


@report_app.command("competitors")
@fails_cleanly
def competitors(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="最多显示多少条预警（最新在前）。")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="供脚本使用的 JSON 输出（UTF-8，字段名固定）。")] = False,
) -> None:
    """同类风险预警（竞品危机）列表，最新在前。

    每条含日期、竞品、危机类别、涉及产品、本会触发的规则及原因、热度。"""
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
