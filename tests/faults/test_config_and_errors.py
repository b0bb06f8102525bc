"""Faults of configuration and errors: a bad roster or template found at start and never blocking other
mail, one-line errors, the stack's children without our secrets, mail whose delivery is uncertain, and
text people typed made inert on the terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.events.worker import EventsWorker
from prefect.logging import disable_run_logger
from prefect.settings import PREFECT_API_URL
from typer.testing import CliRunner

from cli.app import app
from config.files import clear_caches, load_roster
from config.settings import get_settings
from flows.notify import notify
from tasks.db import session_scope
from tasks.incidents.repository import get_incident
from tasks.notify.delivery import DeliveryStatus
from tasks.notify.sink import MaildirHandler, SinkRefused, start_sink
from tasks.notify.tasks import DeliveryDeferred, deliver_outbox, publish_mail_report, queue_alerts
from tasks.stack import Stack, StackError, ensure_smtp_sink, start_stack
from tests.flows.conftest import events, prefect_harness  # noqa: F401 - Prefect for the flows and the CLI
from tests.helpers import free_port, read_mail
from tests.notify_support import emails_of, make_incident, outbox

ROOT = Path(__file__).resolve().parents[2]
CRISIS = str(Path(sys.executable).parent / "crisis")
DAY = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
HOSTILE_NAME = "\x1b]8;;http://evil\x07x\x1b]8;;\x07[red]x[/red]\x1b[2J"


@pytest.fixture
def config_copy(var_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A writable copy of config/ that the app reads (CRISIS_CONFIG_DIR)."""
    copy = tmp_path / "config"
    shutil.copytree(ROOT / "config", copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    monkeypatch.setenv("CRISIS_CONFIG_DIR", str(copy))
    clear_caches()
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_an_invalid_roster_address_is_named_by_config_check_and_refused_by_up(config_copy: Path) -> None:
    _edit(config_copy / "roster.toml", 'email = "liu.yang@shop.example"', 'email = "liu.yang@shop"')
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 1
    (line,) = _lines(result.output)
    assert "roster.toml people.3.email" in line and "liu.yang@shop" in line
    assert [field for field, _ in load_roster().address_problems()] == ["people.3.email"]
    with pytest.raises(StackError, match=r"roster\.toml people\.3\.email"):
        start_stack(Stack(get_settings()))  # refused before any process starts


@pytest.mark.parametrize(("template", "old", "new", "named"), [
    ("alert.txt.j2", "应急处置步骤：", "应急处置步骤：{{ incident_owner }}", "alert.txt.j2 变量 incident_owner"),
    ("apology.html.j2", "{%", "{% if %}{%", "apology.html.j2 第 "),
])
def test_a_broken_template_is_named_by_config_check(config_copy: Path, template: str, old: str, new: str,
                                                     named: str) -> None:
    _edit(config_copy / "templates" / template, old, new)
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 1
    (line,) = _lines(result.output)
    assert named in line


def test_config_check_passes_the_shipped_configuration(var_dir: Path) -> None:
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 0 and "配置检查通过" in result.output


def test_a_bad_address_and_a_broken_draft_template_do_not_block_other_alerts(
        config_copy: Path, sqlite_db: str, smtp_sink: Path) -> None:
    _edit(config_copy / "roster.toml", 'email = "liu.yang@shop.example"', 'email = "liu.yang@shop"')
    _edit(config_copy / "templates" / "apology.txt.j2", "{%", "{{ no_such_variable }}{%")
    first = make_incident("INC-20261127-001", DAY, level="II")
    second = make_incident("INC-20261127-002", DAY, level="III", category="物流")
    state = notify(now=DAY, return_state=True)
    assert state.is_failed(), "a message that cannot go is reported: the run ends Failed"
    assert "liu.yang@shop" in str(state.message) and "apology" in str(state.message)
    for key in (first, second):
        alerts = [n for n in outbox(key) if n.kind == "alert"]
        assert {n.status for n in alerts if n.recipient != "liu.yang@shop"} == {"sent"}
        (bad,) = [n for n in alerts if n.recipient == "liu.yang@shop"]
        assert bad.status == "failed" and "刘洋" in (bad.last_error or "")
        assert {n.status for n in outbox(key) if n.kind == "apology"} == {"failed"}
        assert {n.status for n in outbox(key) if n.kind == "announcement"} == {"sent"}
    assert emails_of("张伟", "李娜") <= {m["X-Envelope-To"] for m in read_mail(smtp_sink)}


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `crisis` as an operator does, against the test's Prefect server; return what it printed."""
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "COLUMNS": "200"}
    return subprocess.run([CRISIS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def test_compensate_with_a_bad_orders_file_prints_one_line(sqlite_db: str, tmp_path: Path) -> None:
    key = make_incident("INC-20261127-001", DAY)
    with session_scope() as session:
        owned = get_incident(session, key)
        owned.state, owned.acknowledged_by, owned.acknowledged_at = "acknowledged", "李娜", DAY
    orders = tmp_path / "orders.csv"
    orders.write_text("名字,电话\n张三,123\n", encoding="utf-8")
    result = _run_cli("compensate", key, "--orders", str(orders), "--policy", "coupon-20", cwd=tmp_path)
    assert result.returncode == 1
    assert len(_lines(result.stdout + result.stderr)) == 1, result.stdout + result.stderr
    assert "orders.csv" in result.stderr and "Traceback" not in result.stderr


def test_scan_with_a_bad_file_prints_one_line_and_keeps_the_traceback_in_the_log(
        sqlite_db: str, var_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "mentions.txt"
    bad.write_text("not a mention file", encoding="utf-8")
    result = _run_cli("scan", "--file", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    (line,) = _lines(result.stdout + result.stderr)
    assert "mentions.txt" in line
    assert "Traceback" in (var_dir / "log" / "cli.log").read_text(encoding="utf-8")
    debug = _run_cli("--debug", "scan", "--file", str(bad), cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


@pytest.fixture
def read_only_database(sqlite_db: str, var_dir: Path) -> Iterator[Path]:
    """The app's SQLite file made read-only (immutable for root, who writes through file modes)."""
    path = var_dir / "crisis.db"
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], check=False).returncode:
            pytest.skip("cannot make a file read-only for root here (no chattr +i)")
    else:
        path.chmod(0o444)
    yield path
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=False)
    path.chmod(0o644)


def test_a_read_only_database_prints_one_line(read_only_database: Path, tmp_path: Path) -> None:
    mentions = tmp_path / "mentions.jsonl"
    mentions.write_text('{"id": "p1", "text": "澄星空气炸锅用了两天就坏了", "author": "a", '
                        '"published_at": "2026-11-27T10:00:00+08:00", "platform": "微博", "reach": 100}\n',
                        encoding="utf-8")
    result = _run_cli("scan", "--file", str(mentions), "--now", "2026-11-27T10:30", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = _lines(result.stdout + result.stderr)
    assert "readonly" in line and str(read_only_database) in line


def test_the_stack_children_never_see_our_smtp_password(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRISIS_EMAIL__PASSWORD", "hunter2-smtp")
    monkeypatch.setenv("PLATFORM_API_TOKEN", "tok-123")
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", "admin:server-own")
    clear_caches()
    stack = Stack(get_settings())
    server, sink = stack.server_env(), stack.sink_env()
    for env in (server, sink):
        assert "hunter2-smtp" not in env.values() and "tok-123" not in env.values()
        assert not [name for name in env if name.startswith("CRISIS_")]
        assert env["PATH"]
    assert server["PREFECT_SERVER_API_AUTH_STRING"] == "admin:server-own", "the server's own setting"
    assert "PREFECT_SERVER_API_AUTH_STRING" not in sink
    assert stack.env()["CRISIS_EMAIL__PASSWORD"] == "hunter2-smtp", "the worker runs the flows: it needs it"


def test_the_smtp_sink_refuses_a_host_beyond_loopback(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SinkRefused):
        start_sink(var_dir / "mail", "0.0.0.0", free_port())
    monkeypatch.setenv("CRISIS_EMAIL__HOST", "192.0.2.10")
    monkeypatch.setenv("CRISIS_EMAIL__PORT", str(free_port()))
    clear_caches()
    with pytest.raises(StackError, match="192.0.2.10"):
        ensure_smtp_sink(Stack(get_settings()))
    assert not (var_dir / "run" / "smtp-sink.pid").exists()


def test_down_with_a_process_restarted_by_hand_says_so_in_one_line(var_dir: Path) -> None:
    # A process in our own process group: not the group leader `crisis up` made, as after a restart by hand.
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])  # killed below
    try:
        (var_dir / "run").mkdir(parents=True)
        (var_dir / "run" / "smtp-sink.pid").write_text(str(stranger.pid))
        result = CliRunner().invoke(app, ["down"])
        assert result.exit_code == 0, result.output
        (line,) = _lines(result.output)
        assert "smtp-sink" in line and str(stranger.pid) in line
        assert not (var_dir / "run" / "smtp-sink.pid").exists()
        assert stranger.poll() is None, "a process we did not start is left alone"
    finally:
        stranger.kill()
        stranger.wait()


class DropAfterData(MaildirHandler):
    """Take the whole message, then drop the connection before answering (as a crashing server does)."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await super().handle_DATA(server, session, envelope)
        assert server.transport is not None
        server.transport.abort()
        return "250 never heard"


def test_mail_dropped_after_data_is_uncertain_and_keeps_one_message_id(
        sqlite_db: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    controller = Controller(DropAfterData(var_dir / "mail"), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CRISIS_EMAIL__PORT", str(port))
    clear_caches()
    try:
        with disable_run_logger():
            key = make_incident("INC-20261127-009", DAY, level="IV", category="物流")
            queue_alerts.fn(key, DAY, "test")
            (alert,) = outbox(key)
            for minutes in (0, 5, 10):
                with pytest.raises(DeliveryDeferred):
                    deliver_outbox.fn(DAY + timedelta(minutes=minutes))
                assert outbox(key)[0].status == DeliveryStatus.UNCERTAIN
            assert deliver_outbox.fn(DAY + timedelta(minutes=15)) == {"sent": 0}, "tried 3 times in all, then left"
            publish_mail_report.fn([key])
    finally:
        controller.stop()
    received = read_mail(var_dir / "mail")
    assert len(received) == 3 and {m["Message-ID"] for m in received} == {alert.message_id}
    with get_client(sync_client=True) as client:
        versions = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"mail-{key.lower()}"])))
    assert "| uncertain（待确认） |" in str(max(versions, key=lambda a: a.created).data)


def test_names_people_type_come_out_inert_in_ack_and_incidents(sqlite_db: str, events: EventsWorker) -> None:  # noqa: F811
    key = make_incident("INC-20261127-001", DAY)
    ack = CliRunner().invoke(app, ["ack", key, "--by", HOSTILE_NAME, "--now", "2026-11-27T10:07"],
                             env={"COLUMNS": "300"})
    listed = CliRunner().invoke(app, ["incidents"], env={"COLUMNS": "300"})
    again = CliRunner().invoke(app, ["ack", key, "--by", "张伟"], env={"COLUMNS": "300"})
    assert ack.exit_code == 0 and listed.exit_code == 0 and again.exit_code == 1
    for output in (ack.output, listed.output, again.output):
        assert "\x1b" not in output and "\x07" not in output, "no escape sequence reaches the terminal"
        assert "[red]x[/red]" in output, "markup people typed prints as typed"
    assert len(_lines(again.output)) == 1


def test_the_compensation_benchmark_takes_its_own_postgres_url() -> None:
    probe = ("import benchmarks.data as data; from config.settings import load_settings; load_settings(); "
             "print(data.PG_ADMIN_URL)")
    env = {**os.environ, "CRISIS_TEST_PG_URL": "postgresql+psycopg2://bench@127.0.0.1:5432/postgres"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgresql+psycopg2://bench@127.0.0.1:5432/postgres"
