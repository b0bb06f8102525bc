"""The approval gate against a real `prefect server start`: a batch above its policy's limit pauses its run
for the resume form; a rejection applies nothing, an approval pays; both are audited."""

from __future__ import annotations

import contextvars
import json
import subprocess
import sys
import threading
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.flow_runs import resume_flow_run
from prefect.input.run_input import keyset_from_base_key, keyset_from_paused_state
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Paused
from sqlalchemy import func, select

from tasks.audit import entries_for
from tasks.compensation.approval import ApprovalInput, resume_with_decision
from tasks.db import session_scope
from tasks.errors import ApprovalRefused
from tasks.models import CompensationBatch, CompensationItem
from tasks.stack import Stack, ensure_prefect_server
from tests.helpers import PATIENCE_SECONDS, wait_for
from tests.tasks.test_compensation_ledger import KEY, NOW, make_incident, orders_csv

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RUN = """
import json, sys
from datetime import datetime
from flows.compensate import compensate
result = compensate(incident_key=sys.argv[1], orders_path=sys.argv[2], policy="refund-full", dry_run=False,
                    requested_by="刘洋", note="批量退款", now=datetime.fromisoformat(sys.argv[3]))
print(json.dumps(result, ensure_ascii=False, default=str))
"""


# A slow server: it pauses the run but its answer is lost, so the client sends the same Paused state again
# (the retry is refused as "already made this state transition", the run being Paused already).
LOST_ANSWER = """
import prefect.flow_runs
_propose = prefect.flow_runs.propose_state_sync
def _twice(client, state, **kwargs):
    _propose(client, state, **kwargs)
    return _propose(client, state, **kwargs)
prefect.flow_runs.propose_state_sync = _twice
"""


