"""`crisis scan` without a Prefect server says, before the minute it waits, why it is slow and how not to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

CRISIS = str(Path(sys.executable).parent / "crisis")


def test_a_scan_without_a_server_says_first_that_it_starts_one_and_how_to_avoid_it(
        sqlite_db: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")  # no profile that names a server either
    process = subprocess.Popen([CRISIS, "scan", "--now", "2026-11-27T10:00"], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()  # the notice comes before the temporary server starts
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert "临时 Prefect 服务器" in first and "crisis up" in first and "PREFECT_API_URL=http://" in first, first
