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
    """Return once the server acts on the triggers deployed at `deployed`: an event sent earlier may go unheard.

    The server does not say when a trigger is armed, so ask it: a probe automation created after the
    deployments' triggers fires on a probe event once the triggers service has loaded it (and with it
    every automation created before it); the probe event is sent again until the automation's
    `prefect.automation.triggered` event is stored. No fixed delay: a slow server only makes this wait."""
    from uuid import uuid4

    from prefect.events import emit_event
    from prefect.events.actions import DoNothing
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
    from prefect.events.worker import EventsWorker

    probe = f"crisis.probe.{uuid4().hex}"
    with get_client(sync_client=True) as client:
        automation = client.create_automation(AutomationCore(
            name=f"warm-up probe {probe}", actions=[DoNothing()],
            trigger=EventTrigger(match={"prefect.resource.id": probe}, expect={"crisis.probe"},
                                 posture=Posture.Reactive, threshold=1, within=timedelta(0))))
    wanted = {"filter": {"event": {"name": ["prefect.automation.triggered"]},
                         "resource": {"id": [f"prefect.automation.{automation}"]},
                         "occurred": {"since": (deployed - timedelta(minutes=1)).isoformat()}}}

    def fired() -> bool:
        emit_event(event="crisis.probe", resource={"prefect.resource.id": probe})
        EventsWorker.drain_all()
        with get_client(sync_client=True) as client:
            return bool(client.request("POST", "/events/filter", json=wanted).json()["events"])

    try:
        wait_for(fired, "the triggers' warm-up (a probe automation firing)", every=1.0)
    finally:
        with get_client(sync_client=True) as client:
            client.delete_automation(automation)


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
