"""Prefect tasks that tell people about a batch: the summary table artifact and the CSV of its items,
optional customer notices (e-mail and SMS through the outbox, bulk-send exports; see notices.py), and the
`crisis.compensation.completed` event."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE

from config.files import load_roster
from config.settings import get_settings
from tasks import audit
from tasks.common import resolve_now
from tasks.compensation import repository
from tasks.compensation.artifacts import publish_table
from tasks.compensation.notices import Shop, letter_contexts, notice_rows, sms_params, write_exports
from tasks.compensation.policy import APPROVAL_NAMES, KIND_TITLES, Kind, Plan, totals_by_kind, totals_by_reason
from tasks.compensation.tasks import Batch, policy_terms
from tasks.db import session_scope
from tasks.errors import CrisisError
from tasks.events import COMPENSATION_COMPLETED, emit_incident_event
from tasks.incidents.repository import get_incident
from tasks.notify.chat import chat_recipient, sms_request
from tasks.notify.templates import line_renderer, mail_renderer
from tasks.outbox import Letter, queue_letters

WRITTEN_ELSEWHERE = "已由同时运行的另一批次补偿"
STATUS_NAMES = {"applied": "已发放", "dry_run": "试算（未发放）", "rejected": "已驳回"}


class NoticeChannelMissing(CrisisError):
    """settings [shop] sms_channel names no SMS channel in roster.toml."""


@dataclass(frozen=True)
class BatchSummary:
    incident_key: str
    batch_id: int
    policy: str
    dry_run: bool
    status: str  # applied | dry_run | rejected
    approval: str
    approver: str
    orders: int  # rows in the orders source
    planned: int
    applied: int  # orders written by this batch (a dry run: the orders it would write)
    customers: int
    amount_fen: int
    points: int
    skipped: dict[str, int]
    by_kind: dict[str, dict[str, int]]
    report_path: str | None = None
    notices: int = 0  # notice mails queued by this run
    sms_notices: int = 0  # notice SMS queued by this run
    no_mobile: int = 0  # compensated orders without a usable mobile number (listed in the missing export)
    notice_exports: dict[str, str] = field(default_factory=dict)  # sms | wangwang | missing -> CSV path
    incident_orders: int = 0  # the incident's ledger over all its batches (interrupted ones included)
    incident_amount_fen: int = 0
    incident_points: int = 0


def _applied_items(batch: Batch, plan: Plan, written: dict[str, int]) -> pd.DataFrame:
    """Return the items this batch stands for: the plan when all of it was written (or it is a dry run),
    else what the ledger holds for the batch (a concurrent run wrote some of the planned orders)."""
    if batch.status == "rejected":
        return plan.items.iloc[0:0]
    if batch.dry_run or written["orders"] == len(plan.items):
        return plan.items
    with session_scope() as session:
        return repository.batch_items(session, batch.incident_id, batch.batch_id)


def _write_csv(batch: Batch, items: pd.DataFrame) -> str:
    folder = get_settings().var_path / "compensation"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{batch.incident_key}-batch{batch.batch_id}{'-dry-run' if batch.dry_run else ''}.csv"
    fen = items["amount_fen"].astype("int64")
    report = pd.DataFrame({
        "order_id": items["order_id"], "customer_id": items["customer_id"], "kind": items["kind"],
        "amount_fen": fen,
        "amount_yuan": (fen // 100).astype(str) + "." + (fen % 100).astype(str).str.zfill(2),
        "points": items["points"],
    })
    report.to_csv(path, index=False, encoding="utf-8-sig")
    return str(path)


def _table(summary: BatchSummary) -> list[dict[str, object]]:
    """Return the batch's summary rows as operators read them: Chinese labels, counts as numbers."""
    label = "（试算：将补偿）" if summary.dry_run else ""
    approver = f"（{summary.approver}）" if summary.approver else ""
    rows: list[dict[str, object]] = [
        {"项目": "结果", "数值": STATUS_NAMES.get(summary.status, summary.status)},
        {"项目": "审批", "数值": APPROVAL_NAMES.get(summary.approval, summary.approval) + approver},
        {"项目": "读入订单", "数值": summary.orders},
        {"项目": "补偿客户" + label, "数值": summary.customers},
        {"项目": "补偿订单" + label, "数值": summary.applied},
    ]
    for kind, totals in summary.by_kind.items():
        title = KIND_TITLES.get(Kind(kind), kind)
        rows.append({"项目": f"{title}：订单", "数值": totals["orders"]})
        if kind == Kind.POINTS:
            rows.append({"项目": f"{title}：积分", "数值": totals["points"]})
        else:
            rows.append({"项目": f"{title}：元", "数值": f"{totals['amount_fen'] / 100:,.2f}"})
    rows += [{"项目": f"未补偿：{reason}", "数值": n} for reason, n in summary.skipped.items()]
    rows.append({"项目": "本事件累计（全部批次）", "数值": f"{summary.incident_orders} 单，"
                 f"{summary.incident_amount_fen / 100:,.2f} 元，{summary.incident_points} 积分"})
    return rows


