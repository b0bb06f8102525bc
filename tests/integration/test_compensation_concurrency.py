"""One compensation per incident at a time, on a real `prefect server start`: a second run for an incident
waits while the first holds the incident's concurrency slot (here: paused for approval), then plans
against the first one's ledger; a run for another incident goes through meanwhile."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, TaskRunFilter, TaskRunFilterFlowRunId
from prefect.client.schemas.objects import FlowRun, TaskRun
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings

from tasks.compensation.report import WRITTEN_ELSEWHERE
from tasks.stack import Stack, ensure_prefect_server
from tests.helpers import PATIENCE_SECONDS, wait_for
from tests.integration.server_support import runs_for
from tests.tasks.test_compensation_ledger import KEY, NOW, make_incident, orders_csv

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
OTHER = "INC-20251124-002"
RUN = """
import json, sys
from datetime import datetime
from flows.compensate import compensate
result = compensate(incident_key=sys.argv[1], orders_path=sys.argv[2], policy="refund-full", dry_run=False,
                    requested_by="刘洋", now=datetime.fromisoformat(sys.argv[3]))
print(json.dumps(result, ensure_ascii=False, default=str))
"""


@pytest.fixture
def start(local_stack: Stack) -> Iterator[Callable[[str, Path], subprocess.Popen[str]]]:
    """Start `compensate` for (incident, orders) in a child process; a child still running at the end
    (a run left paused by a failed assertion) is killed."""
    children: list[subprocess.Popen[str]] = []

    def _start(key: str, orders: Path) -> subprocess.Popen[str]:
        children.append(subprocess.Popen([sys.executable, "-c", RUN, key, str(orders), NOW.isoformat()], cwd=ROOT,
                                         env=local_stack.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True))
        return children[-1]

    yield _start
    for child in children:
        if child.poll() is None:
            child.kill()
            child.communicate()


def _result(child: subprocess.Popen[str]) -> dict[str, object]:
    out, err = child.communicate(timeout=PATIENCE_SECONDS)
    assert child.returncode == 0, err[-4000:]
    return json.loads(out.strip().splitlines()[-1])


def _run(key: str, state: str | None = None, known: frozenset[UUID] = frozenset()) -> FlowRun | None:
    """Return a compensate run of the incident, not in `known`, whose state is named `state` (if given)."""
    return next((r for r in runs_for("compensate", key)
                 if r.id not in known and r.state is not None and state in (None, r.state.name)), None)


def _task_runs(run_id: UUID) -> list[TaskRun]:
    with get_client(sync_client=True) as client:
        return client.read_task_runs(task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[run_id])))


def _says_it_waits(run_id: UUID, key: str) -> bool:
    """Tell whether the run logged that it waits for the incident's slot (tasks/compensation/limits.py)."""
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    return any(log.message.startswith(f"等待 compensate-{key} 的槽位") for log in logs)


def _held(run_id: UUID) -> tuple[datetime, datetime]:
    """Return when the run's first task started and its last task ended: the time it held the slot's work."""
    tasks = _task_runs(run_id)
    assert tasks and all(t.start_time and t.end_time for t in tasks), [(t.name, t.state_name) for t in tasks]
    return min(t.start_time for t in tasks), max(t.end_time for t in tasks)  # type: ignore[type-var]


def test_one_compensation_per_incident_at_a_time(
    local_stack: Stack, sqlite_db: str, tmp_path: Path, start: Callable[[str, Path], subprocess.Popen[str]]
) -> None:
    ensure_prefect_server(local_stack)
    make_incident(KEY)
    make_incident(OTHER)
    big = orders_csv(tmp_path / "big.csv", [(f"O{i}", f"C{i}", "300") for i in range(40)])  # 12,000 元: approval
    small = orders_csv(tmp_path / "small.csv", [("P1", "D1", "100"), ("P2", "D2", "100")])
    with temporary_settings(updates={PREFECT_API_URL: local_stack.api_url}):
        first_child = start(KEY, big)
        first = wait_for(lambda: _run(KEY, "Paused"), "the first run pausing for approval")

        # the same incident again, and another incident, while the first holds the slot (paused)
        second_child = start(KEY, big)
        other_child = start(OTHER, small)
        other = _result(other_child)
        assert (other["status"], other["applied"]) == ("applied", 2), "another incident is not held up"
        second = wait_for(lambda: _run(KEY, known=frozenset({first.id})), "the second run starting")
        wait_for(lambda: _says_it_waits(second.id, KEY), "the second run saying it waits for the slot")
        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name(f"compensate-{KEY}")
            state = client.read_flow_run(second.id).state
        assert (limit.limit, limit.active_slots) == (1, 1)
        assert state is not None and state.name == "Running" and _task_runs(second.id) == [], \
            f"the second run waits for the slot, doing nothing (state {state and state.name})"
        assert second_child.poll() is None

        resume_flow_run(first.id, run_input={"approver": "王芳", "decision": "approve", "note": "同意"})
        paid, again = _result(first_child), _result(second_child)
        held = {name: _held(run_id) for name, run_id in
                (("first", first.id), ("second", second.id), ("other", _run(OTHER, "Completed").id))}
        with get_client(sync_client=True) as client:
            assert client.read_global_concurrency_limit_by_name(f"compensate-{KEY}").active_slots == 0

    assert (paid["status"], paid["applied"], paid["amount_fen"]) == ("applied", 40, 1_200_000)
    assert (again["status"], again["applied"]) == ("applied", 0)
    assert sum(again["skipped"].values()) == 40 and WRITTEN_ELSEWHERE not in again["skipped"], \
        "the second run planned after the first had written its ledger, not beside it"
    assert held["first"][1] <= held["second"][0], f"the runs of {KEY} overlapped: {held}"
    assert held["first"][0] < held["other"][0] and held["other"][1] < held["first"][1], \
        f"the other incident's run went through while the first waited: {held}"
