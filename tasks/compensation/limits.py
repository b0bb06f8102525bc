"""One compensation run per incident at a time: Prefect's global concurrency limit `compensate-<KEY>`.

Each incident that was ever compensated gets its own limit; the limits of closed incidents are deleted
at the next compensation run (when no run holds them), so they do not pile up on the server. A closed
incident may still be compensated, so another run's pruning can delete a limit between its creation and
the first slot taken: the run then creates it again and retries, instead of failing.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from uuid import UUID

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import ConcurrencyLeaseHolder, FlowRun, StateType
from prefect.concurrency.asyncio import (  # the sync concurrency() raises it too; only here is it public
    ConcurrencySlotAcquisitionError,
)
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.runtime import flow_run

from config.settings import get_settings
from tasks.common import show_time
from tasks.db import session_scope
from tasks.incidents.repository import closed_keys

PREFIX = "compensate-"
PAGE = 200
ACQUIRE_ATTEMPTS = 3  # each one after the limit was found deleted by another run's pruning
REPORT_EVERY_SECONDS = 30  # a waiting run says again who holds the slot this often
PREFECT_CONCURRENCY_LOGGER = logging.getLogger("prefect._internal.concurrency")
SERVICE_FAILED = "Service %r failed to process item %r"  # as prefect/_internal/concurrency/services.py logs it
ACQUIRE_SERVICE = "ConcurrencySlotAcquisitionWithLeaseService"


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
            closed = closed_keys(session, list(ours))
        deleted = []
        for key in sorted(closed):
            if ours[key] == 0:
                with suppress(ObjectNotFound):
                    client.delete_global_concurrency_limit_by_name(limit_name(key))
                deleted.append(limit_name(key))
    return deleted


def create_limit(name: str) -> None:
    """Create the one-slot global concurrency limit `name` unless it exists. Read first: the server answers
    an existing name with 409 but logs a whole IntegrityError traceback at ERROR, on every run after the first."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        with suppress(ObjectAlreadyExists):  # another run created it in between
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))


@contextmanager
def one_run_per_incident(incident_key: str) -> Iterator[None]:
    """Hold the one slot of the global concurrency limit `compensate-<KEY>`, waiting as long as it takes.

    The limit is created on first use, since Prefect lets a run through a limit that does not exist
    (and created again if another run's pruning deletes it before the slot is taken); a run killed
    while holding it frees it when its lease lapses (`compensation.slot_lease_seconds`, 5 minutes). While
    waiting, the run says every 30 s which run holds the slot and until when. First the limits of closed
    incidents that no run holds are deleted."""
    name = limit_name(incident_key)
    logger = get_run_logger()
    pruned = prune_closed_incident_limits()
    if pruned:
        logger.info("已删除已关闭事件的并发限制：%s", "、".join(pruned))
    holder = ConcurrencyLeaseHolder(type="flow_run", id=UUID(flow_run.id))
    with ExitStack() as held:
        for attempt in range(1, ACQUIRE_ATTEMPTS + 1):
            create_limit(name)
            try:
                _take_slot(held, incident_key, holder)
            except ConcurrencySlotAcquisitionError:
                if attempt == ACQUIRE_ATTEMPTS:
                    raise
                logger.warning("并发限制 %s 在取得槽位前被其他运行删除（第 %d 次，共 %d 次）：重新创建",
                               name, attempt, ACQUIRE_ATTEMPTS)
            else:
                break
        logger.info("已取得 %s 的槽位", name)
        yield


def _take_slot(held: ExitStack, incident_key: str, holder: ConcurrencyLeaseHolder) -> None:
    """Enter the incident's slot in `held`, saying who holds it while waiting."""
    name, lease = limit_name(incident_key), get_settings().compensation.slot_lease_seconds
    logger = get_run_logger()
    with _quiet_timeouts(holder):
        while True:
            logger.info("等待 %s 的槽位（同一事件同时只运行一个赔付）：%s", name,
                        describe_holder(incident_key, flow_run.id, lease, datetime.now(UTC)))
            try:
                held.enter_context(concurrency(name, holder=holder, strict=True, lease_duration=lease,
                                               timeout_seconds=REPORT_EVERY_SECONDS))
                return
            except TimeoutError:
                continue


class _OwnTimeouts(logging.Filter):
    """Drop Prefect's ERROR "Service 'ConcurrencySlotAcquisitionWithLeaseService' failed to process item" when
    the item is this holder's acquisition and it failed with the TimeoutError of our own `timeout_seconds`: the
    wait goes on and says so in Chinese, and an operator would read the ERROR as a failure. The service logs it
    in its except block, with the exception in exc_info only at DEBUG, else as the one being handled."""

    def __init__(self, holder: ConcurrencyLeaseHolder):
        super().__init__()
        self.holder = holder

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg != SERVICE_FAILED or len(args) != 2 or args[0] != ACQUIRE_SERVICE:
            return True
        error = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        return not (isinstance(error, TimeoutError) and isinstance(args[1], tuple) and self.holder in args[1])


@contextmanager
def _quiet_timeouts(holder: ConcurrencyLeaseHolder) -> Iterator[None]:
    """Filter out the holder's own acquisition timeouts from Prefect's concurrency logger while it waits.
    A timeout is logged after the waiting caller has seen it (and before the service takes the next attempt), so
    the filter stays for the whole wait, not around each attempt."""
    quiet = _OwnTimeouts(holder)
    PREFECT_CONCURRENCY_LOGGER.addFilter(quiet)
    try:
        yield
    finally:
        PREFECT_CONCURRENCY_LOGGER.removeFilter(quiet)


def describe_holder(incident_key: str, own_run_id: str, lease_seconds: int, now: datetime) -> str:
    """Say which other compensate run of the incident holds its slot and until when (in one line)."""
    with get_client(sync_client=True) as client:
        live = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["compensate"])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                any_=[StateType.RUNNING, StateType.PAUSED]))), limit=PAGE)
    runs = [r for r in live if r.parameters.get("incident_key") == incident_key and str(r.id) != own_run_id]
    if not runs:
        return "槽位空闲或持有者已结束，即将获取"
    run = min(runs, key=lambda r: r.start_time or now)
    latest = show_time(now + timedelta(seconds=lease_seconds))
    return (f"槽位由运行 {_who(run)} 持有，直到{_until(run)}；"
            f"若其进程已被终止，租约最迟于 {latest} 到期，之后本运行将其批次标记为「已中断」并继续")


def _who(run: FlowRun) -> str:
    started = show_time(run.start_time) if run.start_time else "—"
    return f"{run.name}（{run.parameters.get('requested_by', '—')} 于 {started} 发起）"


def _until(run: FlowRun) -> str:
    if run.state is not None and run.state.is_paused() and run.state.state_details.pause_timeout:
        return f"审批有结果或 {show_time(run.state.state_details.pause_timeout)} 审批超时"
    return "它结束"
