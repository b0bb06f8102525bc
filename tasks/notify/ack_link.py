"""Where an alert sends a responder to acknowledge (确认接手): straight to the incident's own acknowledge run in
the Prefect UI — `ack-<KEY>`, started by the same `crisis.incident.opened` trigger as the alert — else to the
runs list. Reads Prefect's API; writes nothing."""

from __future__ import annotations

import logging

import httpx
from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterName,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import MissingContextError
from prefect.settings import PREFECT_API_URL

from config.settings import read_environment

ACK_FLOW = "acknowledge"
# A run the trigger has just created is named when it starts; until then it is found by its parameter.
NOT_STARTED = [StateType.SCHEDULED, StateType.PENDING]


def ui_base() -> str:
    """Return the Prefect UI's address as people open it."""
    return (read_environment("PREFECT_UI_URL") or "http://127.0.0.1:4200").rstrip("/")


def ack_url(incident_key: str) -> str:
    """Return the link to the incident's acknowledge run (the one waiting for its form first, else the newest),
    or to the runs list when there is none yet or Prefect's API cannot say — which is logged, not shown."""
    run, why = _ack_run(incident_key)
    if run is None:
        _logger().info("%s：确认链接指向运行列表（%s）", incident_key, why)
        return f"{ui_base()}/runs"
    return f"{ui_base()}/runs/flow-run/{run.id}"


def _ack_run(incident_key: str) -> tuple[FlowRun | None, str]:
    if not PREFECT_API_URL.value():
        return None, "未配置 Prefect API"
    flow = FlowFilter(name=FlowFilterName(any_=[ACK_FLOW]))
    try:
        with get_client(sync_client=True) as client:
            named = client.read_flow_runs(
                flow_filter=flow, flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"ack-{incident_key}"])),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=20)
            fresh = [] if named else client.read_flow_runs(
                flow_filter=flow, sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=200,
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=NOT_STARTED))))
    except httpx.HTTPError as exc:
        return None, f"Prefect API 无应答：{type(exc).__name__}"
    runs = named or [r for r in fresh if r.parameters.get("incident_key") == incident_key]
    if not runs:
        return None, "该事件尚无确认运行"
    waiting = [r for r in runs if r.state is not None and r.state.is_paused()]
    return (waiting or runs)[0], ""


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("crisis.notify")
