"""Flow tests run against one Prefect server for this package (tests/prefect_server.py), stopped after it so
no later tier sees its runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.events.clients import AssertingEventsClient
from prefect.events.worker import EventsWorker

from tests.prefect_server import prefect_server


@pytest.fixture(autouse=True, scope="package")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory, prefect_database: Path) -> Iterator[Path]:
    """Start the package's Prefect server and point every flow of the package at it; yield its log."""
    with prefect_server(tmp_path_factory.mktemp("prefect-server"), prefect_database) as log:
        yield log


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[EventsWorker]:
    """Capture the events the flows emit (AssertingEventsClient) instead of sending them."""
    worker = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    yield worker
    worker.drain()
