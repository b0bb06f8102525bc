"""Compensation policy (赔付规则) over a DataFrame of orders. Pure (pandas only).

Rounding: amounts are integer fen; a computed share of a fen rounds half up.
Eligibility: the order is neither cancelled nor refunded; one compensation per customer per
incident (the earliest eligible order), and an order already in the ledger is never paid again.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

INELIGIBLE_STATUSES = {"cancelled": "订单已取消", "refunded": "订单已退款"}


@dataclass(frozen=True)
class PolicyTerms:
    name: str
    kind: str
    amount_fen: int


@dataclass(frozen=True)
class Plan:
    items: pd.DataFrame  # order_id, customer_id, kind, amount_fen
    skipped: pd.DataFrame  # order_id, customer_id, reason

    @property
    def total_fen(self) -> int:
        return int(self.items["amount_fen"].sum()) if len(self.items) else 0


def plan_compensation(
    orders: pd.DataFrame, terms: PolicyTerms, paid_orders: set[str], paid_customers: set[str]
) -> Plan:
    """Return the items to pay and the orders skipped with a reason each."""
    frame = orders.sort_values(["paid_at", "order_id"]).copy()
    reason = pd.Series("", index=frame.index, dtype=object)
    for status, why in INELIGIBLE_STATUSES.items():
        reason[(reason == "") & (frame["status"] == status)] = why
    reason[(reason == "") & frame["order_id"].isin(paid_orders)] = "该订单已补偿"
    reason[(reason == "") & frame["customer_id"].isin(paid_customers)] = "该客户本事件已补偿"
    eligible = reason == ""
    first_per_customer = frame[eligible].drop_duplicates("customer_id", keep="first").index
    repeat = eligible & ~frame.index.isin(first_per_customer)
    reason[repeat] = "同一客户只补偿一次"
    chosen = frame[reason == ""]
    items = pd.DataFrame({
        "order_id": chosen["order_id"],
        "customer_id": chosen["customer_id"],
        "kind": terms.kind,
        "amount_fen": terms.amount_fen,
    }).reset_index(drop=True)
    skipped = pd.DataFrame({
        "order_id": frame.loc[reason != "", "order_id"],
        "customer_id": frame.loc[reason != "", "customer_id"],
        "reason": reason[reason != ""],
    }).reset_index(drop=True)
    return Plan(items=items, skipped=skipped)


def totals_by_reason(plan: Plan) -> dict[str, int]:
    """Return how many orders were skipped for each reason."""
    return {str(k): int(v) for k, v in plan.skipped["reason"].value_counts().items()}
