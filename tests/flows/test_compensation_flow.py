"""The compensate flow against the flow tests' Prefect server: a real Taobao export paid through the runbook, with
its progress and summary artifacts, CSV report, customer notices and event; a bad file applies nothing;
the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.events.worker import EventsWorker
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.app import app
from flows.compensate import compensate
from tasks.db import session_scope
from tasks.errors import OrdersFileInvalid
from tasks.events import COMPENSATION_COMPLETED
from tasks.models import CompensationBatch, CompensationItem, Notification
from tests.helpers import wait_for
from tests.tasks.test_compensation_ledger import KEY, NOW, STARTED, make_incident, orders_csv

TAOBAO = ("订单编号,买家会员名,买家邮箱,买家实际支付金额,订单状态,订单付款时间,宝贝标题,商家编码\n"
          '="4242000000000000001",tb小橘子,xjz@example.com,"￥1,299.00",交易成功,{t},澄星空气炸锅5L,CX-AF-01\n'
          '="4242000000000000002",tb小橘子,xjz@example.com,299.00,交易成功,{t},澄星空气炸锅5L,CX-AF-01\n'
          '="4242000000000000003",tb阿May,,89.90,"卖家已发货，等待买家确认",{t},澄星空气炸锅5L,CX-AF-02\n'
          '="4242000000000000004",tb老王,lw@example.com,59.00,退款成功,{t},澄星空气炸锅5L,CX-AF-01\n')


@pytest.fixture
def taobao_file(sqlite_db: str, tmp_path: Path) -> Path:
    make_incident()
    paid = (STARTED - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / "淘宝订单导出.csv"
    path.write_bytes(TAOBAO.format(t=paid).encode("gbk"))
    return path


def _artifacts(key: str) -> list:  # type: ignore[type-arg]
    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))


def _events(name: str) -> list[dict]:  # type: ignore[type-arg]
    """Return the incident's events of this name, once the server has stored any."""
    EventsWorker.drain_all()
    wanted = EventFilter(event=EventNameFilter(name=[name]),
                         resource=EventResourceFilter(id=[f"crisis.incident.{KEY}"]))
    body = {"filter": wanted.model_dump(mode="json")}

    def stored() -> list[dict]:  # type: ignore[type-arg]
        with get_client(sync_client=True) as client:
            return client.request("POST", "/events/filter", json=body).json()["events"]

    return wait_for(stored, f"the {name} event of {KEY}", every=0.5)


def test_a_taobao_export_is_paid_through_the_runbook(taobao_file: Path, prefect_harness: Path) -> None:
    dry = compensate(incident_key=KEY, orders_path=str(taobao_file), policy="coupon-10pct", requested_by="刘洋", now=NOW)
    assert dry["status"] == "dry_run" and dry["applied"] == 2 and dry["amount_fen"] == 5000 + 899
    result = compensate(incident_key=KEY, orders_path=str(taobao_file), policy="coupon-10pct", dry_run=False,
                        notify_customers=True, note="质量问题致歉", requested_by="刘洋", now=NOW)
    assert (result["status"], result["applied"], result["customers"]) == ("applied", 2, 2)
    assert result["amount_fen"] == 5000 + 899  # 10 % of 1,299.00 capped at 50 元; 10 % of 89.90 = 8.99 元
    assert result["skipped"] == {"同一客户只补偿一次": 1, "订单已退款": 1}
    assert result["by_kind"] == {
        "percent_coupon": {"orders": 2, "customers": 2, "amount_fen": 5899, "points": 0}}
    assert result["notices"] == 1, "only 小橘子 gave an e-mail address"
    report = Path(str(result["report_path"])).read_text(encoding="utf-8-sig").splitlines()
    assert report[0] == "order_id,customer_id,kind,amount_fen,amount_yuan,points" and len(report) == 3
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(CompensationItem)) == 2
        assert session.scalar(select(Notification.recipient)) == "xjz@example.com"
        batch = session.get(CompensationBatch, result["batch_id"])
        assert (batch.status, batch.requested_by, batch.note, batch.flow_run_id is not None) == (
            "applied", "刘洋", "质量问题致歉", True)
    summary = _artifacts(f"compensation-{KEY.lower()}")
    assert summary and any(row["项目"] == "未补偿：订单已退款" for row in _table(summary[0]))
    progress = _artifacts(f"compensation-progress-{KEY.lower()}")
    assert progress and progress[0].data == 100.0
    events = _events(COMPENSATION_COMPLETED)
    assert events and events[0]["payload"]["orders"] == 2 and events[0]["payload"]["amount_fen"] == 5899
    # the second run found the incident's limit and did not ask to create it: no IntegrityError in the server log
    assert "concurrency_limit_v2" not in prefect_harness.read_text(encoding="utf-8", errors="replace")


def _table(artifact) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    import json

    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


def test_a_file_with_a_bad_row_applies_nothing(sqlite_db: str, tmp_path: Path) -> None:
    make_incident()
    path = orders_csv(tmp_path / "o.csv", [("O1", "C1", "10"), ("O2", "C2", "十元")])
    with pytest.raises(OrdersFileInvalid, match=r"o.csv:3: amount_yuan: 不是金额（'十元'）"):
        compensate(incident_key=KEY, orders_path=str(path), policy="coupon-20", dry_run=False, requested_by="刘洋", now=NOW)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(CompensationBatch)) == 0
        assert session.scalar(select(func.count()).select_from(CompensationItem)) == 0


