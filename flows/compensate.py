"""Compensation runbook (提供补偿), started by a responder from the Prefect UI or `crisis compensate`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from prefect import flow

from config.files import load_policies
from flows.forms import IncidentKey, Now, ask, optional, plain_parameters
from tasks.common import resolve_now
from tasks.compensation.approval import await_approval
from tasks.compensation.formats import FORMATS
from tasks.compensation.interrupted import mark_run_interrupted, settle_interrupted_batches
from tasks.compensation.limits import one_run_per_incident
from tasks.compensation.report import announce_compensation, queue_customer_notices, report_batch
from tasks.compensation.sources import source_label
from tasks.compensation.tasks import (
    approval_request,
    current_run_id,
    load_orders_source,
    open_batch,
    plan_batch,
    record_decision,
    write_ledger,
)

POLICIES = load_policies()  # the form's dropdowns, as of deployment: `make deploy` again after editing the file
Requester = Annotated[str, ask("申请人", "你的真实姓名，记入审计日志；超过审批上限的批次须由另一人审批（四眼原则）",
                               min_length=1, max_length=128, pattern=r"\S")]
PolicyName = Annotated[str, ask("补偿策略", "；".join(f"{name}：{p.title}" for name, p in POLICIES.policies.items()),
                                choices=POLICIES.policies)]
OrdersPath = optional(str, "订单文件（与订单查询二选一）",
                      "服务器上订单导出文件的路径（CSV 或 XLSX），例如 var/orders/INC-20261129-001.csv")
OrdersQuery = optional(str, "订单查询（与订单文件二选一）",
                       "compensation.toml 中配置的订单库查询：" + "、".join(POLICIES.queries or ["（未配置）"]),
                       choices=POLICIES.queries)
OrdersFormatName = Annotated[Literal["auto", "generic", "taobao", "tmall", "jd"], ask(
    "订单格式", "auto：按列名自动识别；" + "；".join(f"{f.name}：{f.title}" for f in FORMATS.values()))]
DryRun = Annotated[bool, ask("只试算", "勾选时只计算金额和名单，不发放；取消勾选才写入赔付台账")]
NotifyCustomers = Annotated[bool, ask("通知客户", "发放后给每位客户发送补偿通知")]
Note = optional(str, "备注", "补偿原因或说明，记入审计日志，并显示在审批表单中")


@plain_parameters
@flow(name="compensate", flow_run_name="compensate-{incident_key}", log_prints=True,
      on_failure=[mark_run_interrupted], on_crashed=[mark_run_interrupted])
def compensate(
    incident_key: IncidentKey,
    requested_by: Requester,
    policy: PolicyName = "coupon-20",
    orders_path: OrdersPath = None,
    orders_query: OrdersQuery = None,
    orders_format: OrdersFormatName = "auto",
    dry_run: DryRun = True,
    notify_customers: NotifyCustomers = False,
    note: Note = None,
    now: Now = None,
) -> dict[str, object]:
    """Compensate the customers of an incident's affected orders, one run per incident at a time.

    0) hold the incident's slot `compensate-<KEY>` throughout: a second run for the incident waits
    (Running, saying which run holds the slot and until when) until this one ends, approval wait included;
    other incidents run in parallel; then mark the unfinished batches of runs that died `interrupted` with
    what they wrote (a run that fails or crashes marks its own); 1) load the orders (a CSV/XLSX file or a
    named query on the orders database) and validate every row: any bad row, or no rows, and nothing is
    applied; 2) plan items with the policy, skipping ineligible orders and what the ledger already holds;
    3) open the batch (audited); a batch above the policy's approval limit waits for another person's
    decision in the UI or `crisis approve|reject` (audited); 4) unless dry run or rejected, write the
    ledger in chunks; 5) publish the totals (the batch's and the incident's) and the CSV of items, queue
    customer notices if asked; 6) announce `crisis.compensation.completed`.
    """
    with one_run_per_incident(incident_key):
        at = resolve_now(now)
        settle_interrupted_batches(incident_key, current_run_id(), now)
        source = source_label(orders_path, orders_query)
        orders = load_orders_source(incident_key, orders_path, orders_query, orders_format, policy, at)
        plan = plan_batch(incident_key, orders, policy, at)
        batch = open_batch(incident_key, plan, policy, source, orders_format, dry_run, requested_by, note, at)
        decision = await_approval(approval_request(batch, plan, note), load_policies().approval_timeout_hours)
        batch = record_decision(batch, decision, now)
        written = write_ledger(batch, plan, now)
        summary = report_batch(batch, plan, written)
        if notify_customers:
            summary = queue_customer_notices(summary, plan, now)
        announce_compensation(summary)
    return asdict(summary)
