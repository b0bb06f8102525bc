"""Acknowledgement runbook (确认接手) — the form responders fill in the Prefect UI."""

from __future__ import annotations

from typing import Annotated

from prefect import flow

from flows.forms import IncidentKey, Now, ask
from tasks.common import resolve_now
from tasks.notify.ack import Answer, record_acknowledgement, wait_for_acknowledgement

Who = Annotated[str, ask("确认人", "接手此事件的负责人姓名。填写即直接确认；留空则运行挂起，等待有人点 Resume 填写",
                         max_length=128)]
Note = Annotated[str, ask("备注", "例如：公关接手，30 分钟内出口径", max_length=500)]


@flow(name="acknowledge", flow_run_name="ack-{incident_key}", log_prints=True)
def acknowledge_incident(incident_key: IncidentKey, by: Who = "", note: Note = "", now: Now = None) -> dict[str, object]:
    """Acknowledge an incident: someone owns it now, and escalation stops.

    1) with `by` filled in (this deployment's Run form, a script): take that answer at once;
       otherwise — as started by the `crisis.incident.opened` trigger — suspend this run (it holds
       no worker, and does not time out) until a responder clicks Resume and fills in who and a
       note; an incident someone already owns needs no form;
    2) record the acknowledgement: audited, and `crisis.incident.acknowledged` follows the opening
       event. If someone else was first (CLI, another form), nothing more is recorded.
    """
    answer = Answer(by, note) if by else wait_for_acknowledgement(incident_key)
    return record_acknowledgement(incident_key, answer.who, answer.note, resolve_now(now))
