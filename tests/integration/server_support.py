"""Helpers of the tests on a real `prefect server start`: deploy a trimmed prefect.yaml, read the runs of a
flow (tests/helpers.py `wait_for` waits for them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
)
from prefect.client.schemas.objects import FlowRun

from config.settings import PROJECT_DIR
from tasks.stack import Stack
from tasks.stack import deploy as stack_deploy
from tests.helpers import wait_for

TRIGGER_WARM_UP = timedelta(seconds=15)  # a trigger is not acted on in the first seconds after its deployment


def deployments_of(*names: str) -> dict[str, Any]:
    """Return prefect.yaml with only the named deployments, for a test to adjust and deploy."""
    spec = yaml.safe_load((PROJECT_DIR / "prefect.yaml").read_text(encoding="utf-8"))
    spec["deployments"] = [d for d in spec["deployments"] if d["name"] in names]
    assert {d["name"] for d in spec["deployments"]} == set(names), f"not all of {names} in prefect.yaml"
    return spec


def deploy(stack: Stack, folder: Path, spec: dict[str, Any]) -> None:
    """Write `spec` to a prefect file under `folder` and apply it to the stack's process pool."""
    path = folder / "prefect-test.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    stack_deploy(stack, path)


def after_warm_up(deployed: datetime) -> None:
    """Return once TRIGGER_WARM_UP has passed since the triggers were deployed at `deployed`: an event sent
    earlier may go unheard. (The one fixed delay left: the server does not say when a trigger is armed.)"""
    wait_for(lambda: datetime.now(UTC) >= deployed + TRIGGER_WARM_UP, "the triggers' warm-up")


def flow_runs(flow: str) -> list[FlowRun]:
    """Return the runs of a flow expected to start by now (not the future runs of its schedules)."""
    due = FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime(
        before_=datetime.now(UTC) + timedelta(seconds=5)))
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])),
                                     flow_run_filter=due)


def runs_for(flow: str, key: str) -> list[FlowRun]:
    """Return the runs of a flow for one incident (its `incident_key` parameter)."""
    return [r for r in flow_runs(flow) if r.parameters.get("incident_key") == key]
