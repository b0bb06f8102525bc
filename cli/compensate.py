"""`crisis compensate | approve | reject`: pay an incident's customers (提供补偿) through the compensate flow,
and decide a batch that waits for approval without the Prefect UI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.options import Key, Now, console, fails_cleanly, no_heartbeats, parse_time, safe_text

Approver = Annotated[str, typer.Option("--by", help="审批人的真实姓名（批准时不能是申请人本人）。")]
BatchId = Annotated[int | None, typer.Option("--batch", help="批次编号（有多个批次等待审批时指定）。")]
Note = Annotated[str, typer.Option("--note", help="审批意见（记入审计日志）。")]


@fails_cleanly
def compensate(key: Key,
               policy: Annotated[str, typer.Option("--policy", help="补偿策略名（config/compensation.toml 中定义）。")],
               orders: Annotated[Path | None, typer.Option(
                   "--orders", help="订单文件（CSV/XLSX），与 --query 二选一。")] = None,
               apply: Annotated[bool, typer.Option("--apply", help="写入赔付台账并发放（默认只试算）。")] = False,
               query: Annotated[str | None, typer.Option(
                   "--query", help="订单库查询名（config/compensation.toml 中配置），与 --orders 二选一。")] = None,
               orders_format: Annotated[str, typer.Option(
                   "--format", help="订单格式：auto 按列名自动识别；generic 通用格式；taobao 淘宝/天猫卖家中心导出；"
                                   "tmall 天猫订单报表；jd 京东商家后台导出。")] = "auto",
               notify_customers: Annotated[bool, typer.Option(
                   "--notify-customers", help="加 --apply 发放后，给每位客户排队发送补偿通知。")] = False,
               by: Annotated[str, typer.Option(help="申请人姓名（记入审计日志）。")] = "crisis-cli",
               note: Annotated[str, typer.Option(help="补偿原因或说明：记入审计日志，也在 Prefect 审批表单中显示。")] = "",
               now: Now = None,
               as_json: Annotated[bool, typer.Option("--json", help="供脚本使用的 JSON 汇总（UTF-8）。")] = False,
               ) -> None:
    """给事件的客户发放补偿（不加 --apply 只试算）。

    订单来自订单文件（--orders）或订单库查询（--query）。"""
    from flows.compensate import compensate as compensate_flow

    with no_heartbeats():
        result = compensate_flow(incident_key=key, orders_path=str(orders) if orders else None, orders_query=query,
                                 policy=policy, dry_run=not apply, note=note or None, orders_format=orders_format,
                                 notify_customers=notify_customers, requested_by=by, now=parse_time(now))
    if as_json:
        sys.stdout.flush()
        sys.stdout.buffer.write((json.dumps(result, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        sys.stdout.buffer.flush()
        return
    console.print(summary_table(result))
    if result["approval"] == "required":
        console.print(f"需要审批：超过策略 {safe_text(policy)} 的审批上限；--apply 后等待另一人审批"
                      f"（Prefect 界面 Resume，或 crisis approve {safe_text(key)} --by 姓名）",
                      highlight=False, soft_wrap=True)


STATUS_NAMES = {"dry_run": "试算（未写入台账，加 --apply 发放）", "applied": "已发放", "rejected": "已驳回，未发放"}


def _yuan(fen: object) -> str:
    return f"{int(str(fen)) / 100:,.2f} 元"


def summary_table(result: dict[str, Any]) -> Table:
    """Return a compensation run's summary as people read it: Chinese labels, amounts in 元, each reason an
    order was skipped on its own line, and the incident's total over all batches."""
    from tasks.compensation.policy import APPROVAL_NAMES, KIND_TITLES, Kind

    table = Table(title=f"补偿批次 {result['batch_id']} · {safe_text(result['incident_key'])} · "
                        f"策略 {safe_text(result['policy'])}", title_justify="left", show_header=False)
    table.add_column("项目", no_wrap=True)
    table.add_column("数值", overflow="fold")
    table.add_row("结果", STATUS_NAMES.get(str(result["status"]), safe_text(result["status"])))
    table.add_row("审批", APPROVAL_NAMES.get(str(result["approval"]), safe_text(result["approval"]))
                  + (f"（{safe_text(result['approver'])}）" if result.get("approver") else ""))
    table.add_row("读入订单", f"{result['orders']} 单")
    table.add_row("补偿订单", f"{result['applied']} 单，{result['customers']} 位客户")
    table.add_row("金额", _yuan(result["amount_fen"]))
    if result["points"]:
        table.add_row("积分", f"{result['points']} 积分")
    for kind, totals in result["by_kind"].items():
        title = KIND_TITLES.get(kind, kind)  # type: ignore[call-overload]  # a StrEnum key matches its str
        amount = f"{totals['points']} 积分" if kind == Kind.POINTS else _yuan(totals["amount_fen"])
        table.add_row(f"  {safe_text(title)}", f"{totals['orders']} 单，{amount}")
    for reason, count in result["skipped"].items():
        table.add_row("未补偿", f"{count} 单：{safe_text(reason)}")
    if result.get("notices") or result.get("sms_notices"):
        table.add_row("客户通知", f"邮件 {result.get('notices', 0)} 封，短信 {result.get('sms_notices', 0)} 条")
    for name, path in (result.get("notice_exports") or {}).items():
        table.add_row(f"通知导出（{safe_text(name)}）", safe_text(path))
    if result.get("report_path"):
        table.add_row("明细文件", safe_text(result["report_path"]))
    table.add_row("本事件累计（全部批次）", f"{result['incident_orders']} 单，{_yuan(result['incident_amount_fen'])}，"
                                      f"{result['incident_points']} 积分")
    return table


def _decide(key: str, batch: int | None, by: str, decision: str, note: str) -> None:
    from tasks.compensation.approval import decide_waiting_batch
    from tasks.compensation.policy import APPROVAL_NAMES

    batch_id, recorded = decide_waiting_batch(key, batch, by, decision, note)
    word = "批准" if decision == "approve" else "驳回"
    if recorded == "pending":
        console.print(f"{safe_text(key)} 批次 {batch_id}：已提交{word}（{safe_text(by.strip())}），运行尚未记录，"
                      "请稍后用 crisis show 查看", highlight=False, soft_wrap=True)
    else:
        console.print(f"{safe_text(key)} 批次 {batch_id}：{word}（{safe_text(by.strip())}），"
                      f"已记录为{APPROVAL_NAMES.get(recorded, safe_text(recorded))}",
                      highlight=False, soft_wrap=True)


@fails_cleanly
def approve(key: Key, by: Approver, note: Note = "", batch: BatchId = None) -> None:
    """批准等待审批的补偿批次（审批通过）。

    与 Prefect 界面中的 Resume 表单作用相同。"""
    _decide(key, batch, by, "approve", note)


@fails_cleanly
def reject(key: Key, by: Approver, note: Note = "", batch: BatchId = None) -> None:
    """驳回等待审批的补偿批次：该批次一单都不发放。"""
    _decide(key, batch, by, "reject", note)
