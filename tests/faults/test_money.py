"""Faults and attacks on the money path (赔付): approval by nobody or by the requester, decimal commas,
mixed encodings, files without orders, Tmall's own order report, and a batch killed mid-run.

Flow tests run the real runbook under a Prefect test server started for this module; the approval CLI and
the killed batch run against a real `prefect server start` (its lease reaper frees a dead run's slot)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from prefect.events.clients import AssertingEventsClient
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.utilities.schema_tools import ValidationError, validate
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.app import app
from config.files import clear_caches
from config.settings import get_settings
from tasks.audit import entries_for
from tasks.compensation.approval import BatchForApproval, approval_form, refusal
from tasks.compensation.orders import load_orders
from tasks.db import session_scope
from tasks.errors import OrdersFileInvalid
from tasks.events import COMPENSATION_COMPLETED
from tasks.models import CompensationBatch, CompensationItem
from tasks.stack import Stack, ensure_prefect_server
from tests.helpers import PATIENCE_SECONDS, wait_for
from tests.integration.conftest import local_stack  # noqa: F401 - a fixture
from tests.prefect_server import prefect_server
from tests.tasks.test_compensation_ledger import KEY, NOW, ROOT, STARTED, make_incident, orders_csv

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAID = (STARTED - timedelta(days=1)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
EXTRA_POLICIES = """
[policies."refund-full-solo"]
kind = "full_refund"
title = "全额退款（小团队：申请人可自批）"
one_per_customer = false
window_before_days = 45
approval_limit_fen = 1_000_000
four_eyes = false

[policies."refund-full-strict"]
kind = "full_refund"
title = "全额退款（部分退款的订单不补偿）"
one_per_customer = false
window_before_days = 45
partly_refunded = "exclude"

[policies."coupon-1"]
kind = "fixed_coupon"
title = "1 元券（无审批上限）"
amount_fen = 100
window_before_days = 45
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, prefect_database: Path) -> Iterator[None]:
    with prefect_server(tmp_path_factory.mktemp("prefect-server"), prefect_database):
        yield