def test_a_run_names_its_incident_and_nobody_compensates_anonymously(taobao_file: Path) -> None:
    """The runs list shows compensate-<KEY>; requested_by has no default (it was "prefect-ui"), and a blank
    form field (the UI sends "") counts as not given."""
    with pytest.raises(TypeError, match="requested_by"):
        compensate(incident_key=KEY, orders_path=str(taobao_file), policy="coupon-20", now=NOW)
    state = compensate(incident_key=KEY, orders_path=str(taobao_file), orders_query="", note=" ", policy="coupon-20",
                       requested_by="刘洋", now=NOW, return_state=True)
    assert state.is_completed() and state.result()["status"] == "dry_run"
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(state.state_details.flow_run_id).name == f"compensate-{KEY}"


def test_the_cli_pays_from_a_file_and_names_bad_rows(sqlite_db: str, tmp_path: Path) -> None:
    make_incident()
    good = orders_csv(tmp_path / "good.csv", [("O1", "C1", "10"), ("O2", "C2", "10")])
    command = ["compensate", KEY, "--policy", "coupon-20", "--now", NOW.isoformat(), "--orders"]
    dry = CliRunner().invoke(app, [*command, str(good)])
    assert dry.exit_code == 0, dry.output
    shown = " ".join(dry.output.split())
    assert "试算" in shown and "2 单，2 位客户" in shown and "40.00 元" in shown and "{" not in shown, dry.output
    paid = CliRunner().invoke(app, [*command, str(good), "--apply", "--by", "刘洋"])
    assert paid.exit_code == 0, paid.output
    assert "已发放" in paid.output and "2 单，2 位客户" in paid.output and "40.00 元" in paid.output, paid.output
    again = json.loads(CliRunner().invoke(app, [*command, str(good), "--apply", "--by", "刘洋", "--json"]).stdout)
    assert again["applied"] == 0 and again["incident_orders"] == 2 and again["incident_amount_fen"] == 4000
    bad = orders_csv(tmp_path / "bad.csv", [("O3", "", "10")])
    failed = CliRunner().invoke(app, [*command, str(bad), "--apply"])
    assert failed.exit_code == 1
    assert "bad.csv:2: customer_id: 缺失" in failed.output


def test_the_limits_of_closed_incidents_are_deleted_at_the_next_run(taobao_file: Path) -> None:
    """A `compensate-<KEY>` limit per incident would pile up on the server: a closed incident's goes."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    closed, open_, held = "INC-20251101-001", "INC-20251102-001", "INC-20251103-001"
    make_incident(closed, state="closed")
    make_incident(open_, state="responding")
    make_incident(held, state="closed")
    with get_client(sync_client=True) as client:
        for key in (closed, open_, held):
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=f"compensate-{key}", limit=1))
        client.increment_concurrency_slots(names=[f"compensate-{held}"], slots=1, mode="concurrency")

        compensate(incident_key=KEY, orders_path=str(taobao_file), policy="coupon-10pct", requested_by="刘洋", now=NOW)

        names = {c.name for c in client.read_global_concurrency_limits(limit=200)}
    assert f"compensate-{closed}" not in names
    assert {f"compensate-{open_}", f"compensate-{held}", f"compensate-{KEY}"} <= names, \
        "an open incident's limit, one a run still holds, and this run's own stay"


def _pruned_by_another_run(monkeypatch: pytest.MonkeyPatch, times: int) -> list[str]:
    """Make another run's pruning delete the limit right after this run creates it, `times` times."""
    from tasks.compensation import limits

    create, deleted = limits.create_limit, []

    def create_then_lose(name: str) -> None:
        create(name)
        if len(deleted) < times:
            with get_client(sync_client=True) as client:
                client.delete_global_concurrency_limit_by_name(name)
            deleted.append(name)

    monkeypatch.setattr(limits, "create_limit", create_then_lose)
    return deleted


def test_a_limit_deleted_before_its_slot_is_taken_is_created_again(
        taobao_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another run prunes this incident's limit between its creation and the slot: the run still pays."""
    deleted = _pruned_by_another_run(monkeypatch, times=1)

    result = compensate(incident_key=KEY, orders_path=str(taobao_file), policy="coupon-10pct", dry_run=False, requested_by="刘洋", now=NOW)

    assert deleted == [f"compensate-{KEY}"]
    assert (result["status"], result["applied"]) == ("applied", 2)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(CompensationItem)) == 2
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(f"compensate-{KEY}").active_slots == 0


def test_a_limit_that_keeps_vanishing_fails_the_run_before_anything_is_paid(
        taobao_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError

    _pruned_by_another_run(monkeypatch, times=99)

    with pytest.raises(ConcurrencySlotAcquisitionError):
        compensate(incident_key=KEY, orders_path=str(taobao_file), policy="coupon-10pct", dry_run=False, requested_by="刘洋", now=NOW)

    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(CompensationBatch)) == 0
        assert session.scalar(select(func.count()).select_from(CompensationItem)) == 0
