"""Tests of the evaluation's pure metric functions (benchmarks/metrics.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.metrics import (
    Confusion,
    accuracy,
    accuracy_gap_interval,
    confusion,
    f1,
    negative_class_report,
    precision,
    ratio,
    recall,
    stratified_indices,
)

# True = negative. Outcomes: tp, tp, fn, fp, tn, tn, tn.
ACTUAL = [True, True, True, False, False, False, False]
PREDICTED = [True, True, False, True, False, False, False]


def test_confusion_counts_each_outcome_with_negative_as_the_target_class() -> None:
    assert confusion(ACTUAL, PREDICTED) == Confusion(tp=2, fp=1, fn=1, tn=3)


def test_confusion_rejects_sequences_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="lengths differ"):
        confusion([True], [True, False])


def test_ratios_match_hand_computed_values() -> None:
    counts = Confusion(tp=2, fp=1, fn=1, tn=3)
    assert accuracy(counts) == pytest.approx(5 / 7)
    assert precision(counts) == pytest.approx(2 / 3)
    assert recall(counts) == pytest.approx(2 / 3)
    assert f1(counts) == pytest.approx(2 / 3)


def test_f1_is_the_harmonic_mean_when_precision_and_recall_differ() -> None:
    counts = Confusion(tp=1, fp=0, fn=3, tn=0)  # precision 1, recall 0.25
    assert f1(counts) == pytest.approx(2 * 1 * 0.25 / 1.25)


def test_zero_denominators_give_zero_not_an_error() -> None:
    nothing_predicted = Confusion(tp=0, fp=0, fn=4, tn=6)
    assert precision(nothing_predicted) == 0.0
    assert f1(nothing_predicted) == 0.0
    no_negatives = Confusion(tp=0, fp=0, fn=0, tn=5)
    assert recall(no_negatives) == 0.0
    assert accuracy(no_negatives) == 1.0
    assert accuracy(Confusion(0, 0, 0, 0)) == 0.0


def test_perfect_and_inverted_predictions() -> None:
    perfect = negative_class_report(ACTUAL, ACTUAL)
    assert perfect == {"accuracy": 1.0, "neg_precision": 1.0, "neg_recall": 1.0, "neg_f1": 1.0}
    inverted = negative_class_report(ACTUAL, [not a for a in ACTUAL])
    assert inverted == {"accuracy": 0.0, "neg_precision": 0.0, "neg_recall": 0.0, "neg_f1": 0.0}


def test_report_has_the_keys_the_json_uses() -> None:
    report = negative_class_report(ACTUAL, PREDICTED)
    assert report == pytest.approx(
        {"accuracy": 5 / 7, "neg_precision": 2 / 3, "neg_recall": 2 / 3, "neg_f1": 2 / 3}
    )


def test_stratified_sample_keeps_label_shares_and_size() -> None:
    labels = [0] * 300 + [1] * 700
    chosen = stratified_indices(labels, 100, seed=1)
    assert len(chosen) == 100
    assert len(set(chosen)) == 100
    assert Counter(labels[i] for i in chosen) == {0: 30, 1: 70}


def test_stratified_sample_rounds_by_largest_remainder_to_the_exact_size() -> None:
    labels = ["a"] * 1 + ["b"] * 1 + ["c"] * 1
    assert len(stratified_indices(labels, 2, seed=3)) == 2
    labels = [0] * 6 + [1] * 15  # exact shares of 10: 2.86 and 7.14 -> 3 and 7
    assert Counter(labels[i] for i in stratified_indices(labels, 10, seed=3)) == {0: 3, 1: 7}


def test_stratified_sample_is_deterministic_and_depends_on_the_seed() -> None:
    labels = [i % 3 for i in range(5000)]
    assert stratified_indices(labels, 500, seed=7) == stratified_indices(labels, 500, seed=7)
    assert stratified_indices(labels, 500, seed=7) != stratified_indices(labels, 500, seed=8)


def test_stratified_sample_returns_everything_when_the_set_is_small_enough() -> None:
    assert stratified_indices([1, 0, 1], 10, seed=0) == [0, 1, 2]
    assert stratified_indices([1, 0, 1], 0, seed=0) == []
    with pytest.raises(ValueError):
        stratified_indices([1], -1, seed=0)


def test_ratio_guards_a_zero_baseline() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(3.0, 0.0) == 0.0


def test_gap_interval_brackets_the_gap_and_narrows_with_more_rows() -> None:
    # ours right on 60 % of rows, theirs on 50 %, disagreeing on a fifth: a 10-point gap
    def rows(n: int) -> tuple[list[bool], list[bool], list[bool]]:
        actual = [True] * n
        ours = [i % 10 < 6 for i in range(n)]
        theirs = [i % 10 < 4 or i % 10 == 6 for i in range(n)]
        return actual, ours, theirs

    small = accuracy_gap_interval(*rows(200), seed=1)
    large = accuracy_gap_interval(*rows(20_000), seed=1)
    assert small[0] < 10 < small[1]
    assert large[0] < 10 < large[1]
    assert large[1] - large[0] < (small[1] - small[0]) / 5


def test_gap_interval_of_identical_and_of_opposite_models() -> None:
    actual = [True, False] * 50
    assert accuracy_gap_interval(actual, actual, actual, seed=3) == (0.0, 0.0)
    wrong = [not a for a in actual]
    assert accuracy_gap_interval(actual, actual, wrong, seed=3) == (100.0, 100.0)