@pytest.fixture
def events(harness: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[EventsWorker]:
    """Capture the events the flows emit instead of sending them."""
    worker = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    yield worker
    worker.drain()


@pytest.fixture
def policies(var_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of config/ whose compensation.toml adds a four-eyes-off, an exclude and a no-limit policy."""
    copy = tmp_path / "config"
    shutil.copytree(ROOT / "config", copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    with (copy / "compensation.toml").open("a", encoding="utf-8") as toml:
        toml.write(EXTRA_POLICIES)
    monkeypatch.setenv("CRISIS_CONFIG_DIR", str(copy))
    clear_caches()
    return copy


def _ledger() -> tuple[int, int]:
    with session_scope() as session:
        rows = session.execute(select(func.count(CompensationItem.id),
                                      func.coalesce(func.sum(CompensationItem.amount_fen), 0))).one()
        return int(rows[0]), int(rows[1])


def _batches() -> list[CompensationBatch]:
    with session_scope() as session:
        return list(session.scalars(select(CompensationBatch).order_by(CompensationBatch.id)))


def _pending_batch(path: Path) -> None:
    """Open a 12,000 元 refund batch requested by 刘洋 that waits for approval (the tasks, no run)."""
    make_incident()
    orders_csv(path, [(f"O{i}", f"C{i}", "300") for i in range(40)])
    from prefect.logging import disable_run_logger

    from tasks.compensation.tasks import load_orders_source, open_batch, plan_batch

    with disable_run_logger():
        orders = load_orders_source.fn(KEY, str(path), None, "auto", "refund-full", NOW)
        plan = plan_batch.fn(KEY, orders, "refund-full", NOW)
        batch = open_batch.fn(KEY, plan, "refund-full", str(path), "auto", False, "刘洋", None, NOW)
    assert batch.approval == "pending"


def _form(requester: str, four_eyes: bool) -> dict:  # type: ignore[type-arg]
    batch = BatchForApproval(KEY, 1, "refund-full", "全额退款", 40, 40, 1_200_000, 0, "10,000.00 元", requester,
                             "", four_eyes)
    return approval_form(batch).model_json_schema()


def _server_accepts(answer: dict, schema: dict) -> bool:  # type: ignore[type-arg]
    """Validate a resume answer as Prefect's server does before it resumes a paused run."""
    try:
        validate(answer, schema, raise_on_error=True)
    except ValidationError:
        return False
    return True


def test_a_blank_approver_is_refused(database: str, tmp_path: Path) -> None:
    schema = _form("刘洋", four_eyes=True)
    assert not _server_accepts({"approver": " ", "decision": "approve"}, schema), "the UI form refuses it"
    assert not _server_accepts({"approver": "\t", "decision": "reject"}, schema)
    _pending_batch(tmp_path / "orders.csv")

    result = CliRunner().invoke(app, ["approve", KEY, "--by", "  ", "--note", "同意"])

    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line.strip()] == [
        f"错误：{KEY} 批次 1: 审批人不能为空：请填写真实姓名"]
    assert [(b.status, b.approval, b.approved_by) for b in _batches()] == [("pending_approval", "pending", None)]


def test_the_requester_may_not_approve_their_own_batch_unless_the_policy_allows(
        database: str, tmp_path: Path) -> None:
    strict = _form("刘洋", four_eyes=True)
    assert not _server_accepts({"approver": "刘洋", "decision": "approve"}, strict)
    assert not _server_accepts({"approver": " 刘洋 ", "decision": "approve"}, strict)
    assert _server_accepts({"approver": "王芳", "decision": "approve"}, strict)
    assert _server_accepts({"approver": "刘洋", "decision": "reject"}, strict), "a requester may withdraw"
    solo = _form("刘洋", four_eyes=False)
    assert _server_accepts({"approver": "刘洋", "decision": "approve"}, solo)
    assert refusal("刘洋", "approve", "刘洋", four_eyes=False) is None
    _pending_batch(tmp_path / "orders.csv")

    result = CliRunner().invoke(app, ["approve", KEY, "--by", "刘洋"])

    assert result.exit_code == 1
    assert "申请人 刘洋 不能审批自己申请的批次（四眼原则）" in result.output
    assert _batches()[0].approval == "pending" and _ledger() == (0, 0)


def test_amounts_with_a_decimal_comma_or_a_short_group_are_named(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    rows = [("A1", "C1", '"1.234,50"'), ("A2", "C2", '"12,5"'), ("A3", "C3", '"1,234.50"'), ("A4", "C4", '"12,345"')]
    orders_csv(path, rows, encoding="utf-8")
    with pytest.raises(OrdersFileInvalid) as caught:
        load_orders(path, SHANGHAI)
    assert caught.value.problems == [f"{path}:2: amount_yuan: 不是金额（'1.234,50'）",
                                     f"{path}:3: amount_yuan: 不是金额（'12,5'）"]
    orders_csv(path, rows[2:], encoding="utf-8")
    assert list(load_orders(path, SHANGHAI)["amount_fen"]) == [123450, 1234500]


def _compensate(path: Path, *extra: str) -> object:
    return CliRunner().invoke(app, ["compensate", KEY, "--orders", str(path), "--now", NOW.isoformat(), *extra])


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("错误：")]


def test_a_file_mixing_utf8_and_gbk_rows_is_refused_naming_the_row(sqlite_db: str, events: EventsWorker,
                                                                   tmp_path: Path) -> None:
    make_incident()
    header = "order_id,customer_id,product,sku,amount_yuan,paid_at,status,email\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes(header.encode() + f"O1,张伟,澄星空气炸锅,CX,10,{PAID},completed,\n".encode()
                     + f"O2,李娜,澄星空气炸锅,CX,10,{PAID},completed,\n".encode("gbk"))

    result = _compensate(path, "--policy", "coupon-20", "--apply")

    assert result.exit_code == 1
    assert _error_lines(result.output) == [
        f"错误：{path}:3: row: 编码与前面的行不同（前面是 UTF-8），文件混用了 UTF-8 与 GBK；请整个文件另存为同一种编码"
        "；未做任何处理"]
    assert _batches() == [] and _ledger() == (0, 0)
    gbk_first = tmp_path / "gbk-first.csv"
    gbk_first.write_bytes(header.encode() + f"O1,李娜,炸锅,CX,10,{PAID},completed,\n".encode("gbk")
                          + f"O2,张伟,炸锅,CX,10,{PAID},completed,\n".encode())
    with pytest.raises(OrdersFileInvalid, match=r"gbk-first.csv:3: row: .*前面是 GBK/GB18030"):
        load_orders(gbk_first, SHANGHAI)
    for encoding in ("utf-8", "utf-8-sig", "gbk", "gb18030"):
        pure = orders_csv(tmp_path / f"{encoding}.csv", [("O1", "张伟", "10")], encoding=encoding)
        assert list(load_orders(pure, SHANGHAI)["customer_id"]) == ["张伟"]


