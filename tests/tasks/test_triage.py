"""Triage on a real database: incidents open once with their reason, escalate, respect monitor mode,
snoozes and manual overrides (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.app import app
from config.files import clear_caches
from tasks.db import session_scope
from tasks.models import AuditEntry, DetectionHit, Incident, Mention
from tasks.triage.tasks import update_incidents

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = Path(__file__).resolve().parents[2] / "config"


def add_mentions(n: int, *, start: datetime, minutes: float, brand: str = "澄星", category: str | None = "产品质量",
                 negative: bool = True, reach: int = 500, critical: str = "", prefix: str = "m") -> None:
    """Insert n mentions spread evenly over `minutes` from `start`."""
    with session_scope() as session:
        base = session.scalar(select(func.count(Mention.id))) or 0
        for i in range(n):
            at = start + timedelta(minutes=minutes * i / max(n, 1))
            session.add(Mention(
                source="test", external_id=f"{prefix}{base + i}", reach=reach, published_at=at, fetched_at=at,
                text=f"{brand} 帖子 {i}", content_hash=f"{prefix}{base + i}", simhash="0", sentiment=0.1 if negative else 0.9,
                negative=negative, category=category, brand=brand, critical_terms=critical,
            ))


def chatter(days: int = 3) -> None:
    """Ordinary days: a few mentions an hour per brand, one in ten negative."""
    for hour in range(days * 24):
        at = END - timedelta(hours=days * 24 - hour)
        add_mentions(9, start=at, minutes=55, negative=False, category=None, prefix=f"c{hour}-")
        if hour % 2 == 0:
            add_mentions(1, start=at, minutes=1, prefix=f"n{hour}-")


def triage(at: datetime) -> list:  # type: ignore[type-arg]
    with disable_run_logger():
        return update_incidents.fn(at, "test")


def incidents() -> list[Incident]:
    with session_scope() as session:
        return list(session.scalars(select(Incident).order_by(Incident.id)))


def test_quiet_days_open_nothing(database: str) -> None:
    chatter()
    assert [triage(END - timedelta(hours=h)) for h in range(0, 12, 3)] == [[], [], [], []]
    assert incidents() == []


def test_a_burst_opens_one_incident_with_its_reason_and_a_rerun_adds_nothing(database: str) -> None:
    chatter()
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, prefix="b")
    changes = triage(END)
    assert [(c.kind, c.level) for c in changes] == [("opened", changes[0].level)]
    assert triage(END)[0].kind == "updated"
    (incident,) = incidents()
    assert (incident.brand, incident.category, incident.state) == ("澄星", "产品质量", "open")
    assert "短期突增" in incident.trigger_reason and "负面 3" in incident.trigger_reason
    assert incident.started_at <= incident.detected_at == END
    with session_scope() as session:
        linked = session.scalar(select(func.count(Mention.id)).where(Mention.incident_id == incident.id))
        hits = session.scalars(select(DetectionHit.rule).where(DetectionHit.incident_id == incident.id)).all()
    assert linked >= 30 and "short_spike" in hits


def test_growing_heat_escalates_once(database: str) -> None:
    chatter()
    add_mentions(12, start=END - timedelta(minutes=50), minutes=45, prefix="b")
    opened = triage(END)[0]
    add_mentions(200, start=END + timedelta(minutes=5), minutes=50, reach=50_000, prefix="w")
    later = END + timedelta(minutes=60)
    escalated = triage(later)
    assert escalated[0].kind == "escalated" and escalated[0].previous_level == opened.level
    assert triage(later)[0].kind == "updated"
    with session_scope() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == "incident.escalated")) == 1


def test_another_category_of_the_same_brand_is_another_incident(database: str) -> None:
    chatter()
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, prefix="q")
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, category="物流配送", prefix="l")
    triage(END)
    assert sorted(i.category for i in incidents()) == ["产品质量", "物流配送"]


def test_critical_terms_open_at_once_on_a_handful_of_posts(database: str) -> None:
    chatter()
    add_mentions(3, start=END - timedelta(minutes=20), minutes=10, category="个人信息泄露", critical="泄露",
                 prefix="x")
    (change,) = triage(END)
    (incident,) = incidents()
    assert change.kind == "opened" and "关键风险词" in incident.trigger_reason
    assert incident.level in ("I", "II"), "personal data never sits below II"


def _config_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    text = (copy / "detection.toml").read_text(encoding="utf-8")
    for rule in ("short_spike", "long_spike"):
        text = text.replace(f'{rule} = "enforce"', f'{rule} = "{extra}"')
    (copy / "detection.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CRISIS_CONFIG_DIR", str(copy))
    clear_caches()


def test_a_rule_in_monitor_mode_records_what_it_would_have_done(database: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _config_copy(tmp_path, monkeypatch, "monitor")
    chatter()
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, prefix="b")
    assert triage(END) == [] and incidents() == []
    with session_scope() as session:
        hits = session.scalars(select(DetectionHit)).all()
    assert {(h.rule, h.mode, h.incident_id) for h in hits} >= {("short_spike", "monitor", None)}
    assert {h.mode for h in hits} == {"monitor"}


def test_a_snoozed_sale_opens_nothing_but_a_leak_still_does(database: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    snooze = ('short_spike = "enforce"\n\n[[snooze]]\nbrands = ["澄星"]\nstart = 2026-11-20T18:00:00\n'
              'end = 2026-11-20T22:00:00\nrules = ["short_spike", "long_spike"]\nreason = "双11"\n')
    text = (CONFIG / "detection.toml").read_text(encoding="utf-8")
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (copy / "detection.toml").write_text(text + "\n" + snooze.split("\n", 2)[2], encoding="utf-8")
    monkeypatch.setenv("CRISIS_CONFIG_DIR", str(copy))
    clear_caches()
    chatter()
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, prefix="b")
    assert triage(END) == []  # 20:00 in Shanghai: inside the snooze
    with session_scope() as session:
        assert set(session.scalars(select(DetectionHit.mode)).all()) == {"snoozed"}
    add_mentions(3, start=END - timedelta(minutes=10), minutes=5, category="个人信息泄露", critical="泄露", prefix="x")
    assert [c.kind for c in triage(END + timedelta(minutes=1))] == ["opened"]


def test_a_manual_level_override_is_audited_and_not_undone_by_the_next_scan(database: str) -> None:
    chatter()
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, prefix="b")
    (opened,) = triage(END)
    target = "IV" if opened.level != "IV" else "III"
    result = CliRunner().invoke(app, ["level", opened.incident_key, "--to", target, "--reason", "经核实为个例",
                                      "--by", "张伟", "--now", "2026-11-20T20:10"])
    assert result.exit_code == 0, result.output
    assert triage(END + timedelta(minutes=15))[0].kind == "updated"
    (incident,) = incidents()
    assert incident.level == target
    with session_scope() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "incident.level_overridden")).one()
    assert entry.actor == "张伟" and "经核实为个例" in entry.after
    refused = CliRunner().invoke(app, ["level", opened.incident_key, "--to", "V", "--reason", "x", "--by", "张伟"])
    assert refused.exit_code == 1 and "未知级别" in refused.output


def test_reposts_and_near_duplicates_join_the_incident_of_what_they_repeat(database: str) -> None:
    chatter()
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, prefix="b")
    with session_scope() as session:
        original = session.scalars(select(Mention).where(Mention.external_id.like("b%"))).first()
        assert original is not None
        for n, category in enumerate((None, "物流配送")):  # a neutral "转发微博" and a repost read as another category
            session.add(Mention(source="test", external_id=f"repost{n}", reach=50_000, published_at=END - timedelta(
                minutes=5), fetched_at=END, text="转发微博", content_hash=f"r{n}", simhash="0", sentiment=0.6,
                negative=False, category=category, brand="澄星", duplicate_of_id=original.id))
        session.add(Mention(source="test", external_id="unrelated", reach=10, published_at=END - timedelta(minutes=5),
                            fetched_at=END, text="澄星 不错", content_hash="u", simhash="0", sentiment=0.9,
                            negative=False, category=None, brand="澄星"))
    triage(END)
    (incident,) = incidents()
    with session_scope() as session:
        linked = set(session.scalars(select(Mention.external_id).where(Mention.incident_id == incident.id)))
    assert {"repost0", "repost1"} <= linked and "unrelated" not in linked


def test_the_board_row_is_chinese_with_a_short_reason_without_numbers(database: str) -> None:
    from tasks.incidents.repository import fired_rules, get_incident
    from tasks.triage.board import board_row

    chatter()
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, prefix="b")
    (opened,) = triage(END)
    with session_scope() as session:
        incident = get_incident(session, opened.incident_key)
        row = board_row(incident, END + timedelta(minutes=35), fired_rules(session, incident.id))
    assert list(row) == ["事件编号", "级别", "状态", "品牌 · 类别", "热度", "已持续", "负责人", "触发原因"]
    assert row["状态"] == "新建" and row["品牌 · 类别"] == "澄星 · 产品质量" and row["已持续"] == "35 分钟"
    assert row["负责人"] == "未确认" and str(row["触发原因"]).startswith("负面短时突增")
    assert not any(ch.isdigit() for ch in str(row["触发原因"])), "the numbers stay in the brief"
