"""The approval gate (审批): a batch above its policy's limit pauses its flow run until a person answers
the form the Prefect UI shows on the paused run (Resume → approver, decision, note), or runs
`crisis approve|reject KEY`, which resumes the same run with the same input through Prefect's API.

The approver must be named (not blank) and, under the policy's four-eyes rule (四眼原则, on unless the
policy sets `four_eyes = false`), be someone other than the requester. The form's schema says so, so
the server refuses such an answer and the run stays paused for a proper one; the run checks again."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from uuid import UUID

from prefect import get_client, get_run_logger
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout, NotPausedError, Pause
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from pydantic import ConfigDict, Field, model_validator

from config.files import load_policies
from tasks.compensation import repository
from tasks.db import session_scope
from tasks.errors import ApprovalRefused
from tasks.incidents.repository import get_incident
from tasks.notify.templates import markdown_cell
from tasks.pausing import paused_by_us, save_form

logger = logging.getLogger(__name__)

POLL_SECONDS = 5
RECORD_WAIT_SECONDS = 60


def refusal(approver: str, decision: str, requester: str, four_eyes: bool) -> str | None:
    """Return why a decision may not be taken (blank approver; the requester approving under four eyes)."""
    if not approver.strip():
        return "审批人不能为空：请填写真实姓名"
    if four_eyes and decision == "approve" and approver.strip() == requester.strip():
        return f"申请人 {requester.strip()} 不能审批自己申请的批次（四眼原则），请由另一人审批"
    return None


class ApprovalInput(RunInput):
    """The resume form of a paused compensation run."""

    approver: str = Field(min_length=1, max_length=128, pattern=r"\S", description="审批人（姓名）")
    decision: Literal["approve", "reject"] = Field(description="approve 批准发放 / reject 驳回（不发放）")
    note: str = Field("", max_length=2000, description="审批意见")

    requester: ClassVar[str] = ""
    four_eyes: ClassVar[bool] = False

    @model_validator(mode="after")
    def _allowed(self) -> ApprovalInput:
        why = refusal(self.approver, self.decision, type(self).requester, type(self).four_eyes)
        if why:
            raise ValueError(why)
        return self


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
    four_eyes: bool = True


def approval_description(batch: BatchForApproval) -> str:
    """Return the Markdown the resume form shows above its fields."""
    rule = "审批人须为申请人以外的另一人（四眼原则）。" if batch.four_eyes else ""
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
        f"| 申请人 | {markdown_cell(batch.requested_by)} |",
        f"| 备注 | {markdown_cell(batch.note or '—')} |",
        "",
        f"Choose **approve** to pay, **reject** to pay nothing; both are recorded in the audit log. {rule}",
    ])


def approval_form(batch: BatchForApproval) -> type[ApprovalInput]:
    """Return the batch's resume form: its schema refuses a blank approver and, under four eyes, the
    requester approving (the server checks the schema when the run is resumed, from the UI or the CLI)."""
    extra: dict[str, Any] = {}
    if batch.four_eyes:
        itself = {"pattern": rf"^\s*{re.escape(batch.requested_by.strip())}\s*$"}
        extra = {"if": {"properties": {"decision": {"const": "approve"}}},
                 "then": {"properties": {"approver": {"not": itself}}}}
    form = type("ApprovalInput", (ApprovalInput,), {
        "model_config": ConfigDict(json_schema_extra=extra), "__module__": __name__,
        "requester": batch.requested_by, "four_eyes": batch.four_eyes})
    return form.with_initial_data(description=approval_description(batch))


def await_approval(batch: BatchForApproval | None, timeout_hours: float) -> Decision:
    """Pause this flow run until a person approves or rejects the batch; no pause when `batch` is None
    (nothing to approve: under the limit, or a dry run). An unanswered pause fails the run at the timeout."""
    if batch is None:
        return Decision(required=False, approved=True)
    get_run_logger().warning(
        "%s 批次 %s 将赔付 %.2f 元 / %s 积分，超过策略的审批额度（%s）：等待审批"
        "（在 UI 中点 Resume 填写，或运行 crisis approve|reject %s --batch %s --by 姓名）",
        batch.incident_key, batch.batch_id, batch.amount_fen / 100, batch.points, batch.limit,
        batch.incident_key, batch.batch_id)
    form, timeout, key = approval_form(batch), int(timeout_hours * 3600), f"approve-batch-{batch.batch_id}"
    try:
        answer = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=POLL_SECONDS, key=key)
    except Pause as exc:
        answer = _wait_after_lost_answer(exc, form, timeout, key)
    return Decision(required=True, approved=answer.decision == "approve", approver=answer.approver.strip(),
                    note=answer.note)


def _wait_after_lost_answer(exc: Pause, form: type[ApprovalInput], timeout: int, key: str) -> ApprovalInput:
    """Wait for the answer when the server paused the run but its reply was lost (a slow server: the client
    retried, and the retry was refused as "already made this state transition" with the run Paused).
    Prefect's pause_flow_run then raises and would leave the run paused with no form and nobody waiting;
    this saves the form and waits as it would have. Any other Pause is re-raised."""
    if not paused_by_us(exc, key):
        raise exc
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None, "await_approval runs inside a flow run"
    get_run_logger().warning("服务器已暂停本运行，但其应答丢失：照常等待审批")
    form_type, keyset = save_form(exc, form)
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(context.flow_run.id)
            if run.state is not None and run.state.is_running():
                return form_type.load(keyset)  # type: ignore[return-value]
            if time.monotonic() >= deadline:
                raise FlowPauseTimeout("Flow run was paused and never resumed.")
            time.sleep(POLL_SECONDS)


FORM_WAIT_SECONDS = 30.0  # a run saves its form a moment after it pauses; an answer sent in between waits for it


def resume_with_decision(flow_run_id: str, approver: str, decision: str, note: str, batch: str,
                         form_wait: float = FORM_WAIT_SECONDS) -> None:
    """Resume a paused compensation run with the form's input, as the UI's Resume button does. An answer sent
    before the run has saved its form waits for it (up to `form_wait` s); a refusal by the server is one line in
    Chinese naming the `batch` ("INC-… 批次 2"), never the run's id; the server's own words go to the log."""
    answer = {"approver": approver.strip(), "decision": decision, "note": note}
    deadline = time.monotonic() + form_wait
    while True:
        try:
            resume_flow_run(UUID(flow_run_id), run_input=answer)
            return
        except NotPausedError:
            raise ApprovalRefused(f"{batch}: 其运行已不在等待审批（已被审批、已超时或已取消）") from None
        except FlowPauseTimeout:
            raise ApprovalRefused(f"{batch}: 审批已超时，其运行不能再继续") from None
        except (RuntimeError, ValueError) as exc:  # "Cannot resume this run: <the server's reason>"
            unsaved = "schema not found" in str(exc)
            if unsaved and time.monotonic() < deadline:
                time.sleep(1)
                continue
            logger.warning("%s: the server refused to resume run %s: %s", batch, flow_run_id, exc)
            raise ApprovalRefused(f"{batch}: 审批表单在 {form_wait:.0f} 秒内仍未保存，请稍后再试" if unsaved
                                  else f"{batch}: 服务器拒绝继续其运行（审批内容不符合表单要求）") from None


def decide_waiting_batch(incident_key: str, batch_id: int | None, approver: str, decision: str,
                         note: str) -> tuple[int, str]:
    """Answer the batch of the incident that waits for approval (the only one, or `batch_id`) by resuming
    its paused run; return the batch and its approval as the run recorded it ("pending" when the run has
    not recorded it within a minute). The run audits the decision under the approver's name."""
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        waiting = {b.id: b for b in repository.waiting_batches(session, incident.id)}
        if batch_id is None and len(waiting) != 1:
            listed = "、".join(str(i) for i in sorted(waiting))
            raise ApprovalRefused(f"{incident_key}: 没有等待审批的补偿批次" if not waiting
                                  else f"{incident_key}: 有多个批次等待审批（{listed}），请用 --batch 指定")
        chosen = waiting.get(batch_id if batch_id is not None else next(iter(waiting)))
        if chosen is None:
            raise ApprovalRefused(f"{incident_key}: 批次 {batch_id} 不在等待审批")
        batch_id, requester, policy, run = chosen.id, chosen.requested_by, chosen.policy, chosen.flow_run_id
    policies = load_policies().policies
    why = refusal(approver, decision, requester, policies[policy].four_eyes if policy in policies else True)
    if why:
        raise ApprovalRefused(f"{incident_key} 批次 {batch_id}: {why}")
    if run is None:
        raise ApprovalRefused(f"{incident_key} 批次 {batch_id}: 没有记录其运行，无法继续")
    resume_with_decision(run, approver, decision, note, f"{incident_key} 批次 {batch_id}")
    return batch_id, _wait_for_record(batch_id)


def _wait_for_record(batch_id: int, seconds: float = RECORD_WAIT_SECONDS) -> str:
    """Return the batch's approval once the resumed run has recorded it ("pending" if not in time)."""
    deadline = time.monotonic() + seconds
    while True:
        with session_scope() as session:
            approval = repository.approval_of(session, batch_id)
        if approval != "pending" or time.monotonic() >= deadline:
            return approval
        time.sleep(0.5)