@pytest.mark.parametrize("content, why", [
    (b"order_id,customer_id,product,sku,amount_yuan,paid_at,status,email\n", "只有表头，没有订单行"),
    (b"", "文件是空的（没有表头，也没有订单行）"),
    (b"\n\n\r\n", "文件是空的（没有表头，也没有订单行）"),
])
def test_a_file_without_orders_is_one_error_line_and_applies_nothing(
        sqlite_db: str, events: EventsWorker, tmp_path: Path, content: bytes, why: str) -> None:
    make_incident()
    path = tmp_path / "orders.csv"
    path.write_bytes(content)

    result = _compensate(path, "--policy", "coupon-20", "--apply")

    assert result.exit_code == 1
    assert _error_lines(result.output) == [f"错误：{path}: {why}；未做任何处理"]
    assert "EmptyDataError" not in result.output and "pyarrow" not in result.output
    assert _batches() == [] and _ledger() == (0, 0)
    events.wait_until_empty()
    assert [e for e in events._client.events if e.event == COMPENSATION_COMPLETED] == []  # type: ignore[union-attr]


TMALL_HEADER = "订单编号,总金额,买家实际支付金额,收货地址,订单创建时间,订单付款时间,退款金额"


def _tmall_report(path: Path) -> Path:
    """Tmall's 订单报表 as it exports it (GBK): no customer, no status column."""
    created = PAID
    rows = [
        f'="T1",209.00,199.00,浙江省杭州市西湖区文三路1号,{created},{PAID},0.00',    # paid: 199.00
        f'="T2",89.90,89.90,上海市浦东新区2号,{created},{PAID},89.90',               # refunded in full
        f'="T3",130.50,120.50,北京市朝阳区3号,{created},{PAID},20.25',               # partly: 100.25 remain
        f'="T4",59.00,59.00,广东省深圳市4号,{created},,0.00',                        # never paid
        f'="T5","1,309.00","1,299.00",四川省成都市5号,{created},{PAID},0',           # paid: 1,299.00
    ]
    path.write_bytes(("\n".join([TMALL_HEADER, *rows]) + "\n").encode("gbk"))
    return path


def test_tmalls_own_order_report_pays_the_right_orders_to_the_fen(
        sqlite_db: str, events: EventsWorker, policies: Path, tmp_path: Path) -> None:
    make_incident()
    report = _tmall_report(tmp_path / "天猫订单报表.csv")

    per_customer = _compensate(report, "--policy", "coupon-20")
    assert per_customer.exit_code == 1
    assert len(_error_lines(per_customer.output)) == 1
    assert "该策略每位客户只补偿一次，需要客户列（买家会员名" in per_customer.output

    strict = _compensate(report, "--policy", "refund-full-strict")
    assert strict.exit_code == 0, strict.output
    assert "试算" in strict.output and "2 单，2 位客户" in strict.output and "1,498.00 元" in strict.output, \
        "T3, partly refunded, excluded"

    paid = _compensate(report, "--policy", "refund-full", "--apply", "--by", "刘洋")
    assert paid.exit_code == 0, paid.output
    assert "已发放" in paid.output and "3 单，" in paid.output and "1,598.25 元" in paid.output
    with session_scope() as session:
        ledger = dict(session.execute(select(CompensationItem.order_id, CompensationItem.amount_fen)).all())
    assert ledger == {"T1": 19900, "T3": 10025, "T5": 129900}


