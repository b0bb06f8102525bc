"""Compensation runbook (提供补偿), started by a responder from the Prefect UI or `crisis compensate`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Literal

from prefect import flow

from config.files import load_policies
from tasks.common import resolve_now
from tasks.compensation.approval import await_approval
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


@flow(name="compensate", log_prints=True, on_failure=[mark_run_interrupted], on_crashed=[mark_run_interrupted])
def compensate(
    incident_key: str,
    orders_path: str | None = None,
    orders_query: str | None = None,
    policy: str = "coupon-20",
    dry_run: bool = True,
    note: str | None = None,
    orders_format: Literal["auto", "generic", "taobao", "tmall", "jd"] = "auto",
    notify_customers: bool = False,
    requested_by: str = "prefect-ui",
    now: datetime | None = None,
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
