"""Start and stop the embedded local stack: Prefect server, SMTP sink, deployments, a worker.

Every process it starts gets a pid file under var/run and a log under var/log; `stop_stack`
stops only those. Everything binds to loopback unless configured otherwise. The Prefect server and
the SMTP sink get only the environment they need (never a password, secret or token of ours); the
worker, which runs the flows, gets it all.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from config.settings import PROJECT_DIR, Settings, child_environment, get_settings, read_environment

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# What any service needs to run Python here; the rest of our environment is none of its business.
_SERVICE_NAMES = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
                  "VIRTUAL_ENV", "SYSTEMROOT", "PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONIOENCODING"}
_SERVICE_PREFIXES = ("LC_", "SSL_CERT_", "REQUESTS_CA_BUNDLE")
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|API_KEY|AUTH|PRIVATE|_KEY$", re.IGNORECASE)
# The Prefect server's own settings (its database URL and password, its API auth string) are its to have.
_SERVER_OWN = ("PREFECT_SERVER_", "PREFECT_API_DATABASE_")


def service_environment(environment: Mapping[str, str], *, prefect_server: bool = False) -> dict[str, str]:
    """Return the part of `environment` a service may see: the basics to run Python, and for the Prefect
    server its PREFECT_* settings. Never CRISIS_* (SMTP password, database URLs, keys) and never a variable
    named like a secret, except the server's own (PREFECT_SERVER_*)."""
    kept = {}
    for name, value in environment.items():
        basic = name in _SERVICE_NAMES or name.startswith(_SERVICE_PREFIXES)
        prefect = prefect_server and name.startswith("PREFECT_")
        if not (basic or prefect):
            continue
        if _SECRET_NAME.search(name) and not (prefect_server and name.startswith(_SERVER_OWN)):
            continue
        kept[name] = value
    return kept


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
            # `python3` is this interpreter for every child: the pool's flow runs start as `python3 -m prefect.engine`
            PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)]),
        )

    def server_env(self) -> dict[str, str]:
        """Return the Prefect server's environment: no secret of ours (see service_environment); errors the
        API answers with 503 ("retry") are logged, not only retried (prefect-server.log)."""
        return {"PREFECT_API_LOG_RETRYABLE_ERRORS": "true", **service_environment(self.env(), prefect_server=True)}

    def sink_env(self) -> dict[str, str]:
        """Return the SMTP sink's environment: just enough to run Python."""
        return service_environment(self.env())


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


def _spawn(stack: Stack, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
    (stack.var / "run").mkdir(parents=True, exist_ok=True)
    (stack.var / "log").mkdir(parents=True, exist_ok=True)
    log = (stack.var / "log" / f"{name}.log").open("ab")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env=stack.env() if env is None else env, cwd=PROJECT_DIR, start_new_session=True)
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
    raise StackError(f"{what}在 {seconds:.0f} 秒内没有启动；见 {log}")


def ensure_prefect_server(stack: Stack) -> bool:
    """Start `prefect server start` (tasks/prefect_server.py: SQLite transactions BEGIN IMMEDIATE) on loopback
    unless one already answers; True when started here."""
    if prefect_is_up(stack.api_url):
        return False
    cfg = stack.settings.stack
    if cfg.host not in LOOPBACK and not read_environment("PREFECT_SERVER_API_AUTH_STRING"):
        raise StackError(f"stack.host 是 {cfg.host}，不是本机：请为服务器设置 PREFECT_SERVER_API_AUTH_STRING"
                         "（用户:密码），并为命令行和 worker 设置 PREFECT_API_AUTH_STRING")
    _spawn(stack, "prefect-server", [sys.executable, "-m", "tasks.prefect_server", "--host", cfg.host,
                                     "--port", str(cfg.prefect_port)], stack.server_env())
    _wait(lambda: prefect_is_up(stack.api_url), f"Prefect 服务器（端口 {cfg.prefect_port}）",
          stack.var / "log/prefect-server.log", 120)
    return True


def ensure_smtp_sink(stack: Stack) -> bool:
    """Start the SMTP sink on the configured mail port unless something listens there; only on loopback (a
    sink elsewhere would take anyone's mail): a remote email.host must be a real server that answers."""
    email = stack.settings.email
    if port_is_open(email.host, email.port):
        return False
    if email.host not in LOOPBACK:
        raise StackError(f"email.host 是 {email.host}:{email.port}，不是本机且无人应答：本地 SMTP 接收器只在本机"
                         "（127.0.0.1）启动；请启动该邮件服务器，或把 email.host 设为 127.0.0.1")
    _spawn(stack, "smtp-sink", [sys.executable, "-m", "tasks.notify.sink", "--host", email.host,
                                "--port", str(email.port), "--dir", str(stack.var / "mail")], stack.sink_env())
    _wait(lambda: port_is_open(email.host, email.port), "SMTP 接收器", stack.var / "log/smtp-sink.log", 30)
    return True


