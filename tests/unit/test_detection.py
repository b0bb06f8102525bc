"""Spike detection and its reasons (tasks/triage/detection.py): each rule, each condition."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from tasks.triage.detection import GroupWindow, TermCounts, Thresholds, evaluate, poisson_tail

T = Thresholds()


def group(**values: object) -> GroupWindow:
    base: dict[str, object] = dict(brand="澄星", category="产品质量", negative=0, brand_volume=20, brand_negative=0,
                                   baseline_counts=[1, 0, 2, 1, 0, 1, 1, 0, 2, 1, 0, 1], baseline_share=0.1)
    base.update(values)
    return GroupWindow(**base)  # type: ignore[arg-type]


def rules(g: GroupWindow, t: Thresholds = T) -> list[str]:
    return [hit.rule for hit in evaluate(g, t)]


@pytest.mark.parametrize("x, lam", [(0, 1.0), (1, 1.0), (5, 1.0), (8, 4.0), (20, 2.0), (100, 50.0), (3, 0.1),
                                   (30, 30.0), (31, 30.0), (60, 30.0), (29, 30.5)])
def test_poisson_tail_is_exact(x: int, lam: float) -> None:
    exact = 1 - sum(math.exp(-lam) * lam**k / math.factorial(k) for k in range(x))
    assert poisson_tail(x, lam) == pytest.approx(exact, rel=1e-3, abs=1e-15)


def test_poisson_tail_past_a_huge_mean_sums_every_term_it_needs() -> None:
    # at the mean of a very large count about half the mass is above: a sum cut at a fixed number of terms
    # (10,000, about one standard deviation here) said 0.34
    assert poisson_tail(10**8 + 1, 1e8) == pytest.approx(0.5, abs=1e-3)


def test_a_burst_over_a_quiet_baseline_fires_and_says_why() -> None:
    g = group(negative=30, brand_volume=40, brand_negative=32)
    hits = evaluate(g, T)
    assert [h.rule for h in hits] == ["short_spike"]
    reason = hits[0].reason
    assert "负面 30 条" in reason and "3σ" in reason and "Poisson p=" in reason and "80%" in reason


def test_few_mentions_never_fire_however_unusual() -> None:
    assert rules(group(negative=7, brand_volume=8, brand_negative=7, baseline_counts=[0] * 12)) == []


def test_a_steady_high_level_is_no_spike() -> None:
    assert rules(group(negative=12, brand_volume=60, brand_negative=12, baseline_counts=[11, 12, 13, 12] * 3,
                       baseline_share=0.2)) == []


def test_more_volume_at_the_same_negative_share_is_no_crisis() -> None:
    """A sale (双11) multiplies the volume and the complaints with it: the share does not rise."""
    surge = group(negative=30, brand_volume=300, brand_negative=30, baseline_share=0.1)
    assert rules(surge) == []


def test_a_surge_of_a_cascade_negative_for_hours_fires_though_its_share_cannot_rise() -> None:
    """A watched name talked of only through one negative post: hours of a few reposts, then 51 in an hour.
    The share was 100 % before and is now; most of what is said of it is negative, so the surge counts."""
    cascade = group(negative=51, brand_volume=51, brand_negative=51, baseline_counts=[3, 3, 6, 1], baseline_share=1.0)
    hits = evaluate(cascade, T)
    assert [h.rule for h in hits] == ["short_spike"]
    assert "品牌负面占比 100%（基线 100%，未升 15% 但已过半（≥ 50%））" in hits[0].reason
    assert rules(cascade, Thresholds(negative_majority=1.0)) == ["short_spike"]  # 100 % is still ≥ 100 %
    half = group(negative=40, brand_volume=100, brand_negative=45, baseline_counts=[3, 3, 6, 1], baseline_share=0.4)
    assert rules(half) == [] and rules(half, Thresholds(negative_majority=0.45)) == ["short_spike"]


def test_k_sigma_is_the_sensitivity() -> None:
    g = group(negative=9, brand_volume=20, brand_negative=10)
    assert rules(g, Thresholds(k_sigma=3.0)) == ["short_spike"]
    assert rules(g, Thresholds(k_sigma=12.0)) == []


def test_long_baseline_needs_the_day_to_stand_out() -> None:
    quiet_days = group(day_negative=60, day_baseline=[3, 4, 2, 5, 3, 4, 3], day_share=0.4, day_baseline_share=0.1)
    (day,) = [h for h in evaluate(quiet_days, T) if h.rule == "long_spike"]
    assert day.reason.endswith("品牌负面占比 40%（基线 10%）"), "the day rule says why its share passes, too"
    negative_for_days = group(day_negative=60, day_baseline=[3, 4, 2, 5, 3, 4, 3], day_share=0.9,
                              day_baseline_share=0.9)
    (day,) = [h for h in evaluate(negative_for_days, T) if h.rule == "long_spike"]
    assert day.reason.endswith("品牌负面占比 90%（基线 90%，未升 8% 但已过半（≥ 50%））")
    busy_days = group(day_negative=60, day_baseline=[55, 62, 58, 61, 57, 60, 59], day_share=0.4,
                      day_baseline_share=0.38)
    assert "long_spike" not in rules(busy_days)


def said(term: str, mentions: int, baseline: list[int] | None = None, repeats: int = 0, **more: int) -> TermCounts:
    """`mentions` negative mentions carrying `term` (and `more` other terms) in the window."""
    return TermCounts(Counter({term: mentions, **more}), mentions, repeats, baseline or [])


def test_critical_terms_fire_at_once_on_small_counts() -> None:
    hits = evaluate(group(negative=2, critical=said("泄露", 2)), T)
    assert [h.rule for h in hits] == ["critical_terms"] and "泄露×2" in hits[0].reason
    assert rules(group(negative=1, critical=said("泄露", 1))) == []


def test_claims_fire_on_the_fifth_voice_and_say_which_claims() -> None:
    g = group(category="人身安全/食品安全", negative=5, claims=said("三聚氰胺", 5, repeats=4, 送医=2))
    hits = evaluate(g, T)
    assert [h.rule for h in hits] == ["claims"]
    assert "5 条负面提及称 三聚氰胺×5、送医×2（≥ 5，其中 4 条是转发或重复）" in hits[0].reason
    assert rules(group(category="人身安全/食品安全", negative=6, claims=said("送医", 4))) == []
    assert rules(g, Thresholds(claims_min=6)) == [], "claims_min is the threshold"


def test_claims_at_a_brands_usual_rate_do_not_fire() -> None:
    safety, usual = "人身安全/食品安全", [20] * 12
    assert rules(group(category=safety, negative=22, claims=said("过期", 22, usual))) == [], (
        "twenty an hour is what it always has")
    hits = evaluate(group(category=safety, negative=45, claims=said("过期", 45, usual)), T)
    assert [h.rule for h in hits] == ["claims"] and "此前 12 小时平均每 60 分钟 20.0 条" in hits[0].reason
    assert rules(group(category=safety, negative=5, claims=said("过期", 5, [1] + [0] * 11))) == ["claims"]
    about_one = [1, 1, 1, 1, 1, 2, 1, 1, 2, 1, 1, 1]  # a real stream of 50 posts an hour about a dairy (3.6 % claim)
    assert rules(group(category=safety, negative=5, claims=said("过期", 5, about_one))) == [], (
        "five at a rate of 1.2 an hour is 0.8 % likely: the spike rules' alpha, not critical_alpha")


def test_critical_terms_as_common_as_before_do_not_fire() -> None:
    assert rules(group(negative=2, critical=said("中毒", 2, [0] * 12))) == ["critical_terms"]
    assert rules(group(negative=2, critical=said("中毒", 2, [1] + [0] * 11))) == ["critical_terms"], (
        "two reposts of a 致癌 post after the post itself an hour ago are a scare spreading")
    hourly = [1] * 12  # a brand whose posts hold one every hour
    assert rules(group(negative=3, critical=said("中毒", 3, hourly))) == []
    assert rules(group(negative=5, critical=said("中毒", 5, hourly))) == ["critical_terms"]
    assert rules(group(negative=5, critical=said("中毒", 5, hourly)), Thresholds(critical_alpha=0.001)) == [], (
        "critical_alpha is the threshold")
    assert rules(group(negative=6, critical=said("中毒", 6, [5] * 12))) == [], "a big brand's usual five an hour"
    hits = evaluate(group(negative=16, critical=said("中毒", 16, [5] * 12)), T)
    assert [h.rule for h in hits] == ["critical_terms"] and "此前 12 小时平均每 60 分钟 5.0 条" in hits[0].reason


def test_one_post_with_very_high_reach_fires() -> None:
    hits = evaluate(group(negative=3, top_reach=450_000), T)
    assert [h.rule for h in hits] == ["influencer"] and "450,000" in hits[0].reason
    assert rules(group(negative=3, top_reach=299_999)) == []


def test_a_lone_complaint_from_a_big_account_is_not_a_crisis() -> None:
    assert rules(group(negative=1, top_reach=450_000)) == []


def test_volume_rules_ignore_negatives_no_category_explains() -> None:
    assert rules(group(category="其他", negative=30, brand_volume=40, brand_negative=32, top_reach=450_000)) == []
