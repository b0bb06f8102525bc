"""After-action on a real database: recovery over consecutive windows, a second wave, repair steps,
closing, and the cross-incident report (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from prefect.logging import disable_run_logger
from sqlalchemy import select, update
from typer.testing import CliRunner

from cli.app import app
from tasks.aftercare.tasks import evaluate_recovery
from tasks.db import session_scope
from tasks.incidents.state import IncidentState, Level, Resolution
from tasks.models import AuditEntry, Incident, Mention, RepairStep
from tests.tasks.test_triage import END, add_mentions, chatter, incidents, triage

runner = CliRunner()


def _opened_and_mitigated() -> str:
    chatter()
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, prefix="b")
    (opened,) = triage(END)
    key = opened.incident_key
    assert runner.invoke(app, ["ack", key, "--by", "李娜", "--now", "2026-11-20T20:20"]).exit_code == 0
    result = runner.invoke(app, ["mitigate", key, "--by", "李娜", "--now", "2026-11-20T21:00"])
    assert result.exit_code == 0, result.output
    return key


def _recover(key: str, hours: float) -> str:
    with disable_run_logger():
        return str(evaluate_recovery.fn(key, END + timedelta(hours=hours), "test")["outcome"])


def test_resolves_after_three_consecutive_recovered_windows(database: str) -> None:
    key = _opened_and_mitigated()
    for hour in range(1, 30):  # the quiet days go on
        add_mentions(8, start=END + timedelta(hours=hour), minutes=50, negative=False, category=None, prefix=f"q{hour}-")
    assert [_recover(key, h) for h in (26, 27, 28)] == ["recovered", "recovered", "resolved"]
    assert _recover(key, 29) == "skipped"
    (incident,) = incidents()
    assert incident.state == "resolved" and incident.resolved_at == END + timedelta(hours=28)


def test_a_second_wave_sends_it_back_to_responding_one_level_up(database: str) -> None:
    key = _opened_and_mitigated()
    level_before = incidents()[0].level
    add_mentions(40, start=END + timedelta(hours=10), minutes=50, prefix="w")
    assert _recover(key, 11) == "second_wave"
    (incident,) = incidents()
    assert incident.state == "responding"
    assert incident.level == {"IV": "III", "III": "II", "II": "I", "I": "I"}[level_before]
    with session_scope() as session:
        reasons = session.scalars(select(AuditEntry.after).where(AuditEntry.action == "incident.responding")).all()
    assert any("二次爆发" in r for r in reasons)


def test_a_dismissed_story_spreading_in_the_category_is_no_second_wave(database: str) -> None:
    """The same 40 posts as the second wave above, but held by an incident of the brand and category a responder
    closed as 误报 an hour before: detection leaves that story out, and so does recovery."""
    key = _opened_and_mitigated()
    for hour in range(1, 12):  # the quiet hours a recovery needs
        add_mentions(8, start=END + timedelta(hours=hour), minutes=50, negative=False, category=None, prefix=f"q{hour}-")
    add_mentions(40, start=END + timedelta(hours=10), minutes=50, prefix="w")
    with session_scope() as session:
        dismissed = Incident(key="INC-20261120-009", brand="澄星", category="产品质量", level=Level.IV,
                             state=IncidentState.CLOSED, heat=0.0, trigger_reason="短期突增", started_at=END + timedelta(hours=8),
                             detected_at=END + timedelta(hours=8), closed_at=END + timedelta(hours=9),
                             resolution=Resolution.FALSE_ALARM)
        session.add(dismissed)
        session.flush()
        session.execute(update(Mention).where(Mention.external_id.like("w%")).values(incident_id=dismissed.id))
    assert _recover(key, 11) == "recovered"
    assert [(i.key, i.state) for i in incidents()] == [(key, "monitoring"), ("INC-20261120-009", "closed")]


def test_repair_steps_are_set_from_the_cli_and_audited(database: str) -> None:
    key = _opened_and_mitigated()
    result = runner.invoke(app, ["step", key, "apology", "--by", "李娜", "--owner", "李娜", "--state", "done",
                                 "--due", "2026-11-21T10:00", "--evidence", "https://example.com/apology"])
    assert result.exit_code == 0, result.output
    with session_scope() as session:
        step = session.scalars(select(RepairStep)).one()
        assert (step.step, step.state, step.evidence) == ("apology", "done", "https://example.com/apology")
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "repair.step_updated")).one().actor == "李娜"
    bad = runner.invoke(app, ["step", key, "party", "--by", "李娜"])
    assert bad.exit_code == 1 and "未知的修复步骤 'party'" in bad.output


def test_only_a_resolved_incident_closes(database: str) -> None:
    key = _opened_and_mitigated()
    refused = runner.invoke(app, ["close", key, "--by", "张伟"])
    assert refused.exit_code == 1 and "事件处于「观察中」，不能转为「已关闭」" in refused.output
    for hour in range(1, 30):
        add_mentions(8, start=END + timedelta(hours=hour), minutes=50, negative=False, category=None, prefix=f"q{hour}-")
    [_recover(key, h) for h in (26, 27, 28)]
    closed = runner.invoke(app, ["close", key, "--by", "张伟", "--now", "2026-11-24T10:00"])
    assert closed.exit_code == 0, closed.output
    with session_scope() as session:
        assert session.scalars(select(Incident.state)).one() == "closed"


def test_report_counts_real_incidents_since_a_day(database: str) -> None:
    _opened_and_mitigated()
    with session_scope() as session:
        session.add(Incident(key="INC-DRILL-001", brand="青禾", category="个人信息泄露", level="II", state="open",
                             heat=70.0, trigger_reason="演练", started_at=END, detected_at=END, is_drill=True))
    result = runner.invoke(app, ["report", "--since", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert "自 2026-11-01 起共 1 个事件（不含演练）" in result.output
    assert "产品质量 1" in result.output and "个人信息泄露" not in result.output


def _review_text(key: str, hours: float) -> str:
    from tasks.aftercare.review import render_review
    from tasks.aftercare.review_tasks import review_data
    from tasks.incidents.repository import get_incident

    with session_scope() as session:
        return render_review(review_data(session, get_incident(session, key), "c.png", END + timedelta(hours=hours)))


def test_lessons_are_added_from_the_cli_listed_with_who_and_when_and_refused_once_closed(database: str) -> None:
    key = _opened_and_mitigated()
    assert "待填写" in _review_text(key, 2).split("## 经验教训")[1].split("##")[0]
    lesson = "客服口径 <b>应在</b> 首个小时内统一 [见](http://x.example)"
    added = runner.invoke(app, ["lesson", key, "--by", "王强", "--text", lesson, "--now", "2026-11-20T22:00"])
    assert added.exit_code == 0, added.output
    assert "已记录经验教训（共 1 条，填写人 王强）" in added.output and "复盘生成时将列出" in added.output
    again = runner.invoke(app, ["lesson", key, "--by", "王强", "--text", lesson])
    assert again.exit_code == 0 and "已记录过（共 1 条" in again.output, "the same lesson is kept once"
    section = _review_text(key, 2).split("## 经验教训")[1].split("##")[0]
    assert "- 客服口径 &lt;b&gt;应在&lt;/b&gt; 首个小时内统一 \\[见\\](http\\[:\\]//x.example)（王强，2026-11-20 22:00）" \
        in section and "待填写" not in section, "escaped: no HTML, no link"
    with session_scope() as session:
        assert session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "review.lesson_added")).all() == \
            ["王强"]

    for hour in range(1, 30):
        add_mentions(8, start=END + timedelta(hours=hour), minutes=50, negative=False, category=None, prefix=f"q{hour}-")
    [_recover(key, h) for h in (26, 27, 28)]
    assert runner.invoke(app, ["close", key, "--by", "张伟", "--now", "2026-11-24T10:00"]).exit_code == 0
    late = runner.invoke(app, ["lesson", key, "--by", "王强", "--text", "补一条"])
    assert late.exit_code == 1 and "事件已关闭，复盘已定稿" in late.output


def test_the_review_timeline_reads_as_chinese_sentences(database: str) -> None:
    key = _opened_and_mitigated()
    text = _review_text(key, 2)
    timeline = text.split("## 时间线（来自审计日志）")[1].split("## ")[0]
    assert "**事件开启**：以 " in timeline and "原因：短期突增" in timeline and "李娜 接手" in timeline
    assert "状态变为「观察中」" in timeline and "纯属偶然的可能性" in timeline
    assert "level=" not in text and "state=" not in text and "Poisson" not in text
    assert "状态：观察中" in text and "monitoring" not in text
