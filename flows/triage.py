"""Triage runbook (确定危机事件的性质和范围)."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.forms import plain_parameters
from tasks.audit import flow_actor
from tasks.common import resolve_now
from tasks.triage.board import publish_briefs, publish_incident_board, publish_watch_board
from tasks.triage.rumour_tasks import flag_rumours
from tasks.triage.tasks import announce_incidents, change_dicts, update_incidents
from tasks.triage.warning_tasks import publish_competitor_board


@plain_parameters
@flow(name="triage-mentions", log_prints=True)
def triage_mentions(window_end: datetime | None = None,
                    source_health: list[dict[str, object]] | None = None) -> list[dict[str, object]]:
    """Grade the stored mentions into incidents.

    1) evaluate every brand x category against its baselines (spikes, critical terms, influencers),
    open incidents or update and escalate active ones, record each rule that fired and why, mark possible rumours;
    a competitor's crisis opens nothing of ours: it raises a competitor alert (同类风险预警), told once a day;
    2) announce every unannounced change as an event; 3) refresh the boards (incidents, 待核实 posts no rule
    opened an incident for, competitors) and the briefs.
    """
    end = resolve_now(window_end)
    changes = update_incidents(end, flow_actor())
    flag_rumours(end, flow_actor())
    announce_incidents()
    publish_incident_board(end, source_health)
    publish_watch_board(end, source_health)
    publish_competitor_board()
    publish_briefs(end)
    return change_dicts(changes)
