"""One Prefect server for a package or module of in-process flow tests: the one `crisis up` starts
(tasks/prefect_server.py, SQLite transactions BEGIN IMMEDIATE) on a free loopback port with its own home.

Not prefect_test_harness: its server opens SQLite transactions DEFERRED, and in two of three runs of the
flows tier a request waited out SQLite's 60 s busy timeout (an artifact, a flow-run state) before the client
retried: one 4 s test took 64 s, the tier 4.3 to 5.4 minutes instead of 2.9."""

from __future__ import annotations

import fcntl
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect.settings import PREFECT_API_URL, temporary_settings

from tasks.prefect_server import DATABASE, temporary_server
from tests.helpers import free_port


def prefect_database_template(shared: Path) -> Path:
    """Return a Prefect database that every migration has run on and a server's start-up has filled (block
    types), made once in `shared` by whichever pytest-xdist worker asks first (the others wait on a lock).

    A server started on a copy skips its migrations: 4-5 s instead of 10-14 s here, for each of the suite's
    twenty servers. The copy is what any restarted server finds; a fresh server's first start (migrations
    included) is still run, by the template's own server, in every run of the suite."""
    template = shared / "prefect-template" / DATABASE
    template.parent.mkdir(parents=True, exist_ok=True)
    with (template.parent / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            home = template.parent / "home"
            home.mkdir(exist_ok=True)
            with temporary_server(home, free_port()):
                pass
            # the backup API reads the write-ahead log too (a plain copy of the file would miss it)
            source, target = sqlite3.connect(home / DATABASE), sqlite3.connect(template.with_suffix(".part"))
            with target:
                source.backup(target)
            source.close()
            target.close()
            template.with_suffix(".part").rename(template)
    return template


def seed_prefect_home(home: Path, template: Path) -> None:
    """Give the server about to start in `home` a copy of the migrated template database."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, home / DATABASE)


@contextmanager
def prefect_server(home: Path, template: Path | None = None) -> Iterator[Path]:
    """Run a Prefect server with its database under `home` (a copy of `template` when given) and point this
    process's flows at it; yield its log. Logs and events still queued are sent before it stops (bounded: a
    queue another test left for a server it stopped must not hold this one's end)."""
    if template is not None:
        seed_prefect_home(home, template)
    with temporary_server(home, free_port()) as (url, log), temporary_settings(updates={PREFECT_API_URL: url}):
        yield log
