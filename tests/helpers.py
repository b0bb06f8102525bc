"""Helpers shared by tests: free ports, a real SMTP sink, reading the mail it stored, waiting on a condition."""

from __future__ import annotations

import email
import os
import random
import socket
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

PATIENCE_SECONDS = 600.0
"""How long a test waits for what a worker, a trigger, a server or a child process does. Generous on
purpose: on a loaded, shared machine that only delays the test, it never fails it. Never tune it down to
how fast this machine is; a test that must bound a duration is a benchmark (benchmarks/), not a test."""


def wait_for(check: Callable[[], T], what: str, seconds: float = PATIENCE_SECONDS, every: float = 1.0) -> T:
    """Return the first truthy value of `check()`, polled every `every` seconds; after `seconds` fail
    naming `what`. The one way a test waits: on the condition, never a fixed sleep."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s")
        time.sleep(every)


PORTS_PER_WORKER = 1000


def free_port() -> int:
    """Return a loopback port nobody listens on, from this pytest-xdist worker's own range (20000 + 1000 per
    worker, below the kernel's ephemeral ports). With any kernel-free port, a test's Prefect health check once
    got another server's SMTP banner: most likely two workers were handed the same port."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = 20000 + PORTS_PER_WORKER * (int(worker) if worker.isdigit() else 0)
    for port in random.sample(range(first, first + PORTS_PER_WORKER), PORTS_PER_WORKER):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free loopback port in {first}-{first + PORTS_PER_WORKER - 1}")


def read_mail(folder: Path) -> list[EmailMessage]:
    """Return every message the sink stored, oldest first, parsed."""
    if not folder.exists():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml")):
        messages.append(email.message_from_bytes(path.read_bytes(), policy=policy.default))
    return messages  # type: ignore[return-value]


def text_part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


def migrate(direction: str, revision: str) -> None:
    """Run Alembic `upgrade` or `downgrade` to `revision` on the app database of the test."""
    from alembic import command

    from tasks.db import alembic_config, get_engine

    config = alembic_config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


def columns(table: str) -> set[str]:
    """Return the column names of a table of the app database."""
    import sqlalchemy as sa

    from tasks.db import get_engine

    return {c["name"] for c in sa.inspect(get_engine()).get_columns(table)}
