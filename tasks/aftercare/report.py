"""Metrics across incidents (`crisis report`): counts, median TTD/TTA/TTR per level, compensation, and the
incidents that were no crisis (closed as unfounded or false alarms, with the rules that fired), and the crises
a person opened where no rule did (人工立案). Pure.

Counts by level and category and the medians are of crises only: a rumour closed after 辟谣 or a false alarm
would bend "how fast do we handle a crisis" (it has no TTR) and is counted apart. Compensation paid is
money spent whatever the incident turned out to be, so its totals include them.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tasks.incidents.state import LEVELS, Resolution


@dataclass(frozen=True)
class IncidentFacts:
    level: str
    category: str
    is_drill: bool
    durations: dict[str, float | None]  # minutes
    compensation_fen: int
    compensated_orders: int
    resolution: str | None = None  # unfounded | false_alarm | None (a crisis)
    rules: tuple[str, ...] = ()  # the detection rules that fired for it
    by_hand: bool = False  # opened by a person (人工立案): a crisis the rules did not open


@dataclass(frozen=True)
class Report:
    incidents: int
    by_level: dict[str, int]
    by_category: dict[str, int]
    medians: dict[str, dict[str, float | None]]  # level -> TTD/TTA/TTR -> minutes
    compensation_fen: int
    compensated_orders: int
    unfounded: int = 0
    false_alarms: int = 0
    false_alarm_rules: dict[str, int] = field(default_factory=dict)  # rule -> false alarms it fired for
    by_hand: int = 0  # crises a person opened where no rule did: what detection missed
    # rule -> how the incidents it fired for ended: crisis (a real one, or still open), unfounded, false_alarm
    rule_outcomes: dict[str, dict[str, int]] = field(default_factory=dict)


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def summarise(facts: Sequence[IncidentFacts]) -> Report:
    """Summarise real incidents (drills excluded); crises apart from those closed as no crisis."""
    real = [f for f in facts if not f.is_drill]
    crises = [f for f in real if f.resolution is None]
    false_alarms = [f for f in real if f.resolution == Resolution.FALSE_ALARM]
    levels = sorted({f.level for f in crises}, key=LEVELS.index)
    return Report(
        incidents=len(crises),
        by_level=dict(Counter(f.level for f in crises)),
        by_category=dict(Counter(f.category for f in crises)),
        medians={lvl: {m: _median([f.durations.get(m) for f in crises if f.level == lvl]) for m in ("TTD", "TTA", "TTR")}
                 for lvl in levels},
        compensation_fen=sum(f.compensation_fen for f in real),
        compensated_orders=sum(f.compensated_orders for f in real),
        unfounded=sum(f.resolution == Resolution.UNFOUNDED for f in real),
        false_alarms=len(false_alarms),
        false_alarm_rules=dict(Counter(rule for f in false_alarms for rule in f.rules).most_common()),
        by_hand=sum(f.by_hand for f in crises),
        rule_outcomes=_rule_outcomes(real),
    )


CRISIS = "crisis"
OUTCOMES = (CRISIS, Resolution.UNFOUNDED.value, Resolution.FALSE_ALARM.value)


def _rule_outcomes(real: Sequence[IncidentFacts]) -> dict[str, dict[str, int]]:
    """Return per rule how the incidents it fired for ended, the rule with the most false alarms first: which rule
    to tune, in numbers (a rule that fires for rumours is doing its job; 辟谣 is a response)."""
    counts: dict[str, Counter[str]] = {}
    for f in real:
        for rule in f.rules:
            counts.setdefault(rule, Counter())[f.resolution or CRISIS] += 1
    ordered = sorted(counts, key=lambda r: (-counts[r][Resolution.FALSE_ALARM.value], -sum(counts[r].values()), r))
    return {rule: {o: counts[rule][o] for o in OUTCOMES} for rule in ordered}