@task(task_run_name="report-{batch.incident_key}", cache_policy=NO_CACHE)
def report_batch(batch: Batch, plan: Plan, written: dict[str, int]) -> BatchSummary:
    """Write the CSV of the batch's items under var/compensation/ and publish the summary table artifact
    (orders, customers, amount by kind, skipped with reasons). A re-run overwrites both."""
    items = _applied_items(batch, plan, written)
    skipped = totals_by_reason(plan)
    if batch.status == "approved" and written["orders"] < len(plan.items):
        skipped[WRITTEN_ELSEWHERE] = len(plan.items) - written["orders"]
    status = {"approved": "applied"}.get(batch.status, batch.status)
    with session_scope() as session:
        incident = repository.batch_totals(session, batch.incident_id, None)
    summary = BatchSummary(
        incident_key=batch.incident_key, batch_id=batch.batch_id, policy=batch.policy, dry_run=batch.dry_run,
        status=status, approval=batch.approval, approver=batch.approver, orders=batch.order_count,
        planned=len(plan.items), applied=len(items), customers=int(items["customer_id"].nunique()),
        amount_fen=int(items["amount_fen"].sum()), points=int(items["points"].sum()), skipped=skipped,
        by_kind=totals_by_kind(items), report_path=_write_csv(batch, items) if status != "rejected" else None,
        incident_orders=incident["orders"], incident_amount_fen=incident["amount_fen"],
        incident_points=incident["points"],
    )
    publish_table(f"compensation-{batch.incident_key.lower()}", _table(summary),
                  f"补偿批次 {batch.batch_id}（策略 {batch.policy}）：{STATUS_NAMES.get(status, status)}")
    get_run_logger().info("批次 %s %s：%d 单，%.2f 元，%d 积分；明细 %s", batch.batch_id, STATUS_NAMES.get(status, status),
                          summary.applied, summary.amount_fen / 100, summary.points, summary.report_path or "无")
    return summary


def _our_items(summary: BatchSummary, plan: Plan, incident_id: int) -> pd.DataFrame:
    """Return the planned items this batch wrote (a concurrent run may have written some of them)."""
    if summary.applied == len(plan.items):
        return plan.items
    with session_scope() as session:
        ours = repository.batch_items(session, incident_id, summary.batch_id)
    return plan.items[plan.items["order_id"].isin(ours["order_id"])]


def _letters(summary: BatchSummary, rows: pd.DataFrame, shop: Shop, title: str) -> list[Letter]:
    """Render each customer's notice, keyed (incident, policy, customer) so a customer is told once."""
    render = mail_renderer("compensation_notice", get_settings().config_dir / "templates")
    letters = []
    for context in letter_contexts(rows, shop, title):
        mail = render(context)
        letters.append(Letter(context["email"], f"compensation_notice:{summary.incident_key}:{summary.policy}:"
                              f"{context['customer']}", mail.subject, mail.text, mail.html))
    return letters


