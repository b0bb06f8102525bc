"""Rumours and false alarms on a real database: the rumour mark (audited, on the board, in the brief and the
alert mail) and closing an incident as unfounded or a false alarm from the CLI (audited, reported)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import select
from typer.testing import CliRunner

from cli.app import app
from tasks.audit import entries_for, verify_chain
from tasks.db import session_scope
from tasks.incidents import repository
from tasks.models import Incident, Mention, Notification
from tasks.notify.chase import escalate_overdue
from tasks.notify.tasks import queue_alerts
from tasks.triage.board import board_row, brief_for
from tasks.triage.rumour_tasks import flag_rumours
from tests.notify_support import incident, make_incident
from tests.tasks.test_triage import END, add_mentions, chatter, triage

AT = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
LIST_POST = ("【紧急扩散】问题食品名单！以下品牌检出致癌物：澄星、青禾、悦川、果滋、麦香园、鲜语、农乐、百味、稻香村、康源，"
             "求扩散！")
COMPLAINT = "澄星空气炸锅用了三天就冒烟，订单号 202611201234567，照片 https://img.example/p/1.jpg"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_run_logger() -> Iterator[None]:
    with disable_run_logger():
        yield


def _rumour(key: str = "INC-20261127-001") -> str:
    return make_incident(key, AT, posts=[(LIST_POST, "https://weibo.example/1"), (LIST_POST + "转", "")])


def _actions(key: str) -> list[str]:
    with session_scope() as session:
        return [e.action for e in entries_for(session, "incident", key)]


def test_an_incident_shaped_like_a_rumour_is_marked_once_audited_and_shown(database: str) -> None:
    key = _rumour()
    complaint = make_incident("INC-20261127-002", AT, posts=[(COMPLAINT, "https://weibo.example/2")])
    assert flag_rumours.fn(AT + timedelta(minutes=5), "test") == [key]
    assert flag_rumours.fn(AT + timedelta(minutes=10), "test") == [], "a standing mark changes nothing"
    marked = incident(key)
    assert marked.possible_rumour and not incident(complaint).possible_rumour
    assert marked.rumour_reason == "疑似谣言：源头为转发清单帖（列出 10 个品牌）、含“求扩散”“紧急扩散”、无信息来源"
    assert _actions(key).count("incident.rumour_marked") == 1 and "incident.rumour_marked" not in _actions(complaint)
    with session_scope() as session:
        assert verify_chain(session).ok
        row = board_row(repository.get_incident(session, key), AT, [])
        assert "疑似谣言" not in str(board_row(repository.get_incident(session, complaint), AT, [])["触发原因"])
        brief = brief_for(session, repository.get_incident(session, key), AT + timedelta(minutes=10))
    assert str(row["触发原因"]).endswith("疑似谣言。"), "the board says so; the brief says why"
    assert "## 辟谣（疑似谣言）" in brief and "向平台申请辟谣标注" in brief
    assert "> **关于网传“【紧急扩散】问题食品名单！以下品牌检出致癌物：澄星、青禾、悦川、果滋、麦香园、…”的说明**" in brief


def test_the_mark_clears_only_when_the_origin_proves_substantiated(database: str) -> None:
    key = _rumour()
    flag_rumours.fn(AT, "test")
    with session_scope() as session:
        inc = repository.get_incident(session, key)
        for n in range(3):  # first-hand complaints, earlier than the list, become the origin
            session.add(Mention(
                source="weibo", external_id=f"c{n}", platform="微博", url="", author="买家", reach=5000,
                published_at=AT - timedelta(hours=1), fetched_at=AT, text=COMPLAINT + str(n), content_hash=f"c{n}",
                simhash="0" * 16, sentiment=0.05, negative=True, category="产品质量", brand="澄星", incident_id=inc.id))
    assert flag_rumours.fn(AT + timedelta(minutes=5), "test") == [key]
    assert not incident(key).possible_rumour and "incident.rumour_cleared" in _actions(key)


def test_the_alert_of_a_marked_incident_carries_the_rumour_line_escaped(database: str) -> None:
    key = _rumour()
    with session_scope() as session:
        inc = repository.get_incident(session, key)
        inc.possible_rumour, inc.rumour_reason = True, "疑似谣言：含“求扩散”<script>x</script>\r\nBcc: a@b.example"
    queue_alerts.fn(key, AT, "test")
    with session_scope() as session:
        alert = session.scalars(select(Notification).where(Notification.kind == "alert")).first()
    assert alert is not None
    assert "疑似谣言：含“求扩散”<script>x</script> Bcc: a@b.example\n" in alert.body_text
    assert "<script>" not in alert.body_html and "疑似谣言：含“求扩散”&lt;script&gt;x&lt;/script&gt;" in alert.body_html


def test_an_unmarked_incident_has_no_rumour_line(database: str) -> None:
    key = make_incident("INC-20261127-003", AT)
    queue_alerts.fn(key, AT, "test")
    with session_scope() as session:
        alert = session.scalars(select(Notification).where(Notification.kind == "alert")).first()
    assert alert is not None and "疑似谣言" not in alert.body_text and "谣言研判" not in alert.body_html


def _opened_by_triage() -> str:
    chatter()
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, prefix="b")
    (opened,) = triage(END)
    return str(opened.incident_key)


def test_closing_as_unfounded_and_as_false_alarm_from_the_cli(database: str) -> None:
    alarm = _opened_by_triage()
    rumour = _rumour("INC-20261120-009")
    queue_alerts.fn(rumour, AT, "test")
    assert runner.invoke(app, ["ack", alarm, "--by", "李娜", "--now", "2026-11-20T20:20"]).exit_code == 0

    empty = runner.invoke(app, ["close", rumour, "--as", "unfounded", "--reason", "  ", "--by", "李娜"])
    assert empty.exit_code == 1 and "关闭须说明理由" in empty.output
    unknown = runner.invoke(app, ["close", rumour, "--as", "nonsense", "--reason", "x", "--by", "李娜"])
    assert unknown.exit_code == 2 and "nonsense" in unknown.output
    stray = runner.invoke(app, ["close", rumour, "--reason", "x", "--by", "李娜"])
    assert stray.exit_code == 2
    assert incident(rumour).state == "open"

    done = runner.invoke(app, ["close", rumour, "--as", "unfounded", "--reason", "检测报告合格，已发布辟谣声明",
                               "--by", "李娜", "--now", "2026-11-27T11:00"])
    assert done.exit_code == 0, done.output
    assert f"{rumour}：已按 谣言（不实） 关闭（--as unfounded），关闭人 李娜" in done.output
    false = runner.invoke(app, ["close", alarm, "--as", "false_alarm", "--reason", "促销活动带来的正常讨论",
                                "--by", "张伟", "--now", "2026-11-20T21:00"])
    assert false.exit_code == 0, false.output
    assert "触发的规则：" in false.output and "负面短时突增（short_spike）" in false.output

    closed = {i.key: i for i in (incident(rumour), incident(alarm))}
    assert {(k, i.state, i.resolution) for k, i in closed.items()} == {(rumour, "closed", "unfounded"),
                                                                      (alarm, "closed", "false_alarm")}
    assert closed[rumour].closed_at == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert closed[rumour].resolved_at is None and closed[rumour].resolution_note == "检测报告合格，已发布辟谣声明"
    with session_scope() as session:
        (unfounded,) = [e for e in entries_for(session, "incident", rumour) if e.action == "incident.unfounded"]
        (alarmed,) = [e for e in entries_for(session, "incident", alarm) if e.action == "incident.false_alarm"]
        assert unfounded.actor == "李娜" and "检测报告合格" in unfounded.after
        assert alarmed.actor == "张伟" and "short_spike" in alarmed.after and "短期突增" in alarmed.after
        assert verify_chain(session).ok
        assert repository.active_incidents(session) == []
    assert escalate_overdue.fn(AT + timedelta(hours=9), "test") == [], "a dismissed incident is not chased"

    again = runner.invoke(app, ["close", alarm, "--as", "unfounded", "--reason", "x", "--by", "张伟"])
    assert again.exit_code == 1 and "事件处于「已关闭」，不能按 谣言（不实） 关闭" in again.output

    report = runner.invoke(app, ["report", "--since", "2026-11-01"])
    assert report.exit_code == 0, report.output
    assert "自 2026-11-01 起共 0 个事件（不含演练）" in report.output
    assert "不构成危机（未计入上表）：谣言 1 个，误报 1 个" in report.output
    assert "误报按触发规则：" in report.output and "负面短时突增（short_spike） 1" in report.output
    (short,) = [line for line in report.output.splitlines() if "负面短时突增（short_spike）" in line and "│" in line]
    assert [cell.strip() for cell in short.split("│")[1:-1]] == ["负面短时突增（short_spike）", "1", "0", "0", "1", "100%"]


def test_closing_without_as_still_needs_a_resolved_incident(database: str) -> None:
    key = _rumour()
    refused = runner.invoke(app, ["close", key, "--by", "张伟"])
    assert refused.exit_code == 1 and "事件处于「新建」，不能转为「已关闭」" in refused.output
    with session_scope() as session:
        assert session.scalars(select(Incident.resolution)).one() is None
