"""Compensation runbook (提供补偿), started by a responder."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from prefect import flow

from tasks.common import resolve_now
from tasks.compensation.tasks import announce_compensation, plan_batch, report_batch, validate_orders, write_ledger


@flow(name="compensate", log_prints=True)
def compensate(
    incident_key: str,
    orders_path: str,
    policy: str = "coupon-20",
    dry_run: bool = True,
    note: str | None = None,
    requested_by: str = "prefect-ui",
    now: datetime | None = None,
) -> dict[str, object]:
    """Compensate the customers of an incident's orders.

    1) validate the orders file (any bad row: nothing applied); 2) plan items with the policy,
    skipping what the ledger already holds; 3) write the ledger unless dry run; 4) publish the
    totals and the CSV of items; 5) announce `crisis.compensation.completed`.
    """
    at = resolve_now(now)
    orders = validate_orders(orders_path)
    plan = plan_batch(incident_key, orders, policy)
    summary = write_ledger(incident_key, plan, policy, orders_path, dry_run, requested_by, note, at)
    summary = report_batch(summary, plan)
    announce_compensation(summary)
    return asdict(summary)
