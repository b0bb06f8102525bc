"""prefect.yaml's notification triggers agree with the settings and the flows they start."""

from __future__ import annotations

import inspect
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from prefect.events.schemas.automations import Posture
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
from prefect.flows import load_flow_from_entrypoint

from tasks.events import INCIDENT_ACKNOWLEDGED, INCIDENT_ESCALATED, INCIDENT_OPENED

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]}
SHIPPED = tomllib.loads((ROOT / "config" / "settings.toml").read_text(encoding="utf-8"))
MARGIN = timedelta(seconds=60)


def _triggers(name: str) -> list[DeploymentEventTrigger]:
    return [DeploymentEventTrigger(**{k: v for k, v in spec.items() if k != "type"})
            for spec in DEPLOYMENTS[name]["triggers"]]


def test_notify_runs_when_an_incident_opens_or_escalates_and_on_a_sweep_schedule() -> None:
    reactive = [t for t in _triggers("notify") if t.posture == Posture.Reactive]
    assert len(reactive) == 1 and reactive[0].expect == {INCIDENT_OPENED, INCIDENT_ESCALATED}
    assert [s["interval"] for s in DEPLOYMENTS["notify"]["schedules"]] == [300]


@pytest.mark.parametrize("level", ["I", "II", "III", "IV"])
def test_each_level_has_a_proactive_trigger_one_minute_past_its_acknowledgement_time(level: str) -> None:
    minutes = SHIPPED["notify"]["ack_minutes"][level]
    (trigger,) = [t for t in _triggers("notify")
                  if t.posture == Posture.Proactive and t.match.root.get("crisis.incident.level") == level]
    assert trigger.after == {INCIDENT_OPENED} and trigger.expect == {INCIDENT_ACKNOWLEDGED}
    assert trigger.for_each == {"prefect.resource.id"} and trigger.threshold == 1
    assert trigger.within == timedelta(minutes=minutes) + MARGIN


def test_the_acknowledge_form_is_started_for_every_opened_incident() -> None:
    (trigger,) = _triggers("acknowledge")
    assert trigger.posture == Posture.Reactive and trigger.expect == {INCIDENT_OPENED}
    assert "schedules" not in DEPLOYMENTS["acknowledge"], "a form per incident, never on a schedule"
    flow = load_flow_from_entrypoint(str(ROOT / DEPLOYMENTS["acknowledge"]["entrypoint"]))
    parameters = inspect.signature(flow.fn).parameters
    assert list(parameters) == ["incident_key", "by", "note", "now"]
    assert parameters["by"].default == "" and flow.name == "acknowledge"