def _start(stack: Stack, orders: Path, prelude: str = "") -> subprocess.Popen[str]:
    env = {**stack.env(), "PREFECT_LOGGING_LEVEL": "INFO"}
    return subprocess.Popen([sys.executable, "-c", prelude + RUN, KEY, str(orders), NOW.isoformat()], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _paused_run(known: set[UUID]) -> UUID:
    """Return the id of a compensate run that is paused and not in `known`, once it is."""
    return wait_for(lambda: _a_paused_run(known), "a compensate run paused for approval")


def _a_paused_run(known: set[UUID]) -> UUID | None:
    with get_client(sync_client=True) as client:
        others = FlowRunFilter(id=FlowRunFilterId(not_any_=list(known))) if known else None
        for run in client.read_flow_runs(flow_run_filter=others):
            if run.state and run.state.is_paused():
                keyset = keyset_from_paused_state(run.state)
                try:  # the form's schema and its description are saved one after the other, after the pause
                    schema = client.read_flow_run_input(run.id, keyset["schema"])
                    description = client.read_flow_run_input(run.id, keyset["description"])
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code != 404:
                        raise
                    return None
                assert {"approver", "decision", "note"} <= set(json.loads(schema)["properties"])
                assert "补偿批次待审批" in json.loads(description)
                return run.id
    return None


@flow
def _waiting() -> None:
    pass


_KEYSET = keyset_from_base_key("paused-approve-batch-3")


def _paused_without_its_form() -> UUID:
    """A run paused for input whose form was never saved (the moment between a pause and its form, held)."""
    state = Paused(timeout_seconds=600, pause_key="approval")
    state.state_details.run_input_keyset = _KEYSET
    with get_client(sync_client=True) as client:
        return client.create_flow_run(_waiting, state=state).id


def _result(child: subprocess.Popen[str]) -> dict[str, object]:
    out, err = child.communicate(timeout=PATIENCE_SECONDS)
    assert child.returncode == 0, err[-4000:]
    return json.loads(out.strip().splitlines()[-1])


def test_a_large_batch_waits_for_approval_and_a_rejection_pays_nothing(
    local_stack: Stack, sqlite_db: str, tmp_path: Path
) -> None:
    ensure_prefect_server(local_stack)
    make_incident()
    orders = orders_csv(tmp_path / "orders.csv", [(f"O{i}", f"C{i}", "300") for i in range(40)])  # 12,000 元
    with temporary_settings(updates={PREFECT_API_URL: local_stack.api_url}):
        rejected_run = _start(local_stack, orders)
        first = _paused_run(set())
        with pytest.raises(RuntimeError, match="Cannot resume"):
            resume_flow_run(first, run_input={"approver": "", "decision": "approve"})  # the form needs a name
        answer = {"approver": "王芳", "decision": "reject", "note": "金额过大，先核实"}
        resume_flow_run(first, run_input=answer)
        rejected = _result(rejected_run)
        assert (rejected["status"], rejected["applied"], rejected["approver"]) == ("rejected", 0, "王芳")
        with session_scope() as session:
            assert session.scalar(select(func.count()).select_from(CompensationItem)) == 0

        approved_run = _start(local_stack, orders)
        second = _paused_run({first})
        resume_flow_run(second, run_input={"approver": "王芳", "decision": "approve", "note": "同意"})
        approved = _result(approved_run)
        # what a responder is told when the answer cannot go through: the batch by name, no run id, in Chinese
        with pytest.raises(ApprovalRefused, match=rf"^{KEY} 批次 1: 其运行已不在等待审批"):
            resume_with_decision(str(first), "王芳", "approve", "", f"{KEY} 批次 1")
        with pytest.raises(ApprovalRefused, match=rf"^{KEY} 批次 3: 审批表单在 2 秒内仍未保存，请稍后再试$"):
            resume_with_decision(str(_paused_without_its_form()), "王芳", "approve", "", f"{KEY} 批次 3", form_wait=2)
        # an answer sent before the form is saved goes through once it is (saved here 2 s later)
        late = _paused_without_its_form()
        saver = threading.Timer(2, contextvars.copy_context().run,  # the thread talks to this test's server too
                                [ApprovalInput.save, _KEYSET, late])
        saver.start()
        resume_with_decision(str(late), "王芳", "approve", "", f"{KEY} 批次 3")
        saver.join()
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(late).state
        assert state is not None and not state.is_paused(), state
    assert (approved["status"], approved["applied"], approved["amount_fen"]) == ("applied", 40, 1_200_000)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(CompensationItem)) == 40
        batches = session.scalars(select(CompensationBatch).order_by(CompensationBatch.id)).all()
        assert [(b.status, b.approval, b.approved_by) for b in batches] == [
            ("rejected", "rejected", "王芳"), ("applied", "approved", "王芳")]
        assert batches[0].decision_note == "金额过大，先核实" and batches[0].flow_run_id == str(first)
        decisions = [(e.action, e.actor) for e in entries_for(session, "incident", KEY)
                     if e.action in ("compensation.batch_rejected", "compensation.batch_approved")]
    assert decisions == [("compensation.batch_rejected", "王芳"), ("compensation.batch_approved", "王芳")]


def test_a_pause_whose_answer_the_server_lost_still_waits_for_the_form_and_pays_once_approved(
    local_stack: Stack, sqlite_db: str, tmp_path: Path
) -> None:
    ensure_prefect_server(local_stack)
    make_incident()
    orders = orders_csv(tmp_path / "orders.csv", [(f"O{i}", f"C{i}", "300") for i in range(40)])
    with temporary_settings(updates={PREFECT_API_URL: local_stack.api_url}):
        child = _start(local_stack, orders, prelude=LOST_ANSWER)
        run = _paused_run(set())  # paused, with the approval form saved
        resume_flow_run(run, run_input={"approver": "王芳", "decision": "approve", "note": "同意"})
        paid = _result(child)
    assert (paid["status"], paid["applied"], paid["approver"]) == ("applied", 40, "王芳")
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(CompensationItem)) == 40
