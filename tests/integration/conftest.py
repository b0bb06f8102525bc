"""Integration fixtures: a real `prefect server start` on loopback with its own home and port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.files import clear_caches
from config.settings import get_settings
from tasks.stack import Stack, prefect_is_up, stop_stack
from tests.helpers import free_port
from tests.prefect_server import seed_prefect_home


@pytest.fixture
def local_stack(var_dir: Path, smtp_sink: Path, prefect_database: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A Stack on free loopback ports, its Prefect server to start from a migrated database; whatever it
    starts is stopped afterwards."""
    seed_prefect_home(var_dir / "prefect", prefect_database)
    monkeypatch.setenv("PREFECT_HOME", str(var_dir / "prefect"))
    monkeypatch.setenv("CRISIS_STACK__PREFECT_PORT", str(free_port()))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    clear_caches()
    stack = Stack(get_settings())
    yield stack
    stop_test_stack(stack)


DRAIN_SECONDS = 60  # what one live server takes in seconds; a stale queue for a dead one is left behind


def stop_test_stack(stack: Stack) -> None:
    """Send what this process still holds for the stack's server (events, logs), then stop the stack. Events
    queued for a server that has stopped held the next drain (the flow tests' server's, at the end of the
    package) for 344 s in one run, the client retrying a dead address."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    if prefect_is_up(stack.api_url):
        APILogWorker.drain_all(timeout=DRAIN_SECONDS)
        EventsWorker.drain_all(timeout=DRAIN_SECONDS)
    stop_stack(stack)


@pytest.fixture(scope="session")
def chromium_present() -> None:
    """The operators' view is tested in Debian's Chromium: on CI its absence fails, locally it skips."""
    import os
    import shutil

    if shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required on CI (.ci/run installs it)")
        pytest.skip("chromium not installed (apt-get install chromium fonts-wqy-zenhei)")
