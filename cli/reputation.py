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
