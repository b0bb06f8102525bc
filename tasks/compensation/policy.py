"""Compensation policy (赔付规则) over a DataFrame of orders. Pure (pandas only).

Kinds: full_refund (the amount paid), partial_refund (a percentage of it, optionally capped),
fixed_coupon, percent_coupon (a percentage of the amount paid, capped), points.

Rounding: money is integer fen. A percentage is held in basis points (1 % = 100 bp, so at most two
decimals) and a share is computed in integers, `(amount_fen × bp + 5000) // 10000`: half a fen or
more rounds up, less rounds down; the cap applies after rounding.

A partly refunded order (refund_fen below the amount paid) is compensated on what remains after the
refund, or skipped when the policy says `partly_refunded = "exclude"`.

Eligibility, checked in this order, each skip with its reason: the order is unpaid, cancelled or
refunded (or partly refunded, when excluded); it was paid outside the incident window (from `window_before_days` before the incident
started to its detection, or to the run's `now`); it is not an affected product or SKU (when the
policy lists any); it would pay nothing; it is already in the ledger; its customer is already in the
ledger for the incident (one-per-customer policies); it is not the customer's earliest eligible order
(one-per-customer policies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
import pandas as pd


class Kind(StrEnum):
    FULL_REFUND = "full_refund"
    PARTIAL_REFUND = "partial_refund"
    FIXED_COUPON = "fixed_coupon"
    PERCENT_COUPON = "percent_coupon"
    POINTS = "points"


KIND_TITLES = {Kind.FULL_REFUND: "全额退款", Kind.PARTIAL_REFUND: "部分退款",
               Kind.FIXED_COUPON: "固定金额优惠券", Kind.PERCENT_COUPON: "按比例优惠券", Kind.POINTS: "积分"}
APPROVAL_NAMES = {"not_required": "无需审批", "required": "需要审批", "pending": "等待审批", "approved": "已批准",
                  "rejected": "已驳回"}  # a batch's approval (a dry run above the limit: required)
INELIGIBLE_STATUSES = {"unpaid": "订单未付款", "cancelled": "订单已取消", "refunded": "订单已退款"}
ITEM_COLUMNS = ["order_id", "customer_id", "customer_slot", "kind", "amount_fen", "points"]
NOTICE_COLUMNS = ["email", "phone", "product"]  # carried along for the customer notices, never in the ledger


@dataclass(frozen=True)
class PolicyTerms:
    name: str
    kind: str
    amount_fen: int = 0  # fixed_coupon
    percent_bp: int = 0  # partial_refund, percent_coupon: basis points of the amount paid
    cap_fen: int | None = None  # percent_coupon (required), partial_refund (optional)
    points: int = 0  # points
    one_per_customer: bool = True
    window_before_days: int = 30
    window_end: str = "detected_at"  # or "now"
    products: tuple[str, ...] = ()  # affected products (part of the product title); empty = every product
    skus: tuple[str, ...] = ()  # affected SKUs (exact); empty = every SKU
    approval_limit_fen: int | None = None  # a batch paying more waits for approval; None = never
    approval_limit_points: int | None = None
    title: str = ""
    partly_refunded: str = "remainder"  # or "exclude": an order partly refunded is skipped


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Plan:
    items: pd.DataFrame  # ITEM_COLUMNS (+ NOTICE_COLUMNS): what to write to the ledger
    skipped: pd.DataFrame  # order_id, customer_id, reason

    @property
    def total_fen(self) -> int:
        return int(self.items["amount_fen"].sum()) if len(self.items) else 0

    @property
    def total_points(self) -> int:
        return int(self.items["points"].sum()) if len(self.items) else 0


def eligibility_window(terms: PolicyTerms, started_at: datetime, detected_at: datetime,
                       now: datetime) -> Window:
    """Return the payment times an order must fall in: [started - window_before_days, detected or now]."""
    end = now if terms.window_end == "now" else detected_at
    return Window(start=started_at - timedelta(days=terms.window_before_days), end=end)


def share(amount_fen: np.ndarray, percent_bp: int) -> np.ndarray:
    """Return `percent_bp` basis points of each amount in fen, rounded half up at the fen."""
    return (amount_fen.astype(np.int64) * percent_bp + 5000) // 10000


def compensation_amounts(amount_fen: np.ndarray, terms: PolicyTerms) -> tuple[np.ndarray, np.ndarray]:
    """Return (money in fen, points) the policy gives for each order's amount paid."""
    zeros = np.zeros(len(amount_fen), dtype=np.int64)
    kind = Kind(terms.kind)
    if kind is Kind.POINTS:
        return zeros, zeros + terms.points
    if kind is Kind.FULL_REFUND:
        money = amount_fen.astype(np.int64)
    elif kind is Kind.FIXED_COUPON:
        money = zeros + terms.amount_fen
    else:
        money = share(amount_fen, terms.percent_bp)
    if terms.cap_fen is not None:
        money = np.minimum(money, terms.cap_fen)
    return money, zeros


def customer_slots(orders: pd.DataFrame, one_per_customer: bool) -> pd.Series:
    """Return each order's slot in the ledger: `c:<customer>` when one per customer, else `o:<order>`."""
    return ("c:" + orders["customer_id"]) if one_per_customer else ("o:" + orders["order_id"])


