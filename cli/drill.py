"""`crisis drill --scenario NAME | drill grade ID | drill list`: rehearse the plan (应急演练) from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.options import Now, console, fails_cleanly, no_heartbeats, parse_time, safe_text

DRILL_COLUMNS = {"id": "编号", "scenario": "场景", "status": "状态", "started": "开始时间", "grade at": "评估时间",
                 "incident": "演练事件", "score": "得分"}
DRILL_STATUS_NAMES = {"running": "进行中", "graded": "已评估"}

drill_app = typer.Typer(help="应急演练：生成一场模拟危机，走真实的处置流程并评分。",
                        invoke_without_command=True)


@drill_app.callback()
@fails_cleanly
def start(ctx: typer.Context,
          scenario: Annotated[str | None, typer.Option("--scenario", help="演练场景名（config/drills.toml 中定义，见 crisis drill scenarios）。")] = None,
          seed: Annotated[int | None, typer.Option(help="随机种子，不填用场景自带的。 同一种子生成同一场危机。")] = None,
          by: Annotated[str, typer.Option("--by", help="发起人姓名（记入审计日志和演练记录）。")] = "crisis-cli",
          now: Now = None) -> None:
    """开始演练：`crisis drill --scenario quality`（可选场景见 `crisis drill scenarios`）。"""
    if ctx.invoked_subcommand is not None:
        return
    if scenario is None:
        console.print(ctx.get_help())
        raise typer.Exit(2)
    from flows.drill import drill
    from tasks.common import resolve_now
    from tasks.drills.tasks import scenario_for

    scenario_for(scenario)  # an unknown name stops here, before Prefect starts
    with no_heartbeats():
        result = drill(scenario=scenario, seed=seed, started_by=by, now=resolve_now(parse_time(now)))
    key = result["incident"] or "尚未开启（之后的扫描继续研判演练数据）"
    console.print(f"演练 #{result['drill']}（{safe_text(scenario)}）已开始；演练事件：{safe_text(key)}",
                  highlight=False)


@drill_app.command("grade")
@fails_cleanly
def grade(drill_id: Annotated[int, typer.Argument(help="演练编号（crisis drill list 可查）。")],
          now: Now = None) -> None:
    """立即评估一次演练（否则到时由 drill-grade 部署自动评估）。"""
    from flows.drill import drill_grade
    from tasks.common import resolve_now

    with no_heartbeats():
        graded = drill_grade(drill_id=drill_id, now=resolve_now(parse_time(now)))
    for result in graded:
        console.print(f"演练 #{result['drill']}：{safe_text(result['verdict'])}（{result['score']} 分）；"
                      f"评分表 {safe_text(result['path'])}", highlight=False, soft_wrap=True)


@drill_app.command("list")
@fails_cleanly
def list_(limit: Annotated[int, typer.Option(help="最多显示多少条（最新在前）。")] = 20) -> None:
    """演练列表（最新在前），含演练事件和得分。"""
    from tasks.drills.tasks import list_drills

    rows = list_drills(limit)
    table = Table(*(DRILL_COLUMNS.get(name, name) for name in (rows[0] if rows else ("id", "scenario", "status"))),
                  title="演练列表（最新在前）", title_justify="left")
    for row in rows:
        table.add_row(*(DRILL_STATUS_NAMES.get(str(v), safe_text(v)) if k == "status" else safe_text(v)
                        for k, v in row.items()))
    console.print(table)


@drill_app.command("scenarios")
@fails_cleanly
def scenarios() -> None:
    """列出 config/drills.toml 中的演练场景。"""
    from config.drills import load_drills

    table = Table("场景名", "标题", "类别", "预期级别", "含补偿", "评估时间（分钟后）", title="演练场景",
                  title_justify="left")
    table.columns[0].no_wrap = True  # the name is what `crisis drill --scenario` takes
    for name, s in load_drills().scenarios.items():
        table.add_row(safe_text(name), safe_text(s.title), safe_text(s.category), s.expected_level,
                      "是" if s.compensation else "否", str(s.grade_after_minutes))
    console.print(table)
