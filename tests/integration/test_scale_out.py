"""Scale-out on PostgreSQL: a real `prefect server start` on its own PostgreSQL database, the app data on
another, two process workers polling the same pool and a real SMTP server. Many notify runs started at
once: both workers take their share, their runs overlap, every run is executed once and every message
of the outbox reaches the SMTP server exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from config.files import clear_caches
from tasks.db import reset_engine, upgrade_database
from tasks.notify.sink import MaildirHandler
from tasks.stack import Stack, ensure_prefect_server, ensure_worker
from tests.conftest import create_pg_database, drop_pg_database
from tests.helpers import free_port, read_mail, wait_for
from tests.integration.conftest import stop_test_stack
from tests.integration.server_support import deploy, deployments_of
from tests.notify_support import make_incident, matrix_emails, outbox

pytestmark = pytest.mark.integration

WORKERS = ("w1", "w2")
PER_WORKER = 3  # each worker's run limit, so that neither takes the whole queue in one poll
CATEGORIES = ("产品质量", "个人信息泄露", "售后服务", "物流配送", "价格/虚假宣传", "人身安全/食品安全")
SWEEPS = 2  # key-less notify runs: they race the keyed runs for the same incidents and the same outbox
SMTP_SECONDS = 0.5  # per message, like a real server under load: deliveries take long enough to overlap


class SlowHandler(MaildirHandler):
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(SMTP_SECONDS)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp_sink(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The real SMTP sink on a free loopback port, answering each message after SMTP_SECONDS (this module's
    stand-in for tests/conftest.py's sink, which answers at once); yield the folder it stores mail in."""
    port = free_port()
    folder = var_dir / "mail"
    controller = Controller(SlowHandler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CRISIS_EMAIL__PORT", str(port))
    clear_caches()
    yield folder
    controller.stop()


@pytest.fixture
def scaled_out(pg_server: str, local_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stack, sa.Engine]]:
    """Put the Prefect server and the app data on two throwaway PostgreSQL databases; yield the stack and an
    engine on the Prefect server's database. The stack stops before the databases are dropped."""
    prefect_url, prefect_name = create_pg_database(pg_server)
    app_url, app_name = create_pg_database(pg_server)
    server_url = sa.make_url(prefect_url).set(drivername="postgresql+asyncpg")
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", server_url.render_as_string(hide_password=False))
    monkeypatch.setenv("CRISIS_DATABASE_URL", app_url)
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "1")
    clear_caches()
    reset_engine()
    upgrade_database()
    prefect_db = sa.create_engine(prefect_url)
    try:
        yield local_stack, prefect_db
    finally:
        stop_test_stack(local_stack)
        prefect_db.dispose()
        reset_engine()
        drop_pg_database(pg_server, app_name)
        drop_pg_database(pg_server, prefect_name)


def _online_workers(pool: str) -> set[str]:
    with get_client(sync_client=True) as client:
        return {w.name for w in client.read_workers_for_work_pool(pool) if w.status == "ONLINE"}


def _runs(ids: list[UUID]) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))


def _all_final(ids: list[UUID]) -> list[FlowRun]:
    runs = _runs(ids)
    return runs if len(runs) == len(ids) and all(r.state and r.state.is_final() for r in runs) else []


def _overlap(a: FlowRun, b: FlowRun) -> timedelta:
    assert a.start_time and a.end_time and b.start_time and b.end_time
    return min(a.end_time, b.end_time) - max(a.start_time, b.start_time)


def _timeline(runs: list[FlowRun]) -> list[str]:
    return [f"{r.labels.get('prefect.worker.name')} {r.start_time:%H:%M:%S.%f}-{r.end_time:%H:%M:%S.%f}"
            for r in sorted(runs, key=lambda r: r.start_time or datetime.max.replace(tzinfo=UTC))]


def _entered(prefect_db: sa.Engine, state: str) -> Counter[str]:
    """Count, in the Prefect server's own PostgreSQL tables, how often each deployment run entered a state
    (by name: a worker's "Submitting" is a Pending type too)."""
    with prefect_db.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT r.id::text FROM flow_run r JOIN flow_run_state s ON s.flow_run_id = r.id "
            "WHERE r.deployment_id IS NOT NULL AND s.name = :name"), {"name": state})
        return Counter(row[0] for row in rows)


def test_two_workers_share_the_runs_and_nothing_is_done_twice(
    scaled_out: tuple[Stack, sa.Engine], smtp_sink: Path, var_dir: Path
) -> None:
    stack, prefect_db = scaled_out
    ensure_prefect_server(stack)
    spec = deployments_of("notify")  # without its schedule and triggers: the runs are exactly those started here
    for deployment in spec["deployments"]:
        deployment.pop("schedules", None)
        deployment.pop("triggers", None)
    deploy(stack, var_dir, spec)
    for name in WORKERS:
        ensure_worker(stack, name=name, limit=PER_WORKER)
    now = datetime.now(UTC)
    # level I reaches everyone at once (no quiet hours), so every message is due now
    keys = [make_incident(f"INC-20261127-{n:03d}", now, category=category, level="I")
            for n, category in enumerate(CATEGORIES, start=1)]

    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        wait_for(lambda: _online_workers(stack.settings.stack.work_pool) >= set(WORKERS), "both workers online")
        started = [run_deployment("notify/notify", parameters={"incident_key": key}, timeout=0) for key in keys]
        started += [run_deployment("notify/notify", parameters={}, timeout=0) for _ in range(SWEEPS)]
        ids = [run.id for run in started]
        runs = wait_for(lambda: _all_final(ids), "every notify run finished")

    not_completed = {r.name: r.state.message for r in runs if r.state and not r.state.is_completed()}
    assert not not_completed, f"runs not completed: {not_completed}; worker logs under {stack.var / 'log'}"
    by_worker: dict[str, list[FlowRun]] = {}
    for run in runs:
        by_worker.setdefault(run.labels.get("prefect.worker.name", "?"), []).append(run)
    assert set(by_worker) == set(WORKERS), {name: len(r) for name, r in by_worker.items()}
    first, second = (by_worker[name] for name in WORKERS)
    assert any(_overlap(a, b) > timedelta(0) for a in first for b in second), \
        f"no run of one worker overlapped a run of the other: {_timeline(runs)}"

    # the server keeps its runs in PostgreSQL: each was claimed by one worker and started once
    once = Counter({str(i): 1 for i in ids})
    for state in ("Pending", "Submitting", "Running", "Completed"):
        assert _entered(prefect_db, state) == once, state

    # the app data: one message per recipient and kind per incident, each sent once, on the first attempt
    rows = outbox()
    for key, category in zip(keys, CATEGORIES, strict=True):
        alerted = {r.recipient for r in outbox(key) if r.kind == "alert"}
        assert alerted == matrix_emails("I", category), key
    assert len({(r.incident_id, r.kind, r.recipient) for r in rows}) == len(rows)
    delivered = Counter(m["Message-ID"] for m in read_mail(smtp_sink))
    assert delivered == Counter(r.message_id for r in rows), "the SMTP server did not get each message exactly once"
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * len(rows), \
        [(r.dedup_key, r.status, r.attempts, r.last_error) for r in rows if (r.status, r.attempts) != ("sent", 1)]
