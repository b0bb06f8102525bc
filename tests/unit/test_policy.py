"""Compensation eligibility and amounts (tasks/compensation/policy.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from tasks.compensation.policy import Plan, PolicyTerms, plan_compensation, totals_by_reason

TERMS = PolicyTerms(name="coupon-20", kind="fixed_coupon", amount_fen=2000)
T0 = datetime(2025, 11, 20, 2, 0, tzinfo=UTC)


def orders(*rows: tuple[str, str, str, int]) -> pd.DataFrame:
    """Rows of (order_id, customer_id, status, minutes after T0)."""
    return pd.DataFrame(
        [{"order_id": o, "customer_id": c, "product": "澄星空气炸锅", "sku": "SKU-1", "amount_fen": 29900,
          "paid_at": T0 + timedelta(minutes=m), "status": s} for o, c, s, m in rows]
    )


def skipped(plan: Plan) -> dict[str, str]:
    return dict(zip(plan.skipped["order_id"], plan.skipped["reason"], strict=True))


def test_cancelled_and_refunded_orders_are_skipped_with_reasons() -> None:
    plan = plan_compensation(orders(("A1", "C1", "cancelled", 0), ("A2", "C2", "refunded", 1),
                                    ("A3", "C3", "shipped", 2)), TERMS, set(), set())
    assert list(plan.items["order_id"]) == ["A3"]
    assert skipped(plan) == {"A1": "订单已取消", "A2": "订单已退款"}


def test_one_compensation_per_customer_for_the_earliest_order() -> None:
    plan = plan_compensation(orders(("A9", "C1", "paid", 30), ("A5", "C1", "completed", 10),
                                    ("A7", "C1", "paid", 20)), TERMS, set(), set())
    assert list(plan.items["order_id"]) == ["A5"]
    assert skipped(plan) == {"A7": "同一客户只补偿一次", "A9": "同一客户只补偿一次"}


def test_a_cancelled_earliest_order_does_not_use_up_the_customer() -> None:
    rows = orders(("A1", "C1", "cancelled", 0), ("A2", "C1", "paid", 5))
    plan = plan_compensation(rows, TERMS, set(), set())
    assert list(plan.items["order_id"]) == ["A2"]


def test_orders_and_customers_already_paid_are_skipped() -> None:
    plan = plan_compensation(
        orders(("A1", "C1", "paid", 0), ("A2", "C2", "paid", 1), ("A3", "C3", "paid", 2)),
        TERMS, paid_orders={"A1"}, paid_customers={"C2"},
    )
    assert list(plan.items["order_id"]) == ["A3"]
    assert skipped(plan) == {"A1": "该订单已补偿", "A2": "该客户本事件已补偿"}


def test_amounts_are_integer_fen_and_total_adds_them_up() -> None:
    rows = orders(("A1", "C1", "paid", 0), ("A2", "C2", "paid", 1), ("A3", "C3", "paid", 2))
    plan = plan_compensation(rows, TERMS, set(), set())
    assert list(plan.items["amount_fen"]) == [2000, 2000, 2000]
    assert all(isinstance(v, int) for v in plan.items["amount_fen"].tolist())
    assert set(plan.items["kind"]) == {"fixed_coupon"}
    assert plan.total_fen == 6000
    assert isinstance(plan.total_fen, int)


def test_nothing_eligible_totals_zero() -> None:
    plan = plan_compensation(orders(("A1", "C1", "refunded", 0)), TERMS, set(), set())
    assert plan.items.empty
    assert plan.total_fen == 0
    assert totals_by_reason(plan) == {"订单已退款": 1}


def test_totals_by_reason_counts_each_reason() -> None:
    rows = orders(("A1", "C1", "paid", 0), ("A2", "C1", "paid", 1), ("A3", "C1", "paid", 2),
                  ("A4", "C4", "cancelled", 3))
    plan = plan_compensation(rows, TERMS, set(), set())
    assert totals_by_reason(plan) == {"同一客户只补偿一次": 2, "订单已取消": 1}
