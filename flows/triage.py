"""Triage runbook (确定危机事件的性质和范围)."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from tasks.audit import flow_actor
from tasks.common import resolve_now
from tasks.triage.tasks import announce_incidents, change_dicts, publish_incident_board, update_incidents


@flow(name="triage-mentions", log_prints=True)
def triage_mentions(window_end: datetime | None = None) -> list[dict[str, object]]:
    """Grade the stored mentions into incidents.

    1) aggregate the window's mentions per brand, open incidents over the threshold and update or
    escalate active ones; 2) announce every unannounced change as an event; 3) refresh the board.
    """
    end = resolve_now(window_end)
    changes = update_incidents(end, flow_actor())
    announce_incidents()
    publish_incident_board()
    return change_dicts(changes)
