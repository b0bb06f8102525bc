"""What the rules miss, a person can still catch: a negative post about a watched brand that spreads while no
rule opens an incident is listed on the 待核实 board (watch-board), and `crisis open` opens an incident by hand
(人工立案), graded, filled and audited like one a rule opens. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from cli.app import app
from tasks.db import session_scope
from tasks.errors import InvalidTransition
from tasks.models import AuditEntry, DetectionHit, Mention
from tasks.triage.board import board_row, watch_board, watch_rows
from tasks.triage.detection import GroupWindow
from tasks.triage.tasks import update_incidents
from tests.helpers import PATIENCE_SECONDS, wait_for
from tests.tasks.test_reposts_cascade import START, cascade_file, incidents, scan

runner = CliRunner()
# No crisis category has a word for this (其他): only its tone says it is a complaint, so viral_post needs
# viral_unexplained_factor (3) × 50 = 150 reposts within the window; the watch lists it from 25 (half of the 50 a
# post in a crisis category needs).
LOST_CHILD = ("www.evil.example 澄星门店今天有个小孩走丢了，家长急疯了，店员一句话都不说，太让人寒心了，"
              "大家去澄星一定看好孩子")


def _board(now):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        return watch_rows(session, now)


def test_a_spreading_post_no_rule_opens_for_is_listed_to_verify_and_opens_nothing(database: str,
                                                                                   tmp_path: Path) -> None:
    path = cascade_file(tmp_path, LOST_CHILD, reposts=100, minutes=20)
    early = START + timedelta(minutes=5)
    assert scan(path, early) == [] and _board(early) == [], "20 reposts: not yet half of 50"
    now = START + timedelta(minutes=25)
    assert scan(path, now) == [] and incidents() == [], "100 reposts open nothing in 其他"
    (row,) = _board(now)
    assert row["品牌 · 类别"] == "澄星 · 其他"
    reason = str(row["待核实原因"])
    assert reason.startswith("待核实：「澄星·其他」原帖 root「") and "被转发 100 次" in reason
    assert "（归入危机类别的帖子 50 次即开启事件，未归入任何类别的需 150 次）；规则未开启事件，请人工判断" in reason
    assert "www[.]evil" in reason and "www.evil" not in reason, "the post's text is shown inert"
    assert row["确属危机时"] == "crisis open 澄星 --category 其他 --by 姓名 --reason 理由"
    with session_scope() as session:
        hit = session.scalars(select(DetectionHit).where(DetectionHit.mode == "watch")).one()
    assert (hit.rule, hit.incident_id) == ("spreading_watch", None)


def test_a_person_opens_the_incident_by_hand_audited_and_refused_when_it_cannot_be(database: str,
                                                                                   tmp_path: Path) -> None:
    path = cascade_file(tmp_path, LOST_CHILD, reposts=100, minutes=20)
    now = START + timedelta(minutes=25)
    scan(path, now)
    at = now.isoformat()

    def crisis_open(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["open", *args, "--now", at], env={"COLUMNS": "200"})

    for args, says in (
        (["焰峰", "--category", "其他", "--by", "李娜", "--reason", "x"], "焰峰 是竞争对手"),
        (["无名牌", "--category", "其他", "--by", "李娜", "--reason", "x"], "无名牌 不是监测中的品牌"),
        (["澄星", "--category", "走失", "--by", "李娜", "--reason", "x"], "未知类别 走失"),
        (["澄星", "--category", "其他", "--by", "李娜", "--reason", "  "], "须说明理由"),
        (["澄星", "--category", "其他", "--by", " ", "--reason", "x"], "须填写立案人"),
        (["澄星", "--category", "其他", "--by", "李娜", "--reason", "x", "--level", "V"], "未知级别 V"),
    ):
        refused = crisis_open(*args)
        assert refused.exit_code != 0 and says in refused.output and "Traceback" not in refused.output, refused.output
    assert incidents() == [], "a refused open writes nothing"

    with temporary_settings(restore_defaults={PREFECT_API_URL}):  # no server, whatever test ran before in this process
        done = crisis_open("澄星", "--category", "其他", "--by", "李娜", "--reason", "门店走失儿童传闻正在扩散，需核实",
                           "--level", "I")
    assert done.exit_code == 0, done.output
    (incident,) = incidents()
    assert f"已人工立案 {incident.key}：澄星 · 其他，I 级" in done.output and "立案人 李娜" in done.output
    assert "通知将在下一次扫描时发出" in done.output, "without a server the next scan announces it"
    assert (incident.brand, incident.category, incident.level, incident.state) == ("澄星", "其他", "I", "open")
    assert incident.trigger_reason == "人工立案（李娜）：门店走失儿童传闻正在扩散，需核实"
    with session_scope() as session:
        linked = session.scalar(select(func.count(Mention.id)).where(Mention.incident_id == incident.id))
        audit = session.execute(select(AuditEntry.action, AuditEntry.actor).where(
            AuditEntry.entity_id == incident.key).order_by(AuditEntry.seq)).all()
    assert linked == 101, "the post and its reposts are in the incident"
    assert incident.auto_level == "II", "graded from the window's data like a rule's incident, then set by hand"
    assert [tuple(a) for a in audit] == [("incident.opened", "李娜"), ("incident.level_overridden", "李娜")]
    assert board_row(incident, now, [])["触发原因"] == "人工立案（李娜）。", "the board says who opened it"
    report = runner.invoke(app, ["report", "--since", "2026-11-01"], env={"COLUMNS": "200"})
    assert "人工立案（规则未开启，计入上表）：1 个：检测规则漏掉的危机" in report.output, report.output

    again = crisis_open("澄星", "--category", "其他", "--by", "王强", "--reason", "重复立案")
    assert again.exit_code != 0 and f"已有进行中的事件 {incident.key}" in again.output
    later = START + timedelta(minutes=30)
    update_incidents.fn(later, "test")
    assert _board(later) == [] and len(incidents()) == 1, "a post in an incident is no longer to verify"


def test_without_a_post_in_the_window_the_incident_opens_at_its_categorys_floor(database: str) -> None:
    """No data in the window: graded like a rule's incident all the same, so a safety scare starts at II
    (severity.toml's category floor), not at IV."""
    done = runner.invoke(app, ["open", "青禾", "--category", "人身安全/食品安全", "--by", "张伟", "--reason",
                               "记者来电询问青禾牛奶致病传闻", "--now", START.isoformat()], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    (incident,) = incidents()
    assert (incident.brand, incident.category, incident.negative_count, incident.level) == \
        ("青禾", "人身安全/食品安全", 0, "II")


def test_an_empty_board_says_which_source_was_not_read() -> None:
    """Nothing listed from a source that failed is no news: the empty board names it, the description gives
    every source's health."""
    healthy = [{"name": "weibo", "status": "ok"}]
    table, description = watch_board([], healthy)
    assert table == [{"品牌 · 类别": "—", "待核实原因": "暂无：没有正在扩散却未立案的负面帖子"}]
    assert description.endswith("数据来源：weibo 正常")
    table, description = watch_board([], [*healthy, {"name": "douyin", "status": "failing"}])
    assert table[0]["待核实原因"] == "暂无，但 douyin 本次没有读全：那里的帖子未被检查，不等于没有"
    assert "douyin 读取失败" in description


def test_a_hand_open_waits_for_the_scan_triaging_that_moment_and_sees_its_incident(
        database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A person opens by hand the very group a scan is opening: the two take turns, so the person is told the
    scan's incident exists instead of a second incident opening for one crisis."""
    from tasks.triage import repository as triage_repository
    from tasks.triage.tasks import _open, open_by_hand

    reached = threading.Event()
    lock = triage_repository.lock_triage

    def reaching(session):  # type: ignore[no-untyped-def]
        reached.set()
        lock(session)

    monkeypatch.setattr(triage_repository, "lock_triage", reaching)
    outcome: list[BaseException | object] = []

    def by_hand() -> None:
        try:
            outcome.append(open_by_hand("澄星", "其他", by="李娜", reason="门店走失儿童传闻", at=START))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    with session_scope() as session:  # the scan, in the middle of its triage
        lock(session)
        scanned = _open(session, GroupWindow(brand="澄星", category="其他"), "规则开启", START, "scan", False)
        person = threading.Thread(target=by_hand)
        person.start()
        reached.wait(PATIENCE_SECONDS)
        if database == "postgresql":  # the person is queued behind this transaction (pg_locks is live;
            # pg_stat_activity would be read once per transaction)
            wait_for(lambda: not person.is_alive() or session.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))")),
                "the hand open waiting on the scan")
    person.join(PATIENCE_SECONDS)
    (refused,) = outcome
    assert isinstance(refused, InvalidTransition) and f"已有进行中的事件 {scanned.incident_key}" in str(refused)
    assert [i.key for i in incidents()] == [scanned.incident_key]
