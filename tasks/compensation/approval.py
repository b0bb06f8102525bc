"""The approval gate (审批): a batch above its policy's limit pauses its flow run until a person answers
the form the Prefect UI shows on the paused run (Resume → approver, decision, note)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prefect import get_run_logger
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from pydantic import Field

POLL_SECONDS = 5


class ApprovalInput(RunInput):
    """The resume form of a paused compensation run."""

    approver: str = Field(min_length=1, max_length=128, description="审批人（姓名）")
    decision: Literal["approve", "reject"] = Field(description="approve 批准发放 / reject 驳回（不发放）")
    note: str = Field("", max_length=2000, description="审批意见")


@dataclass(frozen=True)
class Decision:
    required: bool
    approved: bool
    approver: str = ""
    note: str = ""


@dataclass(frozen=True)
class BatchForApproval:
    incident_key: str
    batch_id: int
    policy: str
    policy_title: str
    orders: int
    customers: int
    amount_fen: int
    points: int
    limit: str
    requested_by: str
    note: str


def approval_description(batch: BatchForApproval) -> str:
    """Return the Markdown the resume form shows above its fields."""
    return "\n".join([
        f"### 补偿批次待审批：{batch.incident_key} · 批次 {batch.batch_id}",
        "",
        "| 项目 | 内容 |",
        "|---|---|",
        f"| 策略 | {batch.policy}（{batch.policy_title}） |",
        f"| 订单 / 客户 | {batch.orders:,} / {batch.customers:,} |",
        f"| 金额 | {batch.amount_fen / 100:,.2f} 元 |",
        f"| 积分 | {batch.points:,} |",
        f"| 审批上限 | {batch.limit} |",
        f"| 申请人 | {batch.requested_by} |",
        f"| 备注 | {batch.note or '—'} |",
        "",
        "Choose **approve** to pay, **reject** to pay nothing; both are recorded in the audit log.",
    ])


def await_approval(batch: BatchForApproval | None, timeout_hours: float) -> Decision:
    """Pause this flow run until a person approves or rejects the batch; no pause when `batch` is None
    (nothing to approve: under the limit, or a dry run). An unanswered pause fails the run at the timeout."""
    if batch is None:
        return Decision(required=False, approved=True)
    get_run_logger().warning(
        "batch %s of %s pays %.2f 元 / %s points, above the policy's limit (%s): waiting for approval",
        batch.batch_id, batch.incident_key, batch.amount_fen / 100, batch.points, batch.limit)
    answer = pause_flow_run(
        wait_for_input=ApprovalInput.with_initial_data(description=approval_description(batch)),
        timeout=int(timeout_hours * 3600), poll_interval=POLL_SECONDS, key=f"approve-batch-{batch.batch_id}",
    )
    return Decision(required=True, approved=answer.decision == "approve", approver=answer.approver.strip(),
                    note=answer.note)
