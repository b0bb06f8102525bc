"""A live crisis never closes for lack of data: a recovery check needs mentions of the brand and every source
that feeds it healthy, else it is `insufficient`; the scribe is told once when the incident cannot be judged;
the demo's week recovers on real chatter (SQLite and PostgreSQL, real SMTP server)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import select, update
from typer.testing import CliRunner

from cli.app import app
from config.files import load_roster
from config.settings import get_settings
from tasks.aftercare.review import render_review
from tasks.aftercare.review_tasks import review_data
from tasks.aftercare.tasks import evaluate_recovery
from tasks.db import session_scope
from tasks.demo import RECOVERY_CHECK_HOURS
from tasks.incidents.repository import get_incident
from tasks.models import AuditEntry, Incident, Mention, RecoveryCheck
from tasks.monitoring.health import SourceOutcome
from tasks.monitoring.repository import record_health
from tasks.monitoring.tasks import analyse_mentions, read_extra_file, store_mentions
from tasks.notify.tasks import deliver_outbox
from tasks.scenario.files import write_mentions
from tasks.scenario.week import generate_scenario
from tasks.triage.tasks import update_incidents
from tests.helpers import read_mail, text_part
from tests.tasks.test_aftercare import _opened_and_mitigated
from tests.tasks.test_triage import END, add_mentions, incidents

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_run_logger() -> Iterator[None]:
    with disable_run_logger():
        yield


def _check(key: str, hours: float) -> dict[str, object]:
    return evaluate_recovery.fn(key, END + timedelta(hours=hours), "test")


def _quiet_days_from(source: str) -> None:
    """The days after the crisis: eight calm mentions an hour, all brought by `source`."""
    for hour in range(1, 30):
        add_mentions(8, start=END + timedelta(hours=hour), minutes=50, negative=False, category=None, prefix=f"q{hour}-")
    with session_scope() as session:
        session.execute(update(Mention).values(source=source))


def _health(source: str, hours: float, error: str | None = None) -> None:
    with session_scope() as session:
        record_health(session, SourceOutcome(source, "file", error, mentions=0 if error else 8), END + timedelta(hours=hours))


def test_no_mentions_in_the_window_is_insufficient_and_never_resolves(database: str) -> None:
    key = _opened_and_mitigated()
    results = [_check(key, h) for h in (26, 27, 28)]  # nothing was said after the crisis: no evidence
    assert [r["outcome"] for r in results] == ["insufficient"] * 3
    assert "窗口内品牌提及 0 条，少于最低要求 50 条" in str(results[0]["reason"])
    (incident,) = incidents()
    assert incident.state == "monitoring" and incident.resolved_at is None
    with session_scope() as session:
        assert set(session.scalars(select(RecoveryCheck.outcome))) == {"insufficient"}


def test_a_dead_source_of_the_brand_is_named_although_mentions_abound(database: str) -> None:
    key = _opened_and_mitigated()
    _quiet_days_from("inbox")
    _health("inbox", -1)  # read fine before the crisis, then its token expired
    _health("inbox", 25, error="HTTP 401: token expired")
    result = _check(key, 26)
    assert result["outcome"] == "insufficient"
    assert "来源 inbox 不可用（状态 failing，自 2026-11-20 19:00 起没有成功读取）" in str(result["reason"])
    assert "品牌提及 19" in str(result["reason"]), "plenty of mentions: the dead source alone stops it"
    assert incidents()[0].state == "monitoring"


def test_a_source_not_scanned_within_the_window_counts_as_down(database: str) -> None:
    key = _opened_and_mitigated()
    _quiet_days_from("inbox")
    _health("inbox", -1)  # its last scan said ok, but the scans stopped a day ago
    result = _check(key, 26)
    assert result["outcome"] == "insufficient"
    assert "来源 inbox 不可用（状态 ok，自 2026-11-20 19:00 起没有成功读取）" in str(result["reason"])


def test_the_scribe_is_told_once_and_it_is_audited(database: str, smtp_sink: Path) -> None:
    key = _opened_and_mitigated()
    required = get_settings().recovery.windows_required
    for n, hour in enumerate(range(26, 26 + required + 2), start=1):
        _check(key, hour)
        _check(key, hour)  # a re-run of the same window
        deliver_outbox.fn(END + timedelta(hours=hour))
        assert len(read_mail(smtp_sink)) == (0 if n < required else 1), f"after {n} checks"
    (mail,) = read_mail(smtp_sink)
    scribes = {p.email for p in load_roster().people if "scribe" in p.roles}
    assert {mail["X-Envelope-To"]} == scribes
    assert "无法判断恢复情况" in mail["Subject"] and key in mail["Subject"]
    body = text_part(mail, "plain")
    assert f"连续 {required} 次回落检查数据不足" in body and "少于最低要求 50 条" in body
    with session_scope() as session:
        told = session.scalars(select(AuditEntry).where(AuditEntry.action == "recovery.cannot_judge")).all()
    assert [(e.entity_id, e.actor) for e in told] == [(key, "test")]
    assert incidents()[0].state == "monitoring"


def test_the_review_shows_checks_that_could_not_judge(database: str) -> None:
    key = _opened_and_mitigated()
    for hour in (26, 27, 28):
        _check(key, hour)
    with session_scope() as session:
        text = render_review(review_data(session, get_incident(session, key), "c.png", END + timedelta(hours=29)))
    assert "回落检查 3 次：数据不足（无法判断） 3 次" in text
    assert "3 次检查数据不足、无法判断" in text.split("### 需要改进的")[1]
    assert "**无法判断恢复情况**" in text and "最近一次回落检查" in text and "数据不足，无法判断" in text


def test_enough_healthy_evidence_recovers_as_before(database: str) -> None:
    key = _opened_and_mitigated()
    _quiet_days_from("inbox")
    outcomes = []
    for hour in (26, 27, 28):
        _health("inbox", hour - 0.1)
        outcomes.append(_check(key, hour))
    assert [r["outcome"] for r in outcomes] == ["recovered", "recovered", "resolved"]
    assert all(str(r["reason"]).startswith("已回落：品牌提及 1") for r in outcomes)
    assert incidents()[0].state == "resolved"


def test_a_check_as_of_a_time_ignores_checks_of_later_windows(database: str) -> None:
    """The demo (and any backfilled check) judges a past window after a check at the wall clock has found no
    data: the earlier windows' recovered checks still resolve the incident, the later check neither counts
    nor breaks their run."""
    key = _opened_and_mitigated()
    _quiet_days_from("inbox")
    assert _check(key, 24 * 5)["outcome"] == "insufficient"  # days later: no mention in its window
    outcomes = []
    for hour in (26, 27, 28):
        _health("inbox", hour - 0.1)
        outcomes.append(_check(key, hour))
    assert [r["outcome"] for r in outcomes] == ["recovered", "recovered", "resolved"]


def test_a_source_that_skipped_a_bad_record_still_counts_as_feeding_the_brand(database: str) -> None:
    """`partial` (a record skipped or cleaned, the rest stored) is not a dead source: one hostile post in a
    feed must not hold a recovered incident open."""
    key = _opened_and_mitigated()
    _quiet_days_from("inbox")
    outcomes = []
    for hour in (26, 27, 28):
        with session_scope() as session:
            record_health(session, SourceOutcome("inbox", "file", None, mentions=8, problems=1),
                          END + timedelta(hours=hour - 0.1))
        outcomes.append(_check(key, hour))
    assert [r["outcome"] for r in outcomes] == ["recovered", "recovered", "resolved"]


def _scan(path: Path, at) -> None:  # type: ignore[no-untyped-def]
    """What the demo's scan deployment does with its file: read as of `at`, analyse, store, triage."""
    store_mentions.fn(analyse_mentions.fn(read_extra_file.fn(str(path), at).mentions, at))
    update_incidents.fn(at, "test")


