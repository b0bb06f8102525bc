"""The "definitions load" test: every prefect.yaml entrypoint loads, every trigger validates."""

from __future__ import annotations

import inspect
import re
import tomllib
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
    assert {"scan", "notify", "compensate", "after-action", "review", "reputation", "reputation-weekly"} <= set(DEPLOYMENTS)


@pytest.mark.parametrize(("name", "first_run"), [("reputation", "2026-11-28 00:30"),
                                                 ("reputation-weekly", "2026-11-30 09:00")])
def test_reputation_runs_nightly_and_the_report_on_monday_morning(name: str, first_run: str) -> None:
    """The cron schedules validate, in Beijing time: yesterday's indicators at 00:30, the report Monday 09:00."""
    import asyncio
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from prefect.server.schemas.schedules import CronSchedule

    (spec,) = DEPLOYMENTS[name]["schedules"]
    schedule = CronSchedule(cron=spec["cron"], timezone=spec["timezone"])
    after = datetime(2026, 11, 27, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Friday noon
    (next_run,) = asyncio.run(schedule.get_dates(n=1, start=after))
    assert next_run.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M") == first_run


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


CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_every_run_form_field_has_a_chinese_label_and_help(name: str) -> None:
    """The deployment's Run form (built from this schema) labels each field in Chinese, with help text; an
    optional field is a text box or a dropdown, never Prefect's `str | None` switch."""
    flow = load_flow_from_entrypoint(str(ROOT / DEPLOYMENTS[name]["entrypoint"]))
    fields = flow.parameters.model_dump_for_openapi()["properties"]
    unlabelled = [f for f, spec in fields.items() if not (CJK.search(spec.get("title", ""))
                                                        and CJK.search(spec.get("description") or ""))]
    assert unlabelled == []
    assert [f for f, spec in fields.items() if "anyOf" in spec] == []


def test_the_compensate_form_lists_the_configured_choices_and_asks_who_requests() -> None:
    schema = load_flow_from_entrypoint(str(ROOT / DEPLOYMENTS["compensate"]["entrypoint"])).parameters
    fields = schema.model_dump_for_openapi()["properties"]
    shipped = tomllib.loads((ROOT / "config" / "compensation.toml").read_text(encoding="utf-8"))
    assert fields["policy"]["enum"] == list(shipped["policies"])
    assert fields["orders_query"]["enum"] == [*shipped["queries"], None]
    assert fields["orders_format"]["enum"] == ["auto", "generic", "taobao", "tmall", "jd"]
    assert {"incident_key", "requested_by"} <= set(schema.required) and "default" not in fields["requested_by"]
    drill = load_flow_from_entrypoint(str(ROOT / DEPLOYMENTS["drill"]["entrypoint"])).parameters
    scenarios = tomllib.loads((ROOT / "config" / "drills.toml").read_text(encoding="utf-8"))["scenarios"]
    assert drill.model_dump_for_openapi()["properties"]["scenario"]["enum"] == list(scenarios)
