"""Acknowledgement runbook (确认接手) — the form responders fill in the Prefect UI."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from tasks.common import resolve_now
from tasks.notify.ack import Answer, record_acknowledgement, wait_for_acknowledgement


@flow(name="acknowledge", log_prints=True)
def acknowledge_incident(incident_key: str, by: str = "", note: str = "",
                         now: datetime | None = None) -> dict[str, object]:
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