def _affected(orders: pd.DataFrame, products: Sequence[str], skus: Sequence[str]) -> np.ndarray:
    if not products and not skus:
        return np.ones(len(orders), dtype=bool)
    hit = np.array(orders["sku"].isin(list(skus)), dtype=bool)
    for product in products:
        hit |= orders["product"].str.contains(product, regex=False).to_numpy(dtype=bool)
    return hit


REPEAT_CUSTOMER = "同一客户只补偿一次"
PARTLY_REFUNDED = "订单已部分退款"


def _reasons(orders: pd.DataFrame, terms: PolicyTerms, money: np.ndarray, points: np.ndarray,
             paid_orders: set[str], paid_customers: set[str],
             window: Window | None) -> tuple[np.ndarray, list[str]]:
    """Return each order's first reason to skip it as a code (0 = eligible) and the reasons by code - 1."""
    status = orders["status"]
    rules: list[tuple[str, object]] = [(why, status == s) for s, why in INELIGIBLE_STATUSES.items()]
    if terms.partly_refunded == "exclude" and "refund_fen" in orders:
        rules.append((PARTLY_REFUNDED, orders["refund_fen"] > 0))
    if window is not None:
        paid_at = orders["paid_at"]
        rules += [("付款时间早于事件影响窗口", paid_at < pd.Timestamp(window.start)),
                  ("付款时间晚于事件影响窗口", paid_at > pd.Timestamp(window.end))]
    rules += [("非受影响商品", ~_affected(orders, terms.products, terms.skus)),
              ("补偿金额为零", (money == 0) & (points == 0))]
    if paid_orders:
        rules.append(("该订单已补偿", orders["order_id"].isin(paid_orders)))
    if paid_customers and terms.one_per_customer:
        rules.append(("该客户本事件已补偿", orders["customer_id"].isin(paid_customers)))
    codes = np.select([np.asarray(mask, dtype=bool) for _, mask in rules], list(range(1, len(rules) + 1)), 0)
    return codes.astype(np.int16), [why for why, _ in rules] + [REPEAT_CUSTOMER]


def plan_compensation(orders: pd.DataFrame, terms: PolicyTerms, paid_orders: set[str],
                      paid_customers: set[str], window: Window | None = None) -> Plan:
    """Return the items to write (earliest payment first) and the orders skipped with a reason each."""
    paid = orders["amount_fen"].to_numpy()
    if "refund_fen" in orders:  # what the customer is still out of pocket after a partial refund
        paid = np.maximum(paid - orders["refund_fen"].to_numpy(), 0)
    money, points = compensation_amounts(paid, terms)
    codes, reasons = _reasons(orders, terms, money, points, paid_orders, paid_customers, window)
    eligible = np.flatnonzero(codes == 0)
    paid_at = orders["paid_at"].to_numpy(dtype="datetime64[us]")  # UTC, without per-row Timestamp objects
    by_time = eligible[np.argsort(paid_at[eligible], kind="stable")]
    if terms.one_per_customer:
        repeat = orders["customer_id"].take(by_time).duplicated().to_numpy()
        codes[by_time[repeat]] = len(reasons)
        by_time = by_time[~repeat]
    # A notice column the file lacks (all blank) is filled in below rather than copied row by row.
    keep = ["order_id", "customer_id"] + [c for c in NOTICE_COLUMNS if c in orders and (orders[c] != "").any()]
    items = orders[keep].take(by_time).reset_index(drop=True)
    items.insert(2, "customer_slot", customer_slots(items, terms.one_per_customer))
    items.insert(3, "kind", str(terms.kind))
    items.insert(4, "amount_fen", money[by_time])
    items.insert(5, "points", points[by_time])
    for column in NOTICE_COLUMNS:
        if column not in items:
            items[column] = ""
    items = items[ITEM_COLUMNS + NOTICE_COLUMNS]
    rest = np.flatnonzero(codes != 0)
    skipped = orders[["order_id", "customer_id"]].take(rest).reset_index(drop=True)
    skipped["reason"] = np.array(reasons, dtype=object)[codes[rest] - 1]
    return Plan(items=items, skipped=skipped)


def needs_approval(plan: Plan, terms: PolicyTerms) -> bool:
    """Tell whether the batch exceeds the policy's approval limit (money or points)."""
    over_money = terms.approval_limit_fen is not None and plan.total_fen > terms.approval_limit_fen
    over_points = terms.approval_limit_points is not None and plan.total_points > terms.approval_limit_points
    return over_money or over_points


def totals_by_reason(plan: Plan) -> dict[str, int]:
    """Return how many orders were skipped for each reason."""
    return {str(k): int(v) for k, v in plan.skipped["reason"].value_counts().items()}


def totals_by_kind(items: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Return, per kind, how many orders, customers, fen and points the items hold."""
    totals: dict[str, dict[str, int]] = {}
    for kind, group in items.groupby("kind", sort=True):
        totals[str(kind)] = {"orders": len(group), "customers": int(group["customer_id"].nunique()),
                             "amount_fen": int(group["amount_fen"].sum()),
                             "points": int(group["points"].sum())}
    return totals