def _texts(summary: BatchSummary, rows: pd.DataFrame, shop: Shop) -> list[Letter]:
    """Return one SMS per order with a mobile number through settings [shop] sms_channel (none when unset),
    keyed (incident, order) so an order's customer is texted once whatever re-runs."""
    settings = get_settings().shop
    if not settings.sms_channel:
        return []
    channel = load_roster().channels.get(settings.sms_channel)
    if channel is None or channel.kind != "sms":
        raise NoticeChannelMissing(f"settings [shop] sms_channel = {settings.sms_channel!r}: roster.toml has no "
                                   "[channels] entry of kind sms by that name")
    return [Letter(chat_recipient("sms", settings.sms_channel, row.mobile),
                   f"compensation_sms:{summary.incident_key}:{row.order_id}", f"补偿短信 订单 {row.order_id}",
                   row.text, json.dumps(sms_request(row.mobile, channel.sign_name or shop.name, settings.sms_template,
                                                    sms_params(row, shop)), ensure_ascii=False))
            for row in rows[rows["mobile"] != ""].itertuples(index=False)]


@task(task_run_name="notices-{summary.incident_key}", cache_policy=NO_CACHE)
def queue_customer_notices(summary: BatchSummary, plan: Plan, now: datetime | None) -> BatchSummary:
    """Tell the batch's customers, in the shop's name: write the bulk-send exports under var/notices/
    (`<KEY>-batch<N>-sms.csv`, `-wangwang.csv`, and `-missing.csv` naming the orders neither reaches), queue one
    e-mail per customer with an address and, when settings [shop] names an SMS channel, one SMS per order with
    a mobile number in the outbox (the notify flow delivers them). Safe to re-run: the exports are rewritten and
    the outbox's dedup keys (incident, policy, customer; incident, order) skip what is already queued. Nothing
    for a dry run or a rejected batch."""
    if summary.status != "applied":
        return summary
    at, settings = resolve_now(now), get_settings()
    shop = Shop(settings.shop.name, settings.shop.service_contact)
    with session_scope() as session:
        incident_id = get_incident(session, summary.incident_key).id
    sms_text = line_renderer("compensation_notice.sms.j2", settings.config_dir / "templates")
    rows = notice_rows(_our_items(summary, plan, incident_id), shop, sms_text)
    exports = write_exports(rows, settings.var_path / "notices", f"{summary.incident_key}-batch{summary.batch_id}")
    letters, texts = _letters(summary, rows, shop, policy_terms(summary.policy).title), _texts(summary, rows, shop)
    with session_scope() as session:
        added = queue_letters(session, incident_id=incident_id, kind="compensation_notice", letters=letters, now=at)
        texted = queue_letters(session, incident_id=incident_id, kind="compensation_notice", letters=texts, now=at)
        if added or texted:
            audit.record(session, actor=audit.flow_actor(), action="notification.queued",
                         entity_type="incident", entity_id=summary.incident_key, at=at,
                         after={"kind": "compensation_notice", "batch": summary.batch_id, "customers": added,
                                "sms": texted})
    unreachable = int((rows["mobile"] == "").sum())
    get_run_logger().info("通知邮件 %d 封、短信 %d 条加入发件箱（此前已在发件箱中：%d 封、%d 条）；%d 单没有手机号；"
                          "导出文件 %s", added, texted, len(letters) - added, len(texts) - texted, unreachable,
                          "、".join(exports.values()))
    return replace(summary, notices=added, sms_notices=texted, no_mobile=unreachable, notice_exports=exports)


@task(task_run_name="announce-{summary.incident_key}")
def announce_compensation(summary: BatchSummary) -> None:
    """Emit crisis.compensation.completed for an applied batch (nothing for a dry run or a rejection).
    A re-run emits it again; the after-action flow it triggers is itself safe to re-run."""
    if summary.status != "applied":
        return
    emit_incident_event(COMPENSATION_COMPLETED, summary.incident_key,
                        payload={"batch": summary.batch_id, "orders": summary.applied,
                                 "customers": summary.customers, "amount_fen": summary.amount_fen,
                                 "points": summary.points, "policy": summary.policy})
