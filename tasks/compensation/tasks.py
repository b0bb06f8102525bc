"""Prefect tasks of compensation (提供补偿): validate orders, plan, write the ledger, report."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from config.files import load_policies
from config.settings import get_settings
from tasks import audit
from tasks.common import local_zone, retry_transient_db
from tasks.compensation import repository
from tasks.compensation.orders import load_orders
from tasks.compensation.policy import Plan, PolicyTerms, plan_compensation, totals_by_reason
from tasks.db import session_scope
from tasks.errors import InvalidTransition, NotFound
from tasks.events import COMPENSATION_COMPLETED, emit_incident_event
from tasks.incidents import transition
from tasks.triage.lifecycle import IncidentState
from tasks.triage.repository import get_incident


@dataclass(frozen=True)
class BatchSummary:
    incident_key: str
    batch_id: int
    policy: str
    dry_run: bool
    orders: int
    applied: int
    amount_fen: int
    skipped: dict[str, int]
    report_path: str | None = None


def policy_terms(name: str) -> PolicyTerms:
    """Return the named policy from config/compensation.toml or raise NotFound listing the known ones."""
    policies = load_policies().policies
    if name not in policies:
        raise NotFound(f"no compensation policy {name!r}; known: {', '.join(sorted(policies))}")
    policy = policies[name]
    return PolicyTerms(name=name, kind=policy.kind, amount_fen=policy.amount_fen)


@task(task_run_name="validate-orders")
def validate_orders(orders_path: str) -> pd.DataFrame:
    """Load the orders file, naming every bad row (OrdersFileInvalid: nothing is applied)."""
    orders = load_orders(Path(orders_path), local_zone())
    get_run_logger().info("%s: %d valid orders", orders_path, len(orders))
    return orders


@task(task_run_name="plan-{incident_key}")
def plan_batch(incident_key: str, orders: pd.DataFrame, policy: str) -> Plan:
    """Compute items and skips against what the ledger already holds (no side effect)."""
    terms = policy_terms(policy)
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        if incident.state == IncidentState.OPEN.value:
            raise InvalidTransition(f"{incident_key}: acknowledge the incident before compensating")
        paid_orders, paid_customers = repository.paid_orders_and_customers(session, incident.id)
    return plan_compensation(orders, terms, paid_orders, paid_customers)


@task(task_run_name="ledger-{incident_key}", retries=2, retry_delay_seconds=[2, 8],
      retry_condition_fn=retry_transient_db)
def write_ledger(incident_key: str, plan: Plan, policy: str, orders_source: str, dry_run: bool,
                 requested_by: str, note: str | None, now: datetime) -> BatchSummary:
    """Record the batch and, unless dry run, its items in chunked transactions.

    Safe to re-run or to run twice at once: an order already in the ledger is skipped by the
    database's unique (incident, order) key, so nobody is paid twice.
    """
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        batch = repository.new_batch(
            session, incident_id=incident.id, policy=policy, orders_source=orders_source, dry_run=dry_run,
            status="running", order_count=len(plan.items) + len(plan.skipped), requested_by=requested_by,
            note=note, created_at=now,
        )
        audit.record(session, actor=requested_by, action="compensation.batch_started", entity_type="incident",
                     entity_id=incident_key, at=now,
                     after={"batch": batch.id, "policy": policy, "dry_run": dry_run, "planned_fen": plan.total_fen,
                            "planned_orders": len(plan.items), "note": note or ""})
        if not dry_run and incident.state == IncidentState.ACKNOWLEDGED.value:
            transition(session, incident, IncidentState.RESPONDING, actor=requested_by, at=now)
        incident_id, batch_id = incident.id, batch.id
    applied = 0 if dry_run else _insert_chunks(plan, incident_id, batch_id, now)
    return _finish(incident_key, batch_id, plan, policy, dry_run, requested_by, now, applied)


def _insert_chunks(plan: Plan, incident_id: int, batch_id: int, now: datetime) -> int:
    chunk = get_settings().compensation.chunk_size
    records = plan.items.assign(incident_id=incident_id, batch_id=batch_id, status="applied", created_at=now)
    rows = records.to_dict("records")
    applied = 0
    for start in range(0, len(rows), chunk):
        with session_scope() as session:
            applied += repository.insert_items(session, rows[start : start + chunk])
    return applied


def _finish(incident_key: str, batch_id: int, plan: Plan, policy: str, dry_run: bool, actor: str,
            now: datetime, applied: int) -> BatchSummary:
    with session_scope() as session:
        count, amount = repository.batch_totals(session, batch_id) if not dry_run else (0, plan.total_fen)
        repository.complete_batch(session, batch_id, "dry_run" if dry_run else "applied", now,
                                  applied_count=count, amount_fen=amount, skipped_count=len(plan.skipped))
        incident = get_incident(session, incident_key)
        audit.record(session, actor=actor, action="compensation.batch_completed", entity_type="incident",
                     entity_id=incident_key, at=now,
                     after={"batch": batch_id, "dry_run": dry_run, "applied_orders": count, "amount_fen": amount})
        if not dry_run and incident.state == IncidentState.RESPONDING.value:
            transition(session, incident, IncidentState.MONITORING, actor=actor, at=now)
    return BatchSummary(incident_key, batch_id, policy, dry_run, len(plan.items) + len(plan.skipped),
                        count if not dry_run else len(plan.items), amount, totals_by_reason(plan))


@task
def report_batch(summary: BatchSummary, plan: Plan) -> BatchSummary:
    """Publish the batch's summary table artifact and write the CSV of its items under var/compensation/."""
    folder = get_settings().var_path / "compensation"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{summary.incident_key}-batch{summary.batch_id}{'-dry-run' if summary.dry_run else ''}.csv"
    plan.items.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL, encoding="utf-8-sig")
    rows = [
        {"item": "orders in file", "value": summary.orders},
        {"item": "customers compensated", "value": int(plan.items["customer_id"].nunique()) if len(plan.items) else 0},
        {"item": "orders compensated" + (" (dry run)" if summary.dry_run else ""), "value": summary.applied},
        {"item": f"amount ({plan.items['kind'].iloc[0] if len(plan.items) else 'none'}), 元",
         "value": f"{summary.amount_fen / 100:,.2f}"},
        *({"item": f"skipped: {reason}", "value": n} for reason, n in summary.skipped.items()),
    ]
    key = f"compensation-{summary.incident_key.lower()}"
    create_table_artifact(key=key, table=rows, description=f"补偿批次 {summary.batch_id}（{summary.policy}）")
    return BatchSummary(**{**summary.__dict__, "report_path": str(path)})


@task
def announce_compensation(summary: BatchSummary) -> None:
    """Emit crisis.compensation.completed for an applied batch (nothing for a dry run)."""
    if summary.dry_run:
        return
    emit_incident_event(COMPENSATION_COMPLETED, summary.incident_key,
                        payload={"batch": summary.batch_id, "orders": summary.applied,
                                 "amount_fen": summary.amount_fen, "policy": summary.policy})
