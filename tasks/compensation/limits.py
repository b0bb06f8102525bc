"""One compensation run per incident at a time: Prefect's global concurrency limit `compensate-<KEY>`.

Each incident that was ever compensated gets its own limit; the limits of closed incidents are deleted
at the next compensation run (when no run holds them), so they do not pile up on the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from uuid import UUID

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.runtime import flow_run
from sqlalchemy import select

from tasks.db import session_scope
from tasks.models import Incident
from tasks.triage.lifecycle import IncidentState

PREFIX = "compensate-"
PAGE = 200


def limit_name(incident_key: str) -> str:
    return PREFIX + incident_key


def prune_closed_incident_limits() -> list[str]:
    """Delete the `compensate-<KEY>` limits of closed incidents that no run holds; return their names."""
    with get_client(sync_client=True) as client:
        ours: dict[str, int] = {}
        offset = 0
        while page := client.read_global_concurrency_limits(limit=PAGE, offset=offset):
            ours.update({c.name[len(PREFIX):]: c.active_slots for c in page if c.name.startswith(PREFIX)})
            offset += len(page)
        if not ours:
            return []
        with session_scope() as session:
            closed = session.scalars(select(Incident.key).where(
                Incident.key.in_(ours), Incident.state == IncidentState.CLOSED.value)).all()
        deleted = []
        for key in sorted(closed):
            if ours[key] == 0:
                with suppress(ObjectNotFound):
                    client.delete_global_concurrency_limit_by_name(limit_name(key))
                deleted.append(limit_name(key))
    return deleted


@contextmanager
def one_run_per_incident(incident_key: str) -> Iterator[None]:
    """Hold the one slot of the global concurrency limit `compensate-<KEY>`, waiting as long as it takes.

    The limit is created on first use, since Prefect lets a run through a limit that does not exist; a
    run killed while holding it frees it when its lease lapses (5 minutes). First the limits of closed
    incidents that no run holds are deleted."""
    name = limit_name(incident_key)
    pruned = prune_closed_incident_limits()
    if pruned:
        get_run_logger().info("deleted the limits of closed incidents: %s", ", ".join(pruned))
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    get_run_logger().info("waiting for %s: one compensation per incident at a time", name)
    with concurrency(name, holder=ConcurrencyLeaseHolder(type="flow_run", id=UUID(flow_run.id)), strict=True):
        get_run_logger().info("holding %s", name)
        yield
