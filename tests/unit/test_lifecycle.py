"""Incident states, allowed transitions and timestamp order (tasks/triage/lifecycle.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tasks.incidents.state import IncidentState as S
from tasks.incidents.state import can_transition, durations, timestamp_problem

ALLOWED = [
    (S.OPEN, S.ACKNOWLEDGED),
    (S.ACKNOWLEDGED, S.RESPONDING),
    (S.ACKNOWLEDGED, S.MONITORING),
    (S.RESPONDING, S.MONITORING),
    (S.MONITORING, S.RESPONDING),
    (S.MONITORING, S.RESOLVED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.RESPONDING),
]
T0 = datetime(2025, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize("current, target", ALLOWED)
def test_plan_transitions_are_allowed(current: S, target: S) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(
    "current, target",
    [(S.OPEN, S.RESOLVED), (S.OPEN, S.CLOSED), (S.OPEN, S.MONITORING), (S.RESPONDING, S.RESOLVED),
     (S.ACKNOWLEDGED, S.OPEN), (S.MONITORING, S.CLOSED)],
)
def test_shortcuts_and_going_back_are_refused(current: S, target: S) -> None:
    assert not can_transition(current, target)


@pytest.mark.parametrize("target", list(S))
def test_closed_is_final(target: S) -> None:
    assert not can_transition(S.CLOSED, target)


def test_no_state_transitions_to_itself() -> None:
    assert not any(can_transition(s, s) for s in S)


def test_ordered_timestamps_have_no_problem() -> None:
    stamps = {"started_at": T0, "detected_at": T0 + timedelta(minutes=5),
              "acknowledged_at": None, "resolved_at": T0 + timedelta(hours=3)}
    assert timestamp_problem(stamps) is None


def test_out_of_order_timestamp_is_named() -> None:
    stamps = {"started_at": T0, "detected_at": T0 + timedelta(minutes=5),
              "acknowledged_at": T0 + timedelta(minutes=2)}
    problem = timestamp_problem(stamps)
    assert problem is not None
    assert problem.startswith("确认接手时间（") and "早于发现时间（" in problem


def test_problem_skips_missing_stamps_when_comparing() -> None:
    stamps = {"detected_at": T0, "acknowledged_at": None, "mitigated_at": T0 - timedelta(minutes=1)}
    problem = timestamp_problem(stamps)
    assert problem is not None and problem.startswith("缓解时间（") and "早于发现时间（" in problem


def test_durations_are_minutes_from_start_and_detection() -> None:
    stamps = {
        "started_at": T0,
        "detected_at": T0 + timedelta(minutes=10),
        "acknowledged_at": T0 + timedelta(minutes=25),
        "mitigated_at": T0 + timedelta(hours=2, minutes=10),
        "resolved_at": T0 + timedelta(hours=5, minutes=10),
    }
    assert durations(stamps) == {"TTD": 10, "TTA": 15, "TTM": 120, "TTR": 300}


def test_durations_are_none_where_a_stamp_is_missing() -> None:
    stamps = {"started_at": None, "detected_at": T0, "acknowledged_at": T0 + timedelta(seconds=90)}
    assert durations(stamps) == {"TTD": None, "TTA": 1.5, "TTM": None, "TTR": None}
