"""A stack exposed beyond loopback runs with basic auth: requests without it are refused, flows with it work."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from config.files import clear_caches
from config.settings import PROJECT_DIR, get_settings
from tasks.stack import Stack, StackError, ensure_prefect_server
from tests.helpers import PATIENCE_SECONDS

pytestmark = pytest.mark.integration
SECRET = "ops:correct-horse-battery"


def _basic(value: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}


def test_the_server_refuses_requests_without_the_auth_string(
    local_stack: Stack, sqlite_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", SECRET)
    ensure_prefect_server(local_stack)
    api = local_stack.api_url
    http = httpx.Client(timeout=PATIENCE_SECONDS)  # a loaded machine answers late, not never
    assert http.post(f"{api}/flows/filter", json={}).status_code == 401
    assert http.post(f"{api}/flows/filter", json={}, headers=_basic("ops:wrong")).status_code == 401
    assert http.post(f"{api}/flows/filter", json={}, headers=_basic(SECRET)).status_code == 200
    assert http.get(f"{local_stack.ui_url}/ui-settings").json()["auth"] == "BASIC", "the UI asks for them"

    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(tmp_path / "client")}
    env.pop("PREFECT_SERVER_API_AUTH_STRING")
    scan = [sys.executable, "-m", "cli.app", "scan", "--now", "2026-11-27T10:00"]
    refused = subprocess.run(scan, env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=PATIENCE_SECONDS)
    assert refused.returncode != 0
    ok = subprocess.run(scan, env={**env, "PREFECT_API_AUTH_STRING": SECRET}, cwd=PROJECT_DIR,
                        capture_output=True, text=True, timeout=PATIENCE_SECONDS)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "读取 0 条提及" in ok.stdout
    runs = http.post(f"{api}/flow_runs/filter", json={}, headers=_basic(SECRET)).json()
    assert {r["state_type"] for r in runs} >= {"COMPLETED"}


def test_a_stack_beyond_loopback_refuses_to_start_without_auth(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRISIS_STACK__HOST", "0.0.0.0")
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    clear_caches()
    with pytest.raises(StackError, match="PREFECT_SERVER_API_AUTH_STRING"):
        ensure_prefect_server(Stack(get_settings()))
