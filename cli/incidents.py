"""`crisis scan | incidents | show | ack | level`: find incidents, look at them, take them on."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.options import Key, Now, console, errors, fails_cleanly, no_heartbeats, parse_time, safe_text

if TYPE_CHECKING:
    from tasks.models import Incident


@fails_cleanly
def scan(now: Now = None,
         file: Annotated[Path | None, typer.Option("--file", help="额外读入的一份标准格式舆情文件（JSONL/CSV/XLSX）。")] = None) -> None:
    """立即扫描一次（监测 + 研判），与定时扫描运行同一个 flow。"""
    from flows.monitor import scan as scan_flow

    if file is not None and not file.is_file():
        raise typer.BadParameter(f"{file}: no such file", param_hint="--file")
    _say_if_no_server()
    with no_heartbeats():
        result = scan_flow(now=parse_time(now), extra_file=str(file) if file else None)
    console.print(f"读取 {result['read']} 条提及，新增 {result['new']} 条，有问题的行 {len(result['bad_rows'])} 条")
    for problem in result["bad_rows"][:20]:
        console.print(f"  [yellow]有问题的行[/yellow] {safe_text(problem)}", highlight=False)
    for change in result["changes"]:
        if change["kind"] != "updated":
            what = CHANGE_NAMES.get(str(change["kind"]), safe_text(change["kind"]))
            console.print(f"[bold red]{what}[/bold red] {safe_text(change['incident_key'])} "
                          f"{safe_text(change['level'])} 级")


def _say_if_no_server() -> None:
    """Tell the operator, before the wait, why a scan without a Prefect server takes a minute and how not to."""
    from prefect.settings import PREFECT_API_URL

    from config.settings import get_settings
    from tasks.stack import Stack

    if PREFECT_API_URL.value():
        return
    errors.print(f"未设置 PREFECT_API_URL：本次扫描先启动一个临时 Prefect 服务器（约一分钟，每次扫描都重来），所以慢；"
                 f"先 crisis up（或 make up），再设 PREFECT_API_URL={Stack(get_settings()).api_url}，扫描只需数秒",
                 markup=False, highlight=False)


CHANGE_NAMES = {"opened": "新事件", "escalated": "已升级"}
BATCH_STATUS_NAMES = {"dry_run": "试算", "pending_approval": "等待审批", "approved": "已批准", "running": "发放中",
                      "applied": "已发放", "rejected": "已驳回", "interrupted": "已中断"}

# Stable field names of `crisis incidents --json / --csv`, for scripts (the table's headers are for people).
INCIDENT_FIELDS = ("key", "brand", "category", "level", "state", "heat", "detected_at", "owner", "drill")


@fails_cleanly
def incidents(
    limit: Annotated[int, typer.Option("--limit", help="最多显示多少条（最新在前）。")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="供脚本使用的 JSON 输出（UTF-8，字段名固定）。")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="供脚本使用的 CSV 输出（UTF-8，字段名固定）。")] = False,
) -> None:
    """事件列表（最新在前）；无论终端多窄，事件编号都完整显示。"""
    from tasks.db import session_scope
    from tasks.incidents.repository import list_incidents

    if as_json and as_csv:
        raise typer.BadParameter("--json 与 --csv 只能选一个", param_hint="--json / --csv")
    with session_scope() as session:
        rows = [_incident_row(i) for i in list_incidents(session, limit)]
    if as_json:
        _write_utf8(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    elif as_csv:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=INCIDENT_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "owner": row["owner"] or ""} for row in rows)
        _write_utf8(out.getvalue())
    else:
        console.print(_incident_table(rows))


def _incident_row(i: Incident) -> dict[str, object]:
    return {"key": i.key, "brand": i.brand, "category": i.category, "level": str(i.level), "state": str(i.state),
            "heat": round(i.heat, 1), "detected_at": i.detected_at.isoformat(), "owner": i.acknowledged_by,
            "drill": bool(i.is_drill)}


def _incident_table(rows: list[dict[str, object]]) -> Table:
    """People's table: Chinese headers; the key never wraps or shortens (responders copy it), the other
    columns wrap, and the least needed give way in a narrow terminal (heat and owner below 100 columns,
    the detection time below 72; `crisis show` has them all)."""
    from datetime import datetime

    from tasks.common import show_time
    from tasks.incidents.state import state_name

    table = Table(title="事件列表（最新在前）", title_justify="left")
    widest = max((len(str(row["key"])) for row in rows), default=8)
    table.add_column("事件编号", no_wrap=True, min_width=widest, overflow="fold")
    table.add_column("品牌", min_width=4, overflow="fold")
    table.add_column("类别", overflow="fold")
    table.add_column("级别", min_width=4, no_wrap=True)
    table.add_column("状态", min_width=6, no_wrap=True)
    narrow, very_narrow = console.width < 100, console.width < 72
    if not narrow:
        table.add_column("热度", justify="right")
    if not very_narrow:
        table.add_column("发现时间", no_wrap=True, min_width=16)
    if not narrow:
        table.add_column("负责人", overflow="fold")
    for row in rows:
        cells = [safe_text(row["key"]), safe_text(row["brand"]), safe_text(row["category"]), safe_text(row["level"]),
                 state_name(str(row["state"]))]
        if not narrow:
            cells.append(f"{row['heat']:.1f}")
        if not very_narrow:
            cells.append(show_time(datetime.fromisoformat(str(row["detected_at"]))))
        if not narrow:
            cells.append(safe_text(row["owner"] or "—"))
        table.add_row(*cells)
    if not rows:
        table.caption = "暂无事件"
    return table


def _write_utf8(text: str) -> None:
    """Write script output as UTF-8 whatever the locale (a pipe under LANG=C would otherwise fail on 澄星)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