def test_a_dry_run_of_a_batch_above_the_limit_says_it_needs_approval(
        sqlite_db: str, events: EventsWorker, tmp_path: Path) -> None:
    make_incident()
    large = orders_csv(tmp_path / "large.csv", [(f"O{i}", f"C{i}", "300") for i in range(40)])  # 12,000 元
    small = orders_csv(tmp_path / "small.csv", [("O1", "C1", "300")])

    over = _compensate(large, "--policy", "refund-full")
    under = _compensate(small, "--policy", "refund-full")

    assert over.exit_code == 0 and under.exit_code == 0, over.output + under.output
    assert "需要审批：超过策略 refund-full 的审批上限" in over.output
    assert "需要审批" not in under.output
    assert [b.approval for b in _batches()] == ["required", "not_required"]


# --- against a real `prefect server start` ---------------------------------------------------------------

RUN = """
import json, sys
from datetime import datetime
from flows.compensate import compensate
result = compensate(incident_key=sys.argv[1], orders_path=sys.argv[2], policy=sys.argv[3], dry_run=False,
                    requested_by="刘洋", note="批量退款", now=datetime.fromisoformat(sys.argv[4]))
print(json.dumps(result, ensure_ascii=False, default=str))
"""


def _start(stack: Stack, orders: Path, policy: str, log: Path, **env: str) -> subprocess.Popen[str]:
    child_env = {**stack.env(), "PREFECT_LOGGING_LEVEL": "INFO", **env}
    for name in ("CRISIS_CONFIG_DIR",):
        if name in os.environ:
            child_env[name] = os.environ[name]
    return subprocess.Popen([sys.executable, "-c", RUN, KEY, str(orders), policy, NOW.isoformat()], cwd=ROOT,
                            env=child_env, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)


def _result(child: subprocess.Popen[str], log: Path, seconds: float = PATIENCE_SECONDS) -> dict[str, object]:
    out, _ = child.communicate(timeout=seconds)
    assert child.returncode == 0, log.read_text()[-4000:]
    return json.loads(out.strip().splitlines()[-1])


def _paused_for_approval(batch_number: int) -> bool:
    """Tell whether the batch waits for approval and its run is paused with the resume form saved."""
    from prefect.client.orchestration import get_client
    from prefect.input.run_input import keyset_from_paused_state

    batches = _batches()
    if len(batches) < batch_number or batches[batch_number - 1].approval != "pending":
        return False
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(batches[batch_number - 1].flow_run_id)
        if run.state is None or not run.state.is_paused():
            return False
        try:
            client.read_flow_run_input(run.id, keyset_from_paused_state(run.state)["schema"])
        except Exception:  # noqa: BLE001 - not saved yet
            return False
    return True


