"""While a compensate run waits for its incident's slot, Prefect's ERROR for the wait's own 30 s timeout is
dropped, and nothing else its concurrency logger says (tasks/compensation/limits.py); the real wait is in
tests/faults/test_money.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Future
from uuid import uuid4

import pytest
from prefect.client.schemas.objects import ConcurrencyLeaseHolder

from tasks.compensation.limits import ACQUIRE_SERVICE, PREFECT_CONCURRENCY_LOGGER, SERVICE_FAILED, _quiet_timeouts

OURS = ConcurrencyLeaseHolder(type="flow_run", id=uuid4())
OTHER = ConcurrencyLeaseHolder(type="flow_run", id=uuid4())


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def kept() -> Iterator[Kept]:
    handler = Kept()
    PREFECT_CONCURRENCY_LOGGER.addHandler(handler)
    yield handler
    PREFECT_CONCURRENCY_LOGGER.removeHandler(handler)


def _service_fails(error: Exception, holder: ConcurrencyLeaseHolder, service: str = ACQUIRE_SERVICE,
                   traceback: bool = False) -> None:
    """Log as Prefect's queue service does when handling an item raised (the traceback only at DEBUG)."""
    item = (1, "concurrency", 30, None, 60, True, holder, Future())
    try:
        raise error
    except Exception:
        PREFECT_CONCURRENCY_LOGGER.error(SERVICE_FAILED, service, item, exc_info=traceback)


def test_only_the_holders_own_timeouts_are_dropped_while_it_waits(kept: Kept) -> None:
    timeout = TimeoutError("Scope timed out after 30 second(s).")
    cases = {
        "own timeout": lambda: _service_fails(timeout, OURS),
        "own timeout, traceback at DEBUG": lambda: _service_fails(timeout, OURS, traceback=True),
        "another run's timeout": lambda: _service_fails(timeout, OTHER),
        "own refusal": lambda: _service_fails(RuntimeError("the server refused"), OURS),
        "another service's timeout": lambda: _service_fails(timeout, OURS, service="ConcurrencySlotAcquisitionService"),
        "another error": lambda: PREFECT_CONCURRENCY_LOGGER.error("something else went wrong"),
    }
    shown = {}
    with _quiet_timeouts(OURS):
        for case, log in cases.items():
            before = len(kept.messages)
            log()
            shown[case] = len(kept.messages) > before
    assert shown == {"own timeout": False, "own timeout, traceback at DEBUG": False, "another run's timeout": True,
                     "own refusal": True, "another service's timeout": True, "another error": True}
    _service_fails(timeout, OURS)
    assert "failed to process item" in kept.messages[-1], "after the wait, the filter is gone"