def test_the_demo_week_goes_on_after_the_crisis_and_recovers_on_evidence(sqlite_db: str, var_dir: Path) -> None:
    scenario = generate_scenario(11, END)
    path = var_dir / "demo" / "mentions.jsonl"
    write_mentions(scenario, path)
    for minutes in (-60, 30, 60, 90, 120):  # the demo's scans around the crisis start
        _scan(path, scenario.crisis_start + timedelta(minutes=minutes))
    with session_scope() as session:
        key = session.scalars(select(Incident.key).where(Incident.brand == scenario.brand)).one()
    for command, hours in (("ack", 2), ("mitigate", 6)):
        at = (scenario.crisis_start + timedelta(hours=hours)).isoformat()
        assert runner.invoke(app, [command, key, "--by", "李娜", "--now", at]).exit_code == 0
    results = []
    for hours in RECOVERY_CHECK_HOURS:
        _scan(path, scenario.crisis_start + timedelta(hours=hours))
        results.append(evaluate_recovery.fn(key, scenario.crisis_start + timedelta(hours=hours), "test"))
    assert [r["outcome"] for r in results] == ["recovered", "recovered", "resolved"], results
    assert all(str(r["reason"]).startswith("已回落：品牌提及") for r in results)
    _scan(path, scenario.end)
    with session_scope() as session:
        times = session.scalars(select(Mention.published_at).where(
            Mention.brand == scenario.brand, Mention.published_at > scenario.crisis_start + timedelta(hours=24))).all()
    per_day = Counter(int((t - scenario.crisis_start) / timedelta(days=1)) for t in times)
    assert [per_day[d] >= get_settings().recovery.min_mentions for d in (1, 2, 3)] == [True] * 3, per_day
