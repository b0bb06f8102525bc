"""The stack's work pool starts each flow run as one `python3 -m prefect.engine` process (tasks/stack.py
FLOW_RUN_COMMAND), on the package's real Prefect server: a new pool gets the command, an existing pool keeps
what it has. The integration tests run every flow of theirs through such a pool."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.settings import PREFECT_API_URL

from config.files import clear_caches
from config.settings import get_settings
from tasks.stack import FLOW_RUN_COMMAND, Stack, ensure_work_pool, pool_template


@pytest.fixture(autouse=True)
def _settings_forgotten_after() -> Iterator[None]:
    """The tests below point the settings at pools of their own: later tests read the real ones again."""
    yield
    clear_caches()


def _command(pool: str) -> str | None:
    with get_client(sync_client=True) as client:
        return client.read_work_pool(pool).base_job_template["variables"]["properties"]["command"]["default"]


def _stack_on(pool: str, monkeypatch: pytest.MonkeyPatch) -> Stack:
    monkeypatch.setenv("CRISIS_STACK__WORK_POOL", pool)
    monkeypatch.setattr(Stack, "api_url", property(lambda self: PREFECT_API_URL.value()))
    clear_caches()
    return Stack(get_settings())


def test_a_new_pool_starts_flow_runs_as_the_engine_command(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = f"pool-{uuid4().hex[:8]}"
    said = ensure_work_pool(_stack_on(fresh, monkeypatch))
    assert said.startswith("created") and _command(fresh) == FLOW_RUN_COMMAND


@pytest.mark.parametrize("command", [None, "/opt/py/bin/python -m prefect.engine"])
def test_an_existing_pool_is_left_as_it_is(command: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool `make deploy` made (no command: Prefect's supervisor, which works for a worker started by its full
    path) or one an operator set a command on keeps what it has."""
    pool = f"pool-{uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process", base_job_template=pool_template(command)))
    assert "already exists" in ensure_work_pool(_stack_on(pool, monkeypatch))
    assert _command(pool) == command


def test_the_stacks_children_find_this_interpreter_as_the_commands_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    env = _stack_on("crisis", monkeypatch).env()
    python = FLOW_RUN_COMMAND.split()[0]
    assert Path(shutil.which(python, path=env["PATH"])).parent == Path(sys.executable).parent