@fails_cleanly
def show(key: Key) -> None:
    """查看单个事件：触发原因、各阶段时间、通知和补偿台账。"""
    from tasks.common import show_time
    from tasks.compensation.policy import KIND_TITLES
    from tasks.compensation.repository import batch_totals, batches_of, incident_totals
    from tasks.db import session_scope
    from tasks.incidents.repository import get_incident
    from tasks.incidents.state import STAMP_NAMES, state_name
    from tasks.notify.repository import notifications_of

    with session_scope() as session:
        i = get_incident(session, key)
        console.print(f"[bold]{safe_text(i.key)}[/bold] {safe_text(i.brand)} · {safe_text(i.category)} · "
                      f"{i.level} 级 · {state_name(i.state)} · 热度 {i.heat:.1f}")
        console.print(f"触发原因：{safe_text(i.trigger_reason)}", highlight=False, soft_wrap=True)
        for name, value in i.stamps().items():
            console.print(f"  {STAMP_NAMES.get(name, name)}  {show_time(value)}")
        mail = notifications_of(session, i.id)
        console.print(f"通知：已发送 {sum(m.status == 'sent' for m in mail)} 条，共排队 {len(mail)} 条")
        for kind, (orders, fen) in incident_totals(session, i.id).items():
            console.print(f"补偿：{safe_text(KIND_TITLES.get(kind, kind))} {orders} 单，{fen / 100:,.2f} 元")  # type: ignore[call-overload]
        for b in batches_of(session, i.id):
            console.print(f"  批次 {b.id} {safe_text(b.policy)} {BATCH_STATUS_NAMES.get(b.status, safe_text(b.status))}："
                          f"{b.applied_count} 单，{b.amount_fen / 100:,.2f} 元", highlight=False, soft_wrap=True)
        total = batch_totals(session, i.id, None)
        console.print(f"赔付合计（全部批次）：{total['orders']} 单，{total['amount_fen'] / 100:,.2f} 元，"
                      f"{total['points']} 积分", highlight=False, soft_wrap=True)


