"""Prefect tasks of compensation (提供补偿): load and validate orders, plan, open the batch, record the
approval decision, write the ledger in chunks. Reporting, notices and the event are in report.py."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE

from config.files import Policy, load_policies
from config.settings import get_settings
from tasks import audit
from tasks.common import local_zone, resolve_now
from tasks.compensation import repository
from tasks.compensation.approval import BatchForApproval, Decision
from tasks.compensation.artifacts import Progress
from tasks.compensation.policy import (
    ITEM_COLUMNS,
    Plan,
    PolicyTerms,
    Window,
    eligibility_window,
    needs_approval,
    plan_compensation,
)
from tasks.compensation.sources import read_orders, source_label
from tasks.db import is_postgresql, is_transient_db_error, retry_transient_db, session_scope
from tasks.errors import InvalidTransition, NotFound
from tasks.incidents.repository import get_incident
from tasks.incidents.service import transition
from tasks.incidents.state import IncidentState

CHUNK_ATTEMPTS = 5
WRITERS = 2  # chunks written at once on PostgreSQL


@dataclass(frozen=True)
class Batch:
    incident_key: str
    incident_id: int
    batch_id: int
    policy: str
    dry_run: bool
    requested_by: str
    order_count: int
    status: str  # dry_run | pending_approval | approved | rejected
    approval: str = "not_required"  # not_required | pending | approved | rejected; a dry run: required
    approver: str = ""


def _policy(name: str) -> Policy:
    policies = load_policies().policies
    if name not in policies:
        raise NotFound(f"未找到补偿方案 {name}（已配置：{'、'.join(sorted(policies))}）")
    return policies[name]


def policy_terms(name: str) -> PolicyTerms:
    """Return the named policy from config/compensation.toml or raise NotFound listing the known ones."""
    p = _policy(name)
    return PolicyTerms(
        name=name, kind=p.kind, amount_fen=p.amount_fen or 0, percent_bp=int((p.percent or 0) * 100),
        cap_fen=p.cap_fen, points=p.points or 0, one_per_customer=p.one_per_customer,
        window_before_days=p.window_before_days, window_end=p.window_end, products=tuple(p.products),
        skus=tuple(p.skus), approval_limit_fen=p.approval_limit_fen,
        approval_limit_points=p.approval_limit_points, title=p.title, partly_refunded=p.partly_refunded,
    )


def _window(incident_key: str, terms: PolicyTerms, now: datetime) -> tuple[int, Window]:
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        if incident.state == IncidentState.OPEN:
            raise InvalidTransition(f"{incident_key}：请先确认接手事件（crisis ack），再发放补偿")
        return incident.id, eligibility_window(terms, incident.started_at, incident.detected_at, now)


@task(task_run_name="load-orders-{incident_key}", cache_policy=NO_CACHE)
def load_orders_source(incident_key: str, orders_path: str | None, orders_query: str | None,
                       orders_format: str, policy: str, now: datetime) -> pd.DataFrame:
    """Read and validate the orders (no side effect): a bad row raises OrdersFileInvalid naming every one."""
    terms = policy_terms(policy)
    _, window = _window(incident_key, terms, now)
    orders = read_orders(orders_path, orders_query, orders_format, incident_key=incident_key, window=window,
                         timezone=local_zone(), status_words=load_policies().statuses,
                         one_per_customer=terms.one_per_customer)
    get_run_logger().info("%s：有效订单 %d 单", source_label(orders_path, orders_query), len(orders))
    return orders


@task(task_run_name="plan-{incident_key}", cache_policy=NO_CACHE)
def plan_batch(incident_key: str, orders: pd.DataFrame, policy: str, now: datetime) -> Plan:
    """Compute the items to write and the skips, against what the ledger already holds (no side effect)."""
    terms = policy_terms(policy)
    incident_id, window = _window(incident_key, terms, now)
    with session_scope() as session:
        paid_orders, paid_customers = repository.ledger_holdings(session, incident_id)
    plan = plan_compensation(orders, terms, paid_orders, paid_customers, window)
    get_run_logger().info("%s：计划赔付 %d 单（%.2f 元，%d 积分），跳过 %d 单", incident_key,
                          len(plan.items), plan.total_fen / 100, plan.total_points, len(plan.skipped))
    return plan


@task(task_run_name="open-batch-{incident_key}", cache_policy=NO_CACHE)
def open_batch(incident_key: str, plan: Plan, policy: str, orders_source: str, orders_format: str,
               dry_run: bool, requested_by: str, note: str | None, now: datetime) -> Batch:
    """Record a new batch with its plan and audit `compensation.batch_started`. A re-run opens another.

    A drill's incident is only ever compensated as a dry run: nothing is paid, and since only an applied
    batch queues customer notices, no customer hears of a drill."""
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        if incident.is_drill and not dry_run:
            get_run_logger().warning("%s 是演练事件：赔付只做试算，不发放", incident_key)
            dry_run = True
        over_limit = needs_approval(plan, policy_terms(policy))
        waits = over_limit and not dry_run
        status = "dry_run" if dry_run else ("pending_approval" if waits else "approved")
        approval = "pending" if waits else ("required" if over_limit else "not_required")
        batch = repository.new_batch(
            session, incident_id=incident.id, policy=policy, orders_source=orders_source,
            orders_format=orders_format, dry_run=dry_run, status=status,
            order_count=len(plan.items) + len(plan.skipped), planned_count=len(plan.items),
            planned_fen=plan.total_fen, planned_points=plan.total_points,
            skipped_count=len(plan.skipped), approval=approval,
            flow_run_id=current_run_id(), requested_by=requested_by, note=note, created_at=now,
        )
        audit.record(session, actor=requested_by, action="compensation.batch_started", entity_type="incident",
                     entity_id=incident_key, at=now,
                     after={"batch": batch.id, "policy": policy, "source": orders_source, "dry_run": dry_run,
                            "planned_orders": len(plan.items), "planned_fen": plan.total_fen,
                            "planned_points": plan.total_points, "needs_approval": over_limit,
                            "note": note or ""})
        return Batch(incident_key, incident.id, batch.id, policy, dry_run, requested_by,
                     len(plan.items) + len(plan.skipped), status, approval)


def current_run_id() -> str | None:
    """Return the id of the flow run this code runs in (None outside a run)."""
    from prefect.runtime import flow_run

    return str(flow_run.id) if flow_run.id else None


def approval_request(batch: Batch, plan: Plan, note: str | None) -> BatchForApproval | None:
    """Return what the approver is shown, or None when the batch needs no approval."""
    if batch.approval != "pending":
        return None
    terms = policy_terms(batch.policy)
    limits = [f"{terms.approval_limit_fen / 100:,.2f} 元" if terms.approval_limit_fen is not None else "",
              f"{terms.approval_limit_points:,} 积分" if terms.approval_limit_points is not None else ""]
    return BatchForApproval(
        incident_key=batch.incident_key, batch_id=batch.batch_id, policy=batch.policy,
        policy_title=terms.title, orders=len(plan.items), customers=int(plan.items["customer_id"].nunique()),
        amount_fen=plan.total_fen, points=plan.total_points, limit=" / ".join(x for x in limits if x),
        requested_by=batch.requested_by, note=note or "", four_eyes=_policy(batch.policy).four_eyes)


@task(task_run_name="decide-batch-{batch.batch_id}")
def record_decision(batch: Batch, decision: Decision, now: datetime | None) -> Batch:
    """Record the approver's decision on the batch and audit it (approved or rejected); nothing to record
    when no approval was needed. A rejected batch is closed: nothing of it is ever applied."""
    if not decision.required:
        return batch
    at = resolve_now(now)
    approved = "approved" if decision.approved else "rejected"
    with session_scope() as session:
        repository.update_batch(
            session, batch.batch_id, approval=approved, approved_by=decision.approver,
            decision_note=decision.note, decided_at=at, status=approved,
            **({} if decision.approved else {"completed_at": at}))
        audit.record(session, actor=decision.approver, action=f"compensation.batch_{approved}",
                     entity_type="incident", entity_id=batch.incident_key, at=at,
                     after={"batch": batch.batch_id, "decision": approved, "note": decision.note,
                            "requested_by": batch.requested_by})
    get_run_logger().info("批次 %s 已由 %s %s", batch.batch_id, decision.approver, "批准" if decision.approved else "驳回")
    return replace(batch, status=approved, approval=approved, approver=decision.approver)


@task(task_run_name="ledger-{batch.incident_key}", retries=2, retry_delay_seconds=[2, 8],
      retry_condition_fn=retry_transient_db, cache_policy=NO_CACHE)
def write_ledger(batch: Batch, plan: Plan, now: datetime | None) -> dict[str, int]:
    """Write the batch's items to the ledger in chunks, each its own transaction, and record the totals.

    Nothing is written for a dry run or a rejected batch. Safe to re-run, to run twice at once and to
    start again after a kill: an order or customer slot already in the ledger is skipped by the database's
    unique keys, so nobody is paid twice; every chunk committed before a failure stays.
    """
    if batch.status != "approved":
        return {"orders": 0, "customers": 0, "amount_fen": 0, "points": 0}
    now = resolve_now(now)
    _enter(batch, IncidentState.RESPONDING, now, IncidentState.ACKNOWLEDGED)
    with session_scope() as session:
        repository.update_batch(session, batch.batch_id, status="running")
    progress = Progress(f"compensation-progress-{batch.incident_key.lower()}",
                        f"补偿批次 {batch.batch_id} 写入台账", len(plan.items))
    added = _write_chunks(batch, plan.items, now, progress)
    with session_scope() as session:
        totals = (_totals(plan.items) if added == len(plan.items)  # every planned row went in: no need to ask
                  else repository.batch_totals(session, batch.incident_id, batch.batch_id))
        repository.update_batch(session, batch.batch_id, status="applied", applied_count=totals["orders"],
                                customer_count=totals["customers"], amount_fen=totals["amount_fen"],
                                points=totals["points"], completed_at=now)
        audit.record(session, actor=batch.requested_by, action="compensation.batch_completed",
                     entity_type="incident", entity_id=batch.incident_key, at=now,
                     after={"batch": batch.batch_id, "policy": batch.policy,
                            "applied_orders": totals["orders"], **totals})
    _enter(batch, IncidentState.MONITORING, now, IncidentState.RESPONDING)
    return totals


def _write_chunks(batch: Batch, items: pd.DataFrame, now: datetime, progress: Progress) -> int:
    """Insert the items chunk by chunk, each chunk its own transaction; return how many rows were added.

    PostgreSQL takes WRITERS chunks at once on as many connections (its backends insert in parallel; the
    chunks hold different keys, so they never wait on each other); SQLite has one writer. Once a chunk
    fails for good, no other chunk starts (one being written on another connection finishes)."""
    size = get_settings().compensation.chunk_size
    rows = items[ITEM_COLUMNS]  # the notice columns never go to the ledger: not copied chunk by chunk
    by_order = rows["order_id"].argsort(kind="stable").to_numpy()
    added = 0
    with ThreadPoolExecutor(max_workers=WRITERS if is_postgresql() else 1) as pool:
        sizes = {pool.submit(_with_retries, partial(_insert_chunk, batch, _chunk(rows, by_order[start : start + size]),
                                                    now)):
                 min(size, len(rows) - start) for start in range(0, len(rows), size)}
        try:
            for done in as_completed(sizes):
                added += done.result()
                progress.advance(sizes[done])
        finally:
            pool.shutdown(cancel_futures=True)
    return added


def _chunk(rows: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """Return the rows at `positions` (consecutive order numbers) ordered by customer slot.

    Each chunk holds a run of neighbouring order numbers, so its order keys all land on the same few B-tree
    pages in whatever order; sorted by slot, its slot keys (random against order numbers under a
    one-per-customer policy) go through their index in one sweep instead of to random pages: a fifth less
    time for SQLite's insert at a million rows."""
    slots = rows["customer_slot"].take(positions)
    return rows.take(positions[slots.argsort(kind="stable").to_numpy()])


