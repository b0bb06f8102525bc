"""`crisis compensate | approve | reject`: pay an incident's customers (提供补偿) through the compensate flow,
and decide a batch that waits for approval without the Prefect UI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

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
               by: str = "crisis-cli", note: str = "", now: Now = None) -> None:
    """Compensate an incident's customers from an orders file or query (dry run unless --apply)."""
    from flows.compensate import compensate as compensate_flow

    result = compensate_flow(incident_key=key, orders_path=str(orders) if orders else None, orders_query=query,
                             policy=policy, dry_run=not apply, note=note or None, orders_format=orders_format,
                             notify_customers=notify_customers, requested_by=by, now=parse_time(now))
    console.print(f"{safe_text(result['status'])}: {result['applied']} orders, {result['customers']} customers, "
                  f"{int(result['amount_fen']) / 100:,.2f} 元, {result['points']} points; "
                  f"skipped {safe_text(json.dumps(result['skipped'], ensure_ascii=False))}; "
                  f"report {safe_text(result['report_path'])}", highlight=False, soft_wrap=True)
    if result["approval"] == "required":
        console.print(f"需要审批：超过策略 {safe_text(policy)} 的审批上限；--apply 后等待另一人审批"
                      f"（Prefect 界面 Resume，或 crisis approve {safe_text(key)} --by 姓名）",
                      highlight=False, soft_wrap=True)
    console.print(f"本事件累计（全部批次）：{result['incident_orders']} 单，"
                  f"{int(result['incident_amount_fen']) / 100:,.2f} 元，{result['incident_points']} 积分",
                  highlight=False, soft_wrap=True)


def _decide(key: str, batch: int | None, by: str, decision: str, note: str) -> None:
    from tasks.compensation.approval import decide_waiting_batch

    batch_id, recorded = decide_waiting_batch(key, batch, by, decision, note)
    word = "批准" if decision == "approve" else "驳回"
    if recorded == "pending":
        console.print(f"{safe_text(key)} 批次 {batch_id}：已提交{word}（{safe_text(by.strip())}），运行尚未记录，"
                      "请稍后用 crisis show 查看", highlight=False, soft_wrap=True)
    else:
        console.print(f"{safe_text(key)} 批次 {batch_id}：{word}（{safe_text(by.strip())}），已记录为 {recorded}",
                      highlight=False, soft_wrap=True)


@fails_cleanly
def approve(key: str, by: Approver, note: Note = "", batch: BatchId = None) -> None:
    """Approve a compensation batch that waits for approval (审批通过), as the UI's Resume form does."""
    _decide(key, batch, by, "approve", note)


@fails_cleanly
def reject(key: str, by: Approver, note: Note = "", batch: BatchId = None) -> None:
    """Reject a compensation batch that waits for approval (驳回): nothing of it is paid."""
    _decide(key, batch, by, "reject", note)
