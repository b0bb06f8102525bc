"""Compensation policies (tasks/compensation/policy.py and config/compensation.toml): each kind's amount and
rounding, each eligibility rule, one per customer, approval limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from config.files import Policy, load_policies
from tasks.compensation.policy import (
    PolicyTerms,
    Window,
    compensation_amounts,
    eligibility_window,
    needs_approval,
    plan_compensation,
    share,
    totals_by_kind,
)

T0 = datetime(2025, 11, 20, 2, 0, tzinfo=UTC)
COUPON = PolicyTerms(name="coupon-20", kind="fixed_coupon", amount_fen=2000)


def orders(*rows: tuple) -> pd.DataFrame:  # type: ignore[type-arg]
    """Rows of (order_id, customer_id, status, minutes after T0[, amount_fen[, product, sku]])."""
    records = []
    for row in rows:
        order_id, customer_id, status, minutes, *rest = row
        amount, product, sku = (rest + [29900, "澄星空气炸锅 5L 家用", "CX-AF-01"][len(rest):])[:3]
        records.append({"order_id": order_id, "customer_id": customer_id, "product": product, "sku": sku,
                        "email": "", "amount_fen": amount, "paid_at": T0 + timedelta(minutes=minutes),
                        "status": status})
    return pd.DataFrame(records)


def reasons(plan) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(zip(plan.skipped["order_id"], plan.skipped["reason"], strict=True))


@pytest.mark.parametrize("terms, amounts, money, points", [
    (PolicyTerms("r", "full_refund"), [29900, 1], [29900, 1], [0, 0]),
    (PolicyTerms("p", "partial_refund", percent_bp=3000), [29900, 5, 15], [8970, 2, 5], [0, 0, 0]),
    (PolicyTerms("p", "partial_refund", percent_bp=1250, cap_fen=1000), [4, 12, 80000], [1, 2, 1000],
     [0, 0, 0]),
    (PolicyTerms("c", "fixed_coupon", amount_fen=2000), [1, 99999], [2000, 2000], [0, 0]),
    (PolicyTerms("c", "percent_coupon", percent_bp=1000, cap_fen=5000), [29950, 95000, 5], [2995, 5000, 1],
     [0, 0, 0]),
    (PolicyTerms("pts", "points", points=500), [29900, 1], [0, 0], [500, 500]),
])
def test_each_kind_pays_the_documented_amount(terms: PolicyTerms, amounts: list[int], money: list[int],
                                              points: list[int]) -> None:
    got_money, got_points = compensation_amounts(np.array(amounts), terms)
    assert got_money.tolist() == money and got_points.tolist() == points
    assert got_money.dtype == np.int64


@pytest.mark.parametrize("fen, bp, expected", [(15, 3000, 5), (5, 1000, 1), (4, 1000, 0), (1, 5000, 1),
                                               (3, 5000, 2), (333, 3333, 111), (10**13, 9999, 9999 * 10**9)])
def test_a_share_rounds_half_a_fen_up_in_integers(fen: int, bp: int, expected: int) -> None:
    assert share(np.array([fen]), bp).tolist() == [expected]


def test_the_window_runs_from_days_before_the_start_to_detection_or_now() -> None:
    started, detected, now = T0, T0 + timedelta(hours=3), T0 + timedelta(days=2)
    terms = PolicyTerms("c", "fixed_coupon", window_before_days=7)
    window = eligibility_window(terms, started, detected, now)
    assert window == Window(T0 - timedelta(days=7), detected)
    to_now = eligibility_window(PolicyTerms("c", "fixed_coupon", window_end="now"), started, detected, now)
    assert to_now.end == now


def test_orders_paid_outside_the_window_are_skipped() -> None:
    rows = orders(("A1", "C1", "paid", -61), ("A2", "C2", "paid", -60), ("A3", "C3", "paid", 60),
                  ("A4", "C4", "paid", 61))
    window = Window(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    plan = plan_compensation(rows, COUPON, set(), set(), window)
    assert list(plan.items["order_id"]) == ["A2", "A3"]
    assert reasons(plan) == {"A1": "付款时间早于事件影响窗口", "A4": "付款时间晚于事件影响窗口"}


def test_only_affected_products_or_skus_are_compensated_when_listed() -> None:
    rows = orders(("A1", "C1", "paid", 0, 100, "澄星空气炸锅 5L 家用", "X"),
                  ("A2", "C2", "paid", 1, 100, "青禾坚果", "QH-1"),
                  ("A3", "C3", "paid", 2, 100, "青禾牛奶", "QH-MILK"))
    terms = PolicyTerms("c", "fixed_coupon", amount_fen=10, products=("空气炸锅",), skus=("QH-MILK",))
    plan = plan_compensation(rows, terms, set(), set())
    assert list(plan.items["order_id"]) == ["A1", "A3"]
    assert reasons(plan) == {"A2": "非受影响商品"}


def test_unpaid_cancelled_and_refunded_orders_are_skipped_first() -> None:
    rows = orders(("A1", "C1", "unpaid", 0), ("A2", "C2", "cancelled", 1), ("A3", "C3", "refunded", -9999),
                  ("A4", "C4", "completed", 2))
    window = Window(T0 - timedelta(days=1), T0 + timedelta(days=1))
    plan = plan_compensation(rows, COUPON, set(), set(), window)
    assert list(plan.items["order_id"]) == ["A4"]
    assert reasons(plan) == {"A1": "订单未付款", "A2": "订单已取消", "A3": "订单已退款"}


def test_an_order_that_would_pay_nothing_is_skipped() -> None:
    plan = plan_compensation(orders(("A1", "C1", "paid", 0, 0), ("A2", "C2", "paid", 1, 1)),
                             PolicyTerms("r", "partial_refund", percent_bp=1000), set(), set())
    assert list(plan.items["order_id"]) == []
    assert reasons(plan) == {"A1": "补偿金额为零", "A2": "补偿金额为零"}


def test_one_per_customer_takes_the_earliest_eligible_order_and_slots_by_customer() -> None:
    rows = orders(("A9", "C1", "paid", 30), ("A5", "C1", "cancelled", 5), ("A7", "C1", "paid", 20),
                  ("B1", "C2", "paid", 1))
    plan = plan_compensation(rows, COUPON, set(), set())
    assert list(plan.items["order_id"]) == ["B1", "A7"]
    assert list(plan.items["customer_slot"]) == ["c:C2", "c:C1"]
    assert reasons(plan) == {"A9": "同一客户只补偿一次", "A5": "订单已取消"}


def test_a_policy_may_compensate_every_order_of_a_customer() -> None:
    terms = PolicyTerms("r", "full_refund", one_per_customer=False)
    rows = orders(("A1", "C1", "paid", 0, 100), ("A2", "C1", "paid", 1, 250))
    plan = plan_compensation(rows, terms, set(), {"C1"})
    assert list(plan.items["order_id"]) == ["A1", "A2"]
    assert list(plan.items["customer_slot"]) == ["o:A1", "o:A2"]
    assert plan.total_fen == 350


def test_what_the_ledger_holds_is_skipped() -> None:
    rows = orders(("A1", "C1", "paid", 0), ("A2", "C2", "paid", 1), ("A3", "C3", "paid", 2))
    plan = plan_compensation(rows, COUPON, {"A1"}, {"C2"})
    assert list(plan.items["order_id"]) == ["A3"]
    assert reasons(plan) == {"A1": "该订单已补偿", "A2": "该客户本事件已补偿"}


def test_approval_is_needed_above_the_limit_only() -> None:
    rows = orders(("A1", "C1", "paid", 0), ("A2", "C2", "paid", 1))
    at_limit = PolicyTerms("c", "fixed_coupon", amount_fen=2000, approval_limit_fen=4000)
    assert not needs_approval(plan_compensation(rows, at_limit, set(), set()), at_limit)
    below = PolicyTerms("c", "fixed_coupon", amount_fen=2000, approval_limit_fen=3999)
    assert needs_approval(plan_compensation(rows, below, set(), set()), below)
    points = PolicyTerms("p", "points", points=500, approval_limit_points=999)
    assert needs_approval(plan_compensation(rows, points, set(), set()), points)
    assert not needs_approval(plan_compensation(rows, COUPON, set(), set()), COUPON)


def test_totals_by_kind_count_orders_customers_fen_and_points() -> None:
    plan = plan_compensation(orders(("A1", "C1", "paid", 0), ("A2", "C2", "paid", 1)), COUPON, set(), set())
    assert totals_by_kind(plan.items) == {
        "fixed_coupon": {"orders": 2, "customers": 2, "amount_fen": 4000, "points": 0}}


def test_shipped_policies_load_and_each_kind_demands_its_fields(clean_settings: pytest.MonkeyPatch) -> None:
    policies = load_policies()
    assert {p.kind for p in policies.policies.values()} == {
        "full_refund", "partial_refund", "fixed_coupon", "percent_coupon", "points"}
    assert policies.policies["coupon-20"].amount_fen == 2000
    needs_by_kind = [("fixed_coupon", "amount_fen"), ("percent_coupon", "percent、cap_fen"),
                     ("points", "points")]
    for kind, needs in needs_by_kind:
        with pytest.raises(ValidationError, match=f"{kind} 策略需要 {needs}"):
            Policy(kind=kind, title="x")
    with pytest.raises(ValidationError, match="decimal places"):
        Policy(kind="partial_refund", title="x", percent="12.345")


def test_compensation_policy_and_order_modules_stay_pure() -> None:
    import json
    import subprocess
    import sys

    from tests.unit.conftest import ROOT
    from tests.unit.test_purity import FORBIDDEN, PROBE

    modules = ["tasks.compensation.policy", "tasks.compensation.orders", "tasks.compensation.formats"]
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(modules), json.dumps(FORBIDDEN)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(result.stdout)
    assert report == {"offenders": {}, "broken": {}, "loaded": []}


def test_an_unknown_policy_is_named_in_chinese_with_the_configured_ones() -> None:
    from tasks.compensation.tasks import policy_terms
    from tasks.errors import NotFound

    with pytest.raises(NotFound, match=r"^未找到补偿方案 nope（已配置：.*coupon-20.*）$"):
        policy_terms("nope")