@fails_cleanly
def ack(key: Key, by: Annotated[str, typer.Option("--by", help="接手此事件的负责人姓名。")],
        note: Annotated[str, typer.Option(help="备注（记入审计日志），例如：公关接手，30 分钟内出口径。")] = "",
        now: Now = None) -> None:
    """确认接手事件：记入审计日志，并发出 Prefect event。"""
    from prefect.events.worker import EventsWorker

    from tasks.common import resolve_now
    from tasks.notify.tasks import acknowledge

    acknowledge(key, by, note, resolve_now(parse_time(now)))
    EventsWorker.drain_all()
    console.print(f"{safe_text(key)} 已由 {safe_text(by)} 确认接手", highlight=False)


@fails_cleanly
def level(key: Key, to: Annotated[str, typer.Option("--to", help="新级别：I、II、III 或 IV。")],
          reason: Annotated[str, typer.Option("--reason", help="理由（记入审计日志）。")],
          by: Annotated[str, typer.Option("--by", help="定级人姓名。")], now: Now = None) -> None:
    """人工定级：手动调整事件级别，须说明理由，记入审计日志。

    调高级别后会发出升级通知。"""
    from tasks.common import resolve_now
    from tasks.db import session_scope
    from tasks.incidents.repository import get_incident
    from tasks.incidents.service import override_level

    with session_scope() as session:
        incident = get_incident(session, key)
        previous = incident.level
        override_level(session, incident, to.upper(), reason=reason, actor=by, at=resolve_now(parse_time(now)))
    console.print(f"{safe_text(key)}：级别 {previous} → {safe_text(to.upper())}（{safe_text(reason)}）",
                  highlight=False)


@fails_cleanly
def open_(brand: Annotated[str, typer.Argument(help="监测中的我方品牌（lexicon.toml 的 brands 之一）。")],
          category: Annotated[str, typer.Option("--category", help="危机类别（lexicon.toml 的类别或 其他）。")],
          by: Annotated[str, typer.Option("--by", help="立案人姓名。")],
          reason: Annotated[str, typer.Option("--reason", help="为何判断为危机（记入审计日志）。")],
          level: Annotated[str | None, typer.Option("--level", help="级别 I–IV；不填则按数据自动定级。")] = None,
          now: Now = None) -> None:
    """人工立案：规则未开启、人工判断确属危机时手动开启事件。

    事件像规则开启的一样定级、关联该品牌与类别最近窗口内的负面帖子及其转发，并记入审计日志；
    连接 Prefect 服务器时立即发出通知，否则在下一次扫描时发出。"""
    from prefect.settings import PREFECT_API_URL

    from tasks.common import resolve_now
    from tasks.incidents.state import LEVEL_NAMES
    from tasks.triage.tasks import open_by_hand

    change = open_by_hand(brand, category, by=by, reason=reason, at=resolve_now(parse_time(now)), level=level)
    console.print(f"已人工立案 {safe_text(change.incident_key)}：{safe_text(brand)} · {safe_text(category)}，"
                  f"{change.level.value} 级（{LEVEL_NAMES[change.level]}），立案人 {safe_text(by)}", highlight=False)
    for key, n in (change.overruled or {}).items():
        console.print(f"并入 {safe_text(key)}（已按误报或谣言关闭）的 {n} 条帖子：该传播重新计入检测，后续转发归入本事件",
                      highlight=False, soft_wrap=True)
    if not PREFECT_API_URL.value():
        console.print("未连接 Prefect 服务器（未设置 PREFECT_API_URL）：通知将在下一次扫描时发出", highlight=False)
        return
    from prefect.events.worker import EventsWorker

    from tasks.db import session_scope
    from tasks.incidents.service import announce_pending

    with session_scope() as session:
        announce_pending(session)
    EventsWorker.drain_all()
    console.print("已发出立案事件：按告警规则通知应急小组", highlight=False)
