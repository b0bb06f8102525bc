"""The "definitions load" test: every prefect.yaml entrypoint loads, every trigger validates."""

from __future__ import annotations

import inspect
from pathlib import Path

import jinja2
import pytest
import yaml
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
from prefect.flows import load_flow_from_entrypoint

from tasks.events import ALL_EVENTS

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
DEPLOYMENTS = {d["name"]: d for d in SPEC["deployments"]}


def test_every_lifecycle_stage_is_deployed() -> None:
    assert {"scan", "notify", "compensate", "after-action", "review"} <= set(DEPLOYMENTS)


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_entrypoint_loads_and_parameters_are_typed(name: str) -> None:
    deployment = DEPLOYMENTS[name]
    flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
    signature = inspect.signature(flow.fn)
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
    assert flow.fn.__doc__, "a flow says its runbook steps"
    assert deployment["work_pool"]["name"] == "crisis"
    for schedule in deployment.get("schedules", []):
        assert schedule["timezone"] == "Asia/Shanghai"


@pytest.mark.parametrize("name", sorted(n for n, d in DEPLOYMENTS.items() if d.get("triggers")))
def test_triggers_validate_and_fill_the_flow_parameters(name: str) -> None:
    deployment = DEPLOYMENTS[name]
    flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
    accepted = set(inspect.signature(flow.fn).parameters)
    for spec in deployment["triggers"]:
        trigger = DeploymentEventTrigger(**{k: v for k, v in spec.items() if k != "type"})
        assert set(trigger.expect) <= set(ALL_EVENTS)
        assert trigger.for_each == {"prefect.resource.id"}
        assert set(spec["parameters"]) <= accepted
        rendered = jinja2.Template(spec["parameters"]["incident_key"]).render(
            event={"resource": {"id": "crisis.incident.INC-20261127-001"}})
        assert rendered == "INC-20261127-001"
