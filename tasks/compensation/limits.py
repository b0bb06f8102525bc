"""One compensation run per incident at a time: Prefect's global concurrency limit `compensate-<KEY>`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from uuid import UUID

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists
from prefect.runtime import flow_run


@contextmanager
def one_run_per_incident(incident_key: str) -> Iterator[None]:
    """Hold the one slot of the global concurrency limit `compensate-<KEY>`, waiting as long as it takes.

    The limit is created on first use, since Prefect lets a run through a limit that does not exist; a
    run killed while holding it frees it when its lease lapses (5 minutes)."""
    name = f"compensate-{incident_key}"
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    get_run_logger().info("waiting for %s: one compensation per incident at a time", name)
    with concurrency(name, holder=ConcurrencyLeaseHolder(type="flow_run", id=UUID(flow_run.id)), strict=True):
        get_run_logger().info("holding %s", name)
        yield
