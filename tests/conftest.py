"""Shared fixtures: a fresh app database per test, on SQLite and (where asked) PostgreSQL."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

# `make test` runs the suite on several pytest-xdist workers: each gets a Prefect home of its own (set before
# Prefect is imported, which reads it once), so the temporary servers of two workers never share a database.
# A worker also finds COLUMNS=80 in its environment, which the CLI's console would keep for good when imported:
# the tests that set a width (CliRunner env) must be heard, as in a run without workers.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    _home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect")) / os.environ["PYTEST_XDIST_WORKER"]
    _home.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(_home)

# Every process of this run (the pytest-xdist workers, the servers and flow runs they start) inherits this mark, so
# the run can find what it left behind (pytest_unconfigure). Not CRISIS_…: the settings refuse unknown ones.
os.environ.setdefault("PYTEST_CRISIS_RUN", uuid.uuid4().hex)

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from config.files import clear_caches
from tasks.db import reset_engine, upgrade_database

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_server() -> str:
    """Return the admin URL of the PostgreSQL server; on CI its absence fails the test."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required on CI and does not answer at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not running (on CI this fails)")
    return PG_ADMIN_URL


def create_pg_database(admin_url: str) -> tuple[str, str]:
    """Create a throwaway database; return (its URL, its name)."""
    name = f"crisis_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}", name


def drop_pg_database(admin_url: str, name: str) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at a temporary var/ and forget cached settings."""
    monkeypatch.setenv("CRISIS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CRISIS_ENV", "test")
    monkeypatch.delenv("CRISIS_DATABASE_URL", raising=False)
    clear_caches()
    reset_engine()
    yield tmp_path / "var"
    reset_engine()
    clear_caches()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated, empty app database: the same test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        upgrade_database()
        yield "sqlite"
        return
    admin = request.getfixturevalue("pg_server")
    url, name = create_pg_database(admin)
    monkeypatch.setenv("CRISIS_DATABASE_URL", url)
    clear_caches()
    reset_engine()
    upgrade_database()
    yield "postgresql"
    reset_engine()
    drop_pg_database(admin, name)


@pytest.fixture
def sqlite_db(var_dir: Path) -> str:
    """A migrated, empty SQLite app database (for tests that do not depend on the engine)."""
    upgrade_database()
    return "sqlite"


@pytest.fixture
def smtp_sink(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real SMTP server (aiosmtpd) on a free loopback port; yields the folder it stores mail in."""
    from tasks.notify.sink import start_sink
    from tests.helpers import free_port

    port = free_port()
    folder = var_dir / "mail"
    controller = start_sink(folder, "127.0.0.1", port)
    monkeypatch.setenv("CRISIS_EMAIL__PORT", str(port))
    clear_caches()
    yield folder
    controller.stop()


@pytest.fixture(scope="session")
def prefect_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated Prefect database for the tests' servers to start from (tests/prefect_server.py), one per
    run: in the folder the pytest-xdist workers of this run share, or this run's own without workers."""
    from tests.prefect_server import prefect_database_template

    base = tmp_path_factory.getbasetemp()
    return prefect_database_template(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)


@pytest.fixture(autouse=True, scope="session")
def _stop_prefects_temporary_server() -> Iterator[None]:
    """Stop the temporary server Prefect starts for a CLI command run in process without PREFECT_API_URL
    (`crisis ack` looking for the paused run) when this process's tests end. Prefect stops it at exit, but a
    pytest-xdist worker whose exit takes over 15 s (a loaded machine, queues drained at exit) is ended with
    os._exit by execnet, and the server ran on with no parent: twice under load, never on a quiet machine."""
    yield
    server_module = sys.modules.get("prefect.server.api.server")
    if server_module is not None:
        for server in list(server_module.SubprocessASGIServer._instances.values()):
            server.stop()


def _left_behind(run: str) -> list[int]:
    """Return the pids of Prefect temporary servers this run started that are still running (Linux /proc)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"PYTEST_CRISIS_RUN={run}".encode() in environ and b"PREFECT__SERVER_EPHEMERAL=1" in environ:
            found.append(int(entry.name))
    return found


def pytest_unconfigure(config: pytest.Config) -> None:
    """At the end of the whole run (the controller, after every worker), stop any temporary Prefect server a worker
    left running: _stop_prefects_temporary_server cannot run in a worker that execnet ended with os._exit, and
    one such server ran on for 40 minutes after a `make test-fast` on a loaded machine (2026-12-06)."""
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller sweeps once all are done
        return
    import signal

    for pid in _left_behind(os.environ["PYTEST_CRISIS_RUN"]):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


@pytest.fixture(autouse=True)
def _fresh_concurrency_services() -> Iterator[None]:
    """Stop Prefect's concurrency-slot services after each test. Prefect keeps one per set of limit names
    per process, bound to the API URL it started with: a later test against another server (the CLI's
    temporary one, another harness) would ask the old server for `compensate-<KEY>` and be told the limit
    does not exist. One process talks to one server in production; tests switch servers."""
    yield
    from prefect._internal.concurrency.services import _QueueServiceBase
    from prefect.concurrency.services import (
        ConcurrencySlotAcquisitionService,
        ConcurrencySlotAcquisitionWithLeaseService,
    )

    kinds = (ConcurrencySlotAcquisitionService, ConcurrencySlotAcquisitionWithLeaseService)
    with _QueueServiceBase._instance_lock:
        stale = [s for s in _QueueServiceBase._instances.values() if isinstance(s, kinds)]
    for service in stale:
        service.drain()


# `make test` hands whole files to its pytest-xdist workers in collection order. The longest files go first
# (seconds each on this 2-core machine, `--durations`), then the tiers from slow to fast, so that no
# two-minute file starts last and keeps the run waiting on one worker. Only an order: a file missing here
# or renamed runs all the same.
LONGEST_FILES = (
    "integration/test_notify_server.py",  # ~170 s
    "integration/test_demo.py",  # ~155 s
    "faults/test_money.py",  # ~150 s
    "integration/test_drill_server.py",  # ~80 s
    "tasks/test_replay.py",  # ~65 s
    "flows/test_lifecycle.py",  # ~60 s
    "integration/test_ui_forms.py",  # ~60 s
    "integration/test_compensation_approval.py",  # ~55 s
    "integration/test_scale_out.py",  # ~55 s
    "integration/test_trigger_sweep.py",  # ~55 s
)
TIERS = ("integration", "faults", "flows", "tasks", "unit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> tuple[int, int]:
        relative = Path(str(item.path)).relative_to(Path(__file__).parent).as_posix()
        tier = relative.split("/", 1)[0]
        first = LONGEST_FILES.index(relative) if relative in LONGEST_FILES else len(LONGEST_FILES)
        return first, TIERS.index(tier) if tier in TIERS else len(TIERS)

    items.sort(key=rank)
