"""Small pure functions for the evaluation: the negative-class confusion counts and their ratios,
and a deterministic stratified sample. No I/O, no third-party imports.

The negative class is the one that matters to a crisis monitor, so it is the "positive" class of
precision, recall and F1 here. A ratio whose denominator is zero is 0.0 (scikit-learn's
`zero_division=0`).
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Confusion:
    """Counts for the negative class: tp = negative predicted negative, fp = positive predicted negative."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def _safe_div(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def confusion(actual_negative: Sequence[bool], predicted_negative: Sequence[bool]) -> Confusion:
    """Count the four outcomes; raise ValueError if the sequences differ in length."""
    if len(actual_negative) != len(predicted_negative):
        raise ValueError(
            f"lengths differ: {len(actual_negative)} actual, {len(predicted_negative)} predicted"
        )
    tp = fp = fn = tn = 0
    for actual, predicted in zip(actual_negative, predicted_negative, strict=True):
        if actual and predicted:
            tp += 1
        elif predicted:
            fp += 1
        elif actual:
            fn += 1
        else:
            tn += 1
    return Confusion(tp=tp, fp=fp, fn=fn, tn=tn)


def accuracy(counts: Confusion) -> float:
    """Share of correct predictions (0.0 for no rows)."""
    return _safe_div(counts.tp + counts.tn, counts.total)


def precision(counts: Confusion) -> float:
    """Of the rows predicted negative, the share that are negative."""
    return _safe_div(counts.tp, counts.tp + counts.fp)


def recall(counts: Confusion) -> float:
    """Of the negative rows, the share predicted negative."""
    return _safe_div(counts.tp, counts.tp + counts.fn)


def f1(counts: Confusion) -> float:
    """Harmonic mean of precision and recall (0.0 when both are 0)."""
    p, r = precision(counts), recall(counts)
    return _safe_div(2 * p * r, p + r)


def negative_class_report(
    actual_negative: Sequence[bool], predicted_negative: Sequence[bool]
) -> dict[str, float]:
    """Return accuracy and negative-class precision, recall and F1, as the JSON reports them."""
    counts = confusion(actual_negative, predicted_negative)
    return {
        "accuracy": accuracy(counts),
        "neg_precision": precision(counts),
        "neg_recall": recall(counts),
        "neg_f1": f1(counts),
    }


def stratified_indices(labels: Sequence[Hashable], size: int, seed: int) -> list[int]:
    """Return sorted indices of a sample of at most `size` rows keeping each label's share.

    Shares are allocated by largest remainder, so the sample has exactly min(size, len(labels))
    rows; the same labels, size and seed always give the same indices.
    """
    if size < 0:
        raise ValueError(f"size must not be negative, got {size}")
    if size >= len(labels):
        return list(range(len(labels)))
    groups: dict[Hashable, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    ordered = sorted(groups, key=repr)
    exact = {label: size * len(groups[label]) / len(labels) for label in ordered}
    quota = {label: int(exact[label]) for label in ordered}
    short = size - sum(quota.values())
    for label in sorted(ordered, key=lambda k: (-(exact[k] - quota[k]), repr(k)))[:short]:
        quota[label] += 1
    rng = random.Random(seed)
    chosen: list[int] = []
    for label in ordered:
        chosen.extend(rng.sample(groups[label], quota[label]))
    return sorted(chosen)


def ratio(value: float, baseline: float) -> float:
    """Return value / baseline (0.0 for a zero baseline)."""
    return _safe_div(value, baseline)


def accuracy_gap_interval(
    actual: Sequence[bool], ours: Sequence[bool], theirs: Sequence[bool], seed: int,
    rounds: int = 2000, level: float = 0.95,
) -> tuple[float, float]:
    """Return a paired bootstrap interval of accuracy(ours) - accuracy(theirs), in points.

    The same resampled rows score both models, so the interval shows how far the gap itself moves
    with the sample: a gap of 5 points on 266 rows is not a gap of 5 points on 10,000.
    """
    import numpy as np

    right_ours = np.array([a == p for a, p in zip(actual, ours, strict=True)], dtype=np.int8)
    right_theirs = np.array([a == p for a, p in zip(actual, theirs, strict=True)], dtype=np.int8)
    diff = (right_ours - right_theirs).astype(np.float64)
    if not len(diff):
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    gaps = np.empty(rounds)
    for i in range(rounds):
        gaps[i] = diff[rng.integers(0, len(diff), len(diff))].mean()
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(gaps, [tail, 100 - tail])
    return (round(float(low) * 100, 1), round(float(high) * 100, 1))
