"""`crisis compensate | approve | reject`: pay an incident's customers (提供补偿) through the compensate flow,
and decide a batch that waits for approval without the Prefect UI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.options import Now, console, fails_cleanly, parse_time, safe_text

Approver = Annotated[str, typer.Option("--by", help="Who decides (a real name, not the requester).")]
BatchId = Annotated[int | None, typer.Option("--batch", help="The batch (when several wait).")]
Note = Annotated[str, typer.Option("--note", help="Why (kept in the audit trail).")]


@fails_cleanly
def compensate(key: str, policy: Annotated[str, typer.Option("--policy", help="Policy in config/compensation.toml.")],
               orders: Annotated[Path | None, typer.Option("--orders", help="Orders CSV/XLSX.")] = None,
               apply: Annotated[bool, typer.Option("--apply", help="Write the ledger (default: dry run).")] = False,
               query: Annotated[str | None, typer.Option("--query", help="A named orders query.")] = None,
               orders_format: Annotated[str, typer.Option("--format", help="auto | generic | taobao | tmall | jd.")] = "auto",
               notify_customers: Annotated[bool, typer.Option("--notify-customers", help="Queue notices.")] = False,
               by: str = "crisis-cli", note: str = "", now: Now = None,
               as_json: Annotated[bool, typer.Option("--json", help="The summary as JSON (UTF-8), for scripts.")] = False,
               ) -> None:
    """Compensate an incident's customers from an orders file or query (dry run unless --apply)."""
    from flows.compensate import compensate as compensate_flow

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
APPROVAL_NAMES = {"not_required": "无需审批", "required": "需要审批", "pending": "等待审批", "approved": "已批准",
                  "rejected": "已驳回"}


def _yuan(fen: object) -> str:
    return f"{int(str(fen)) / 100:,.2f} 元"


def summary_table(result: dict[str, Any]) -> Table:
    """Return a compensation run's summary as people read it: Chinese labels, amounts in 元, each reason an
    order was skipped on its own line, and the incident's total over all batches."""
    from tasks.compensation.policy import KIND_TITLES, Kind

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
def approve(key: str, by: Approver, note: Note = "", batch: BatchId = None) -> None:
    """Approve a compensation batch that waits for approval (审批通过), as the UI's Resume form does."""
    _decide(key, batch, by, "approve", note)


@fails_cleanly
def reject(key: str, by: Approver, note: Note = "", batch: BatchId = None) -> None:
    """Reject a compensation batch that waits for approval (驳回): nothing of it is paid."""
    _decide(key, batch, by, "reject", note)
