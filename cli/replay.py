"""`crisis replay`: backtest a lexicon or detection change on an export before a scan uses it."""

from __future__ import annotations

import csv
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
           "possible_rumour": "疑似谣言"}


@fails_cleanly
def replay(
    files: Annotated[list[Path], typer.Argument(help="Canonical mention files (JSONL, CSV, XLSX): one event or one export each.")],
    watch: Annotated[list[str], typer.Option(
        "--watch", help="A name to watch, as a lexicon.toml brand would be; A|B = one name (A) with the aliases A and B. Repeatable.")],
    step: Annotated[str, typer.Option("--step", help="Time between scans (5m, 30m, 1h).")] = "5m",
    horizon: Annotated[str, typer.Option("--horizon", help="How long after each file's first post to scan (48h, 7d).")] = "48h",
    out: Annotated[Path, typer.Option("--out", help="Result CSV, one row per replayed file.")] = Path("replay.csv"),
) -> None:
    """Replay each file on its own throwaway database through the scan's code (read, analyse, store, triage)
    every --step from its first post to --horizon after it; write when an incident would have opened.

    A file that cannot be replayed is one red line; the others are still replayed and the exit code is 1.
    """
    from tasks.replay.plan import COLUMNS, ReplayPlan, ReplayPlanInvalid, parse_duration, parse_watch_terms
    from tasks.replay.runner import replay_file

    try:
        plan = ReplayPlan(parse_watch_terms(watch), parse_duration(step), parse_duration(horizon))
    except ReplayPlanInvalid as exc:
        raise typer.BadParameter(str(exc)) from None
    rows, failed = [], 0
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        for path in files:
            bar = progress.add_task(f"回放 {path.name}", total=plan.scans)
            try:
                rows.append(replay_file(path, plan, advance=lambda n, bar=bar: progress.advance(bar, n)).row)
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
                 "possible_rumour": {"true": "是", "false": "否"}.get(cells["possible_rumour"], "")}
        table.add_row(*(safe_text(v) for v in {**cells, **shown}.values()))
    console.print(table)
    console.print(f"已写入 {out}（回放了 {len(files)} 个文件中的 {len(rows)} 个）")
    if failed:
        raise typer.Exit(1)
