"""Flow tests run under prefect_test_harness (a temporary Prefect server, started once for this package and
stopped after it, so no later tier sees its runs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.events.clients import AssertingEventsClient
from prefect.events.worker import EventsWorker
from prefect.testing.utilities import prefect_test_harness

from tests.helpers import PATIENCE_SECONDS


@pytest.fixture(autouse=True, scope="package")
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=PATIENCE_SECONDS):
        yield


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[EventsWorker]:
    """Capture the events the flows emit (AssertingEventsClient) instead of sending them."""
    worker = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    yield worker
    worker.drain()