def _totals(items: pd.DataFrame) -> dict[str, int]:
    return {"orders": len(items), "customers": int(items["customer_id"].nunique()),
            "amount_fen": int(items["amount_fen"].sum()), "points": int(items["points"].sum())}


def _insert_chunk(batch: Batch, chunk: pd.DataFrame, now: datetime) -> int:
    with session_scope() as session:
        return repository.insert_items(session, chunk, batch.incident_id, batch.batch_id, now)


def _with_retries(work: Callable[[], int]) -> int:
    """Run one chunk's transaction, again after a transient error (locked database, deadlock, dropped
    connection) with exponential backoff and jitter; anything else fails at once."""
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            return work()
        except Exception as exc:
            if attempt == CHUNK_ATTEMPTS or not is_transient_ledger_error(exc):
                raise
            time.sleep(0.2 * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


def is_transient_ledger_error(exc: BaseException) -> bool:
    """Tell whether a ledger write may succeed if tried again (adds PostgreSQL deadlocks and
    serialization failures to the shared transient errors)."""
    code = getattr(getattr(exc, "orig", None), "pgcode", None)
    return is_transient_db_error(exc) or code in ("40P01", "40001")


def _enter(batch: Batch, target: IncidentState, now: datetime, only_from: IncidentState) -> None:
    with session_scope() as session:
        incident = get_incident(session, batch.incident_key)
        if incident.state == only_from:
            transition(session, incident, target, actor=batch.requested_by, at=now)
