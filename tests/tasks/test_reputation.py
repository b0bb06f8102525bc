"""Reputation on a real database: the daily indicators as stored (drills never count, a post naming two brands
counts for both, recomputing a day gives the same rows), the weekly 声誉报告 written with its charts and mailed
once per week to the PR lead and the commander (real SMTP sink), and `crisis report reputation`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import select
from typer.testing import CliRunner

from cli.app import app
from tasks.db import session_scope
from tasks.models import Mention, MentionBrand, ReputationDay
from tasks.notify.tasks import deliver_outbox
from tasks.reputation.tasks import compute_reputation, write_reputation_report
from tests.helpers import read_mail, text_part
from tests.notify_support import emails_of

DAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_run_logger() -> Iterator[None]:
    with disable_run_logger():
        yield


def _add(brand: str, at: datetime, text: str, *, negative: bool, drill: bool = False, also: str | None = None,
         category: str | None = "产品质量", n: int = 1) -> None:
    with session_scope() as session:
        for _ in range(n):
            number = session.scalar(select(Mention.id).order_by(Mention.id.desc()).limit(1)) or 0
            mention = Mention(source="drill" if drill else "weibo", external_id=f"m{number + 1}", platform="微博",
                              reach=10, published_at=at, fetched_at=at, text=text, content_hash=f"h{number + 1}",
                              simhash="0" * 16, sentiment=0.1 if negative else 0.9, negative=negative,
                              category=category if negative else None, brand=brand, is_drill=drill)
            session.add(mention)
            session.flush()
            if also:
                session.add(MentionBrand(mention_id=mention.id, brand=also))


def _week_of_posts() -> None:
    noon = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
    _add("澄星", noon, "澄星空气炸锅用了一周就漏电冒烟，太吓人了", negative=True, category="人身安全", n=4)
    _add("澄星", noon, "澄星电水壶很好用，烧水快", negative=False, n=2)
    _add("焰峰", noon, "焰峰空气炸锅质量一般，客服还行", negative=True, n=2)
    _add("焰峰", noon, "焰峰电饭煲煮饭很香", negative=False, n=3, also="澄星")  # names both: counts for both
    _add("澄星", noon, "【演练】澄星空气炸锅起火", negative=True, drill=True, n=50)  # a drill never counts


def _stored() -> dict[str, dict[str, object]]:
    with session_scope() as session:
        rows = session.scalars(select(ReputationDay).where(ReputationDay.day == DAY.isoformat()))
        return {r.brand: {c.key: getattr(r, c.key) for c in ReputationDay.__table__.columns if c.key != "computed_at"}
                for r in rows}


def test_a_day_is_stored_per_brand_drills_never_count_and_a_recompute_changes_nothing(database: str) -> None:
    _week_of_posts()
    compute_reputation.fn(DAY, DAY, NOW)
    first = _stored()
    assert set(first) == {"澄星", "青禾", "木棉优选", "焰峰"}, "every watched brand, ours and the rival's"
    ours, rival = first["澄星"], first["焰峰"]
    assert (ours["volume"], ours["negative"], ours["positive"]) == (9, 4, 5), "the drill's 50 never count"
    assert (rival["volume"], rival["competitor"], rival["product_category"]) == (5, True, "厨房电器")
    assert ours["share_of_voice"] == pytest.approx(9 / 14) and ours["net_sentiment"] == pytest.approx(1 / 9)
    assert ours["top_categories"] == '[["人身安全", 4]]'
    assert "漏电" in ours["rising_terms"] and "冒烟" in ours["rising_terms"], "jieba tokens of the negative posts"
    assert "澄星空气炸锅" not in ours["rising_terms"] and "演练" not in ours["rising_terms"]
    assert first["青禾"]["volume"] == 0 and first["青禾"]["share_of_voice"] == 0.0

    compute_reputation.fn(DAY, DAY, NOW + timedelta(hours=3))
    assert _stored() == first
    with session_scope() as session:
        assert len(session.scalars(select(ReputationDay)).all()) == 4


def test_weekly_report_has_chinese_charts_and_goes_once_per_week(database: str, smtp_sink: Path) -> None:
    _week_of_posts()
    compute_reputation.fn(DAY - timedelta(days=7 * 7 + 3), DAY + timedelta(days=3), NOW)
    path = Path(write_reputation_report.fn("2026-W48", NOW))
    text = path.read_text(encoding="utf-8")
    assert path.name == "reputation-2026-W48.md" and path.with_suffix(".html").exists()
    assert "# 声誉报告 2026-W48（2026-11-23 至 2026-11-29）" in text
    assert "本周我方品牌共被提及 9 次（上周 0 次，—）" in text
    assert "澄星在「厨房电器」品类的声量份额为 64.3%（上周 0.0%），竞品焰峰 35.7%" in text
    for name in ("reputation-2026-W48-7d.png", "reputation-2026-W48-8w.png"):
        assert f"]({name})" in text and (path.parent / name).read_bytes()[:4] == b"\x89PNG"
    assert "data:image/png;base64," in path.with_suffix(".html").read_text(encoding="utf-8")

    write_reputation_report.fn("2026-W48", NOW + timedelta(hours=1))  # a re-run: the mail is queued once
    assert deliver_outbox.fn(NOW)["sent"] == 2
    assert deliver_outbox.fn(NOW + timedelta(hours=2)) == {"sent": 0}
    mail = read_mail(smtp_sink)
    assert {m["X-Envelope-To"] for m in mail} == emails_of("张伟", "李娜"), "the commander and the PR lead"
    assert all(m["Subject"] == "【声誉报告】2026-W48 品牌声誉周报（2026-11-23 至 2026-11-29）" for m in mail)
    assert "本周变化" in text_part(mail[0], "plain") and "<img" in text_part(mail[0], "html")


def test_crisis_report_reputation_says_a_bad_week_in_one_line(sqlite_db: str) -> None:
    result = runner.invoke(app, ["report", "reputation", "--week", "2026-48"])
    assert result.exit_code == 1
    assert "2026-W48" in result.output and len(result.output.strip().splitlines()) == 1