def deploy(stack: Stack, prefect_file: Path | None = None) -> None:
    """Create the process work pool (if missing) and apply every deployment in prefect.yaml (or in
    `prefect_file`, e.g. a trimmed copy)."""
    log = stack.var / "log" / "deploy.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [_bin("prefect"), "--no-prompt", "deploy", "--all"]
    if prefect_file is not None:
        argv += ["--prefect-file", str(prefect_file)]
    with log.open("ab") as out:
        out.write(f"{ensure_work_pool(stack)}\n".encode())
        out.flush()
        result = subprocess.run(argv, env=stack.env(), cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT,
                                check=False)
    if result.returncode != 0:
        raise StackError(f"`prefect deploy --all` 失败；见 {log}")


# How the pool's workers start a flow run. Without a command, Prefect 3.9's process worker starts a workspace
# supervisor that imports Prefect, runs the pull steps and execs `<its interpreter> -m prefect.engine`, which
# imports it again: 1.3 s of CPU more per run and a run that starts about a second later (idle scans through the
# worker here, five each: 4.56 s from Pending to Completed without it, 3.57 s with). With the command, the engine
# runs the deployment's pull steps itself. `python3` is looked up on the worker's PATH: the stack's worker gets
# this interpreter's folder first (Stack.env), a worker started by hand needs the project's virtualenv first on
# PATH. `python3`, not `python`: a virtualenv has both, a Debian system without python-is-python3 only the first.
FLOW_RUN_COMMAND = "python3 -m prefect.engine"


def pool_template(command: str | None = FLOW_RUN_COMMAND) -> dict:
    """Return the process worker's default job template with `command` as its flow-run command (None: Prefect's
    own, the workspace supervisor)."""
    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template()
    template["variables"]["properties"]["command"]["default"] = command
    return template


def ensure_work_pool(stack: Stack) -> str:
    """Create the stack's process work pool unless it exists, as `prefect work-pool create NAME --type process`
    would, with FLOW_RUN_COMMAND as its command, from this process: a `prefect` command of its own took 3 s
    here, most of it importing Prefect again. An existing pool is left as it is: its workers may have been
    started in a way that finds no `python3` of ours on PATH (README, scale-out). Return what was done, for the
    deploy log."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.settings import PREFECT_API_URL, temporary_settings

    pool = stack.settings.stack.work_pool
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}), get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process", base_job_template=pool_template()))
        except ObjectAlreadyExists:
            return f"work pool {pool!r} already exists (left as it is)"
    return f"created work pool {pool!r} (process, flow runs start as {FLOW_RUN_COMMAND!r})"


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
    """Check the configuration, then bring up server, sink, deployments and worker (each only if not already
    up); with `first_scan`, ask for a scan at once instead of waiting for the schedule's first tick."""
    from config.check import check_config

    problems = check_config()
    if problems:
        more = f"（另有 {len(problems) - 1} 处，crisis config check 列出全部）" if len(problems) > 1 else ""
        raise StackError(f"配置有问题，未启动：{problems[0]}{more}")
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


def stop_stack(stack: Stack | None = None, notes: list[str] | None = None) -> list[str]:
    """Stop every process this stack started (by its pid file); return their names. A pid file whose process
    is gone, or is no longer the one we started (restarted by hand, pid reused), is removed and, with `notes`,
    named there; nothing else is signalled."""
    stack = stack or Stack(get_settings())
    stopped = []
    workers = sorted(path.stem for path in (stack.var / "run").glob("worker*.pid"))
    for name in (*workers, "smtp-sink", "prefect-server"):
        path = _pid_file(stack, name)
        if not path.exists():
            continue
        pid = _read_pid(path)
        if pid is None or not _ours(pid):
            path.unlink(missing_ok=True)
            if notes is not None:
                notes.append(f"{name}（pid {pid if pid is not None else '?'}）已不在运行或已被手动重启，"
                             "未停止它，已清除其 pid 文件")
            continue
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _ours(pid) and time.monotonic() < deadline:
            time.sleep(0.25)
        if _ours(pid):
            _signal_group(pid, signal.SIGKILL)
        path.unlink(missing_ok=True)
        stopped.append(name)
    return stopped


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (ValueError, OSError):
        return None


def _ours(pid: int) -> bool:
    """Tell whether `pid` still leads the process group we started it in (start_new_session). A child of this
    process that has exited is reaped first: a zombie keeps its group, and would look alive until killed."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child (started by another command): only its group tells
    try:
        return os.getpgid(pid) == pid
    except (ProcessLookupError, PermissionError):
        return False


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # gone meanwhile