@pytest.mark.integration
def test_crisis_approve_and_reject_decide_a_paused_batch(
        local_stack: Stack, sqlite_db: str, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    ensure_prefect_server(local_stack)
    make_incident()
    orders = orders_csv(tmp_path / "orders.csv", [(f"O{i}", f"C{i}", "300") for i in range(40)])  # 12,000 元
    cli = CliRunner()
    with temporary_settings(updates={PREFECT_API_URL: local_stack.api_url}):
        first = _start(local_stack, orders, "refund-full", tmp_path / "first.log")
        wait_for(lambda: _paused_for_approval(1), "the first run to pause for approval")
        own = cli.invoke(app, ["approve", KEY, "--by", "刘洋", "--note", "自批"])
        assert own.exit_code == 1 and "不能审批自己申请的批次" in own.output
        rejected = cli.invoke(app, ["reject", KEY, "--by", "王芳", "--note", "金额过大，先核实"])
        assert rejected.exit_code == 0, rejected.output
        assert f"{KEY} 批次 1：驳回（王芳），已记录为已驳回" in rejected.output
        assert _result(first, tmp_path / "first.log")["status"] == "rejected"

        second = _start(local_stack, orders, "refund-full", tmp_path / "second.log")
        wait_for(lambda: _paused_for_approval(2), "the second run to pause for approval")
        approved = cli.invoke(app, ["approve", KEY, "--batch", "2", "--by", "王芳", "--note", "同意"])
        assert approved.exit_code == 0, approved.output
        paid = _result(second, tmp_path / "second.log")
    assert (paid["status"], paid["applied"], paid["amount_fen"]) == ("applied", 40, 1_200_000)
    assert _ledger() == (40, 1_200_000)
    assert [(b.status, b.approved_by, b.decision_note) for b in _batches()] == [
        ("rejected", "王芳", "金额过大，先核实"), ("applied", "王芳", "同意")]
    with session_scope() as session:
        decisions = [(e.action, e.actor) for e in entries_for(session, "incident", KEY)
                     if e.action in ("compensation.batch_rejected", "compensation.batch_approved")]
    assert decisions == [("compensation.batch_rejected", "王芳"), ("compensation.batch_approved", "王芳")]


@pytest.mark.integration
def test_a_batch_killed_mid_run_is_interrupted_with_what_it_wrote_and_the_rerun_pays_the_rest_once(
        local_stack: Stack, sqlite_db: str, policies: Path, tmp_path: Path) -> None:  # noqa: F811
    ensure_prefect_server(local_stack)
    make_incident()
    n = 30_000
    orders = orders_csv(tmp_path / "orders.csv", [(f"O{i}", f"C{i}", "10") for i in range(n)])
    slow = {"CRISIS_COMPENSATION__CHUNK_SIZE": "20", "CRISIS_COMPENSATION__SLOT_LEASE_SECONDS": "60"}
    with temporary_settings(updates={PREFECT_API_URL: local_stack.api_url}):
        killed = _start(local_stack, orders, "coupon-1", tmp_path / "killed.log", **slow)
        observer = sa.create_engine(get_settings().sqlalchemy_url, poolclass=sa.pool.NullPool)
        with observer.connect() as connection:
            count = sa.text("SELECT count(*) FROM compensation_items")
            wait_for(lambda: connection.execute(count).scalar() >= 500, "the first chunks to commit", every=0.02)
            killed.send_signal(signal.SIGKILL)
        observer.dispose()
        killed.wait(timeout=PATIENCE_SECONDS)
        written_before, _ = _ledger()
        assert 500 <= written_before < n and _batches()[0].status == "running", "killed mid-batch"

        rerun = _start(local_stack, orders, "coupon-1", tmp_path / "rerun.log", **slow)
        log = tmp_path / "rerun.log"
        wait_for(lambda: "槽位由运行" in log.read_text(), "the rerun to say who holds the slot")
        waiting = next(line for line in log.read_text().splitlines() if "槽位由运行" in line)
        assert f"compensate-{KEY}（刘洋 于" in waiting and "最迟于" in waiting  # the holder by its run name
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", waiting), "no run id in what the operator reads"
        result = _result(rerun, log)
        text = log.read_text()
        # each 30 s wait ends in a TimeoutError we catch: Prefect's service must not log it as a failure
        assert "failed to process item" not in text, text[-4000:]
        assert not re.search(r"\|\s*ERROR\s*\|", text), text[-4000:]
    first, second = _batches()
    assert (first.status, first.applied_count, first.amount_fen) == ("interrupted", written_before,
                                                                     written_before * 100)
    assert (second.status, result["applied"]) == ("applied", n - written_before)
    assert _ledger() == (n, n * 100), "every order paid exactly once"
    assert (result["incident_orders"], result["incident_amount_fen"]) == (n, n * 100)
    show = CliRunner().invoke(app, ["show", KEY])
    assert f"批次 1 coupon-1 已中断：{written_before} 单" in show.output
    assert f"赔付合计（全部批次）：{n} 单，{n:,.2f} 元，0 积分" in show.output
