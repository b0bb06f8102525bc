"""`crisis replay`: backtest a lexicon or detection change on an export before a scan uses it."""

from __future__ import annotations

import csv
import math
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.options import console, errors, fails_cleanly, safe_text
from config.settings import SettingsError
from tasks.errors import CrisisError

HEADERS = {"file": "文件", "first_post_at": "首帖时间", "opened_at": "开启时间", "minutes": "用时（分钟）",
           "incident_key": "事件编号", "category": "类别", "level": "级别", "incidents": "事件数",
           "possible_rumour": "疑似谣言", "listed_at": "列入待核实"}


@fails_cleanly
def replay(
    files: Annotated[list[Path], typer.Argument(help="标准格式的舆情文件（JSONL、CSV 或 XLSX），每个文件为一个事件或一份导出。")],
    watch: Annotated[list[str], typer.Option(
        "--watch", help="监测词，写法同 config/lexicon.toml 中的品牌；A|B 表示名称 A，别名为 A 和 B。可重复指定。")],
    step: Annotated[str, typer.Option("--step", help="两次扫描的间隔（如 5m、30m、1h）。")] = "5m",
    horizon: Annotated[str, typer.Option("--horizon", help="从每个文件的首帖起扫描多长时间（如 48h、7d）。")] = "48h",
    out: Annotated[Path, typer.Option("--out", help="结果 CSV，每个回放的文件一行。")] = Path("replay.csv"),
) -> None:
    """回测：用扫描的代码回放每个文件，记下事件本会在何时开启。

    每个文件用各自的临时数据库，从首帖起每隔 --step 扫描一次（读取、分析、存储、研判），直到首帖后 --horizon。

    无法回放的文件显示一行红色错误，其余文件照常回放，退出码为 1。
    """
    from tasks.replay.plan import COLUMNS, ReplayPlan, ReplayPlanInvalid, parse_duration, parse_watch_terms
    from tasks.replay.runner import replay_file

    try:
        plan = ReplayPlan(parse_watch_terms(watch), parse_duration(step), parse_duration(horizon))
    except ReplayPlanInvalid as exc:
        raise typer.BadParameter(str(exc)) from None
    rows, failed, beyond = [], 0, []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        for path in files:
            bar = progress.add_task(f"回放 {path.name}", total=plan.scans)
            try:
                outcome = replay_file(path, plan, advance=lambda n, bar=bar: progress.advance(bar, n))
                rows.append(outcome.row)
                if outcome.beyond and outcome.last_post_at is not None:
                    beyond.append((path, outcome.beyond, outcome.last_post_at - outcome.row.first_post_at))
            except (CrisisError, SettingsError) as exc:
                failed += 1
                errors.print(f"[red]错误：[/red]{safe_text(exc)}", highlight=False)
            progress.remove_task(bar)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(row.values() for row in rows)
    table = Table(title=f"回放：每 {step} 扫描一次，共 {horizon}，关注 {'、'.join(safe_text(w) for w in plan.watch)}",
                  title_justify="left")
    for column in COLUMNS:  # the CSV keeps COLUMNS' stable names for scripts; people read these
        table.add_column(HEADERS.get(column, column), justify="right" if column in ("minutes", "incidents") else "left",
                         no_wrap=column == "incident_key")
    for row in rows:
        cells = row.values()
        shown = {"file": Path(row.file).name, "first_post_at": cells["first_post_at"][:16].replace("T", " "),
                 "opened_at": cells["opened_at"][:16].replace("T", " "),
                 "listed_at": cells["listed_at"][:16].replace("T", " "),
                 "possible_rumour": {"true": "是", "false": "否"}.get(cells["possible_rumour"], "")}
        table.add_row(*(safe_text(v) for v in {**cells, **shown}.values()))
    console.print(table)
    console.print(f"已写入 {out}（回放了 {len(files)} 个文件中的 {len(rows)} 个）")
    for path, count, span in beyond:  # a story that resurfaces after the horizon: say so, never a silent "quiet"
        errors.print(f"[yellow]注意：[/yellow]{safe_text(path.name)} 有 {count} 条帖子晚于首帖后 {horizon}，未参与回放"
                     f"（最晚一条在首帖后 {math.ceil(span / timedelta(hours=1))} 小时）；要看到它们，请加大 --horizon。",
                     highlight=False)
    if failed:
        raise typer.Exit(1)
