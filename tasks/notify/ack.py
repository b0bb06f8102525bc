"""Acknowledgement in the Prefect UI (确认接手): the form a responder fills on a suspended run, and
the reconciliation that closes forms answered elsewhere (CLI, another form, the Run form)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prefect import get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.exceptions import NotPausedError, Pause
from prefect.flow_runs import resume_flow_run, suspend_flow_run
from prefect.input import RunInput
from pydantic import Field

from tasks.db import session_scope
from tasks.errors import NotFound
from tasks.incidents.repository import get_incident
from tasks.incidents.state import IncidentState
from tasks.notify.ack_link import ACK_FLOW
from tasks.notify.tasks import acknowledge
from tasks.notify.templates import ack_form_markdown
from tasks.pausing import paused_by_us, save_form
from tasks.triage.brief import reason_lines

ANSWERED_ELSEWHERE = "已在别处确认（CLI 或另一个表单），此表单自动关闭"


class AckInput(RunInput):
    """The form on a suspended acknowledge run: who takes the incident, and a note."""

    who: str = Field(min_length=1, max_length=128, pattern=r"\S", title="确认人",
                     description="接手此事件的负责人姓名")
    note: str = Field("", max_length=500, title="备注", description="例如：公关接手，30 分钟内出口径")


@dataclass(frozen=True)
class Answer:
    who: str
    note: str


def _owner(incident_key: str) -> tuple[str | None, dict[str, str]]:
    """Return who owns the incident (None while open) and what the form shows about it."""
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        owner = None if incident.state == IncidentState.OPEN else (incident.acknowledged_by or "—")
        facts = {"key": incident.key, "brand": incident.brand, "category": incident.category,
                 "level": incident.level, "reason": "；".join(reason_lines(incident.trigger_reason))}
    return owner, facts


def wait_for_acknowledgement(incident_key: str) -> Answer:
    """Suspend this flow run until a responder submits the form, and return the answer.

    The suspended run holds no worker and has no timeout; on Resume the worker runs the flow again
    from the top and this call returns the submitted form. An incident someone already owns is
    answered at once with its owner (nothing is suspended). Called from a flow, not a task.
    """
    owner, facts = _owner(incident_key)
    if owner is not None:
        return Answer(owner, ANSWERED_ELSEWHERE)
    form = AckInput.with_initial_data(description=ack_form_markdown(**facts))  # initial values would lose the labels
    key = f"ack-{incident_key.lower()}"
    try:
        answer = suspend_flow_run(wait_for_input=form, key=key)
    except Pause as exc:  # also how a suspension exits normally (no reason; its form is saved already)
        if paused_by_us(exc, key):
            save_form(exc, form)
        raise
    return Answer(answer.who.strip(), answer.note.strip())


@task(task_run_name="acknowledge-{incident_key}")
def record_acknowledgement(incident_key: str, who: str, note: str, now: datetime) -> dict[str, object]:
    """Acknowledge the incident for `who` (audited; emits crisis.incident.acknowledged following the
    opening event) unless someone already owns it.

    Safe to re-run: a second acknowledgement records nothing and names the owner.
    """
    recorded = acknowledge(incident_key, who, note, now, via="prefect-ui", if_open=True)
    owner, _ = _owner(incident_key)
    get_run_logger().info("%s %s由 %s 确认", incident_key, "已" if recorded else "此前已", owner)
    return {"incident_key": incident_key, "acknowledged_by": owner, "recorded": recorded}


@task
def close_answered_forms() -> list[str]:
    """Resume every acknowledgement form still waiting for an incident someone already owns, filling
    in the owner, so no form waits forever. Side effect: those runs finish (recording nothing).

    Safe to re-run: a form resumed meanwhile is skipped.
    """
    closed: list[str] = []
    with get_client(sync_client=True) as client:
        waiting = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[ACK_FLOW])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))),
        )
    for run in waiting:
        key = str(run.parameters.get("incident_key", ""))
        owner = _owner_or_none(key)
        if owner is None:
            continue
        try:
            resume_flow_run(run.id, run_input={"who": owner, "note": ANSWERED_ELSEWHERE})
        except NotPausedError:
            continue  # resumed meanwhile
        except RuntimeError as exc:  # the server refused, e.g. the form is still being saved: next sweep
            get_run_logger().info("%s 的确认表单（运行 %s）暂未关闭，下次巡检再试：%s", key, run.name, exc)
            continue
        closed.append(key)
    if closed:
        get_run_logger().info("已有人确认，已关闭其确认表单：%s", "、".join(closed))
    return closed


def _owner_or_none(incident_key: str) -> str | None:
    try:
        return _owner(incident_key)[0]
    except NotFound:
        return None
