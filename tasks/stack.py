"""Start and stop the embedded local stack: Prefect server, SMTP sink, deployments, a worker.

Every process it starts gets a pid file under var/run and a log under var/log; `stop_stack`
stops only those. Everything binds to loopback unless configured otherwise.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from config.settings import PROJECT_DIR, Settings, child_environment, get_settings, read_environment

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class StackError(RuntimeError):
    """A local service did not come up; the message says which and where its log is."""


@dataclass(frozen=True)
class Stack:
    settings: Settings

    @property
    def var(self) -> Path:
        return self.settings.var_path

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.stack.host}:{self.settings.stack.prefect_port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{self.settings.stack.host}:{self.settings.stack.prefect_port}"

    def env(self) -> dict[str, str]:
        """Return the environment for every child: the API, the project dir, quiet telemetry."""
        return child_environment(
            PREFECT_API_URL=self.api_url,
            PREFECT_UI_URL=self.ui_url,
            PREFECT_HOME=read_environment("PREFECT_HOME") or str(self.var / "prefect"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_WORKER_QUERY_SECONDS=read_environment("PREFECT_WORKER_QUERY_SECONDS") or "3",
            CRISIS_PROJECT_DIR=str(PROJECT_DIR),
            CRISIS_VAR_DIR=str(self.var),
            PYTHONUNBUFFERED="1",
        )


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _pid_file(stack: Stack, name: str) -> Path:
    return stack.var / "run" / f"{name}.pid"


def _alive(stack: Stack, name: str) -> bool:
    path = _pid_file(stack, name)
    if not path.exists():
        return False
    try:
        os.kill(int(path.read_text()), 0)
    except (ProcessLookupError, ValueError):
        path.unlink(missing_ok=True)
        return False
    return True


def _spawn(stack: Stack, name: str, argv: list[str]) -> None:
    (stack.var / "run").mkdir(parents=True, exist_ok=True)
    (stack.var / "log").mkdir(parents=True, exist_ok=True)
    log = (stack.var / "log" / f"{name}.log").open("ab")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env=stack.env(), cwd=PROJECT_DIR, start_new_session=True)
    _pid_file(stack, name).write_text(str(process.pid))


def prefect_is_up(api_url: str) -> bool:
    """Tell whether a Prefect server answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def port_is_open(host: str, port: int) -> bool:
    """Tell whether something listens on host:port."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


def _wait(check, what: str, log: Path, seconds: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise StackError(f"{what} did not come up within {seconds:.0f} s; see {log}")


def ensure_prefect_server(stack: Stack) -> bool:
    """Start `prefect server start` on loopback unless one already answers; True when started here."""
    if prefect_is_up(stack.api_url):
        return False
    cfg = stack.settings.stack
    if cfg.host not in LOOPBACK and not read_environment("PREFECT_SERVER_API_AUTH_STRING"):
        raise StackError(f"stack.host is {cfg.host}, beyond loopback: set PREFECT_SERVER_API_AUTH_STRING "
                         "(user:password) for the server and PREFECT_API_AUTH_STRING for clients and workers")
    _spawn(stack, "prefect-server", [_bin("prefect"), "server", "start", "--host", cfg.host,
                                     "--port", str(cfg.prefect_port)])
    _wait(lambda: prefect_is_up(stack.api_url), "the Prefect server", stack.var / "log/prefect-server.log", 120)
    return True


def ensure_smtp_sink(stack: Stack) -> bool:
    """Start the SMTP sink on the configured mail port unless something listens there."""
    email = stack.settings.email
    if port_is_open(email.host, email.port):
        return False
    _spawn(stack, "smtp-sink", [sys.executable, "-m", "tasks.notify.sink", "--host", email.host,
                                "--port", str(email.port), "--dir", str(stack.var / "mail")])
    _wait(lambda: port_is_open(email.host, email.port), "the SMTP sink", stack.var / "log/smtp-sink.log", 30)
    return True


def deploy(stack: Stack, prefect_file: Path | None = None) -> None:
    """Create the process work pool (if missing) and apply every deployment in prefect.yaml (or in
    `prefect_file`, e.g. a trimmed copy)."""
    log = stack.var / "log" / "deploy.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    pool = stack.settings.stack.work_pool
    argv = [_bin("prefect"), "--no-prompt", "deploy", "--all"]
    if prefect_file is not None:
        argv += ["--prefect-file", str(prefect_file)]
    with log.open("ab") as out:
        subprocess.run([_bin("prefect"), "work-pool", "create", pool, "--type", "process"], env=stack.env(),
                       cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT, check=False)
        result = subprocess.run(argv, env=stack.env(), cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT,
                                check=False)
    if result.returncode != 0:
        raise StackError(f"`prefect deploy --all` failed; see {log}")


def ensure_worker(stack: Stack, name: str | None = None, limit: int | None = None) -> bool:
    """Start a process worker on the pool unless the one this stack started (under that name) is still
    running. Named workers poll the same pool side by side (scale-out); `limit` caps a worker's
    concurrent runs so the others get their share."""
    process = f"worker-{name}" if name else "worker"
    if _alive(stack, process):
        return False
    argv = [_bin("prefect"), "worker", "start", "--pool", stack.settings.stack.work_pool, "--type", "process"]
    if name:
        argv += ["--name", name]
    if limit:
        argv += ["--limit", str(limit)]
    _spawn(stack, process, argv)
    return True


def start_stack(stack: Stack | None = None, first_scan: bool = False) -> Stack:
    """Bring up server, sink, deployments and worker (each only if not already up); with `first_scan`,
    ask for a scan at once instead of waiting for the schedule's first tick."""
    stack = stack or Stack(get_settings())
    ensure_prefect_server(stack)
    ensure_smtp_sink(stack)
    deploy(stack)
    ensure_worker(stack)
    if first_scan:
        with (stack.var / "log" / "deploy.log").open("ab") as out:
            subprocess.run([_bin("prefect"), "deployment", "run", "scan/scan"], env=stack.env(), cwd=PROJECT_DIR,
                           stdout=out, stderr=subprocess.STDOUT, check=True)
    return stack


def stop_stack(stack: Stack | None = None) -> list[str]:
    """Stop every process this stack started (by its pid file); return their names."""
    stack = stack or Stack(get_settings())
    stopped = []
    workers = sorted(path.stem for path in (stack.var / "run").glob("worker*.pid"))
    for name in (*workers, "smtp-sink", "prefect-server"):
        if not _alive(stack, name):
            continue
        pid = int(_pid_file(stack, name).read_text())
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(40):
            if not _alive(stack, name):
                break
            time.sleep(0.25)
        else:
            os.killpg(pid, signal.SIGKILL)
        _pid_file(stack, name).unlink(missing_ok=True)
        stopped.append(name)
    return stopped
