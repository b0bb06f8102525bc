"""同类风险预警 through the scan's real path (generated week → canonical file → analyse → store → triage every
10 minutes), SQLite and PostgreSQL: a competitor's mentions are stored under its name and open nothing of
ours; the same burst that opens our incident raises the competitor alert within two scans, once a day, told
by mail to the PR lead and our kitchen-appliance owner only; a rival's 双11 surge raises nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import func, select

from tasks.db import session_scope
from tasks.models import AuditEntry, CompetitorAlert, Incident, Mention, Notification
from tasks.monitoring.sources import RawMention, read_canonical_file
from tasks.monitoring.tasks import analyse_mentions, store_mentions
from tasks.notify.tasks import deliver_outbox
from tasks.scenario.week import CrisisSpec, SurgeSpec, generate_week
from tasks.triage.tasks import update_incidents
from tasks.triage.warning import BOARD_COLUMNS, QUESTION
from tasks.triage.warning_tasks import competitor_board_rows
from tests.helpers import read_mail, text_part
from tests.notify_support import emails_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED = 19
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
ONSET = END - timedelta(hours=9)  # 11:00 in Shanghai: nobody is in quiet hours, the day does not turn
EVERY = timedelta(minutes=10)


@pytest.fixture(autouse=True)
def _no_run_logger() -> Iterator[None]:
    with disable_run_logger():
        yield


def _week(brand: str, product: str) -> list[dict[str, object]]:
    crisis = CrisisSpec(brand, product, "产品质量", ONSET, size="medium")
    return generate_week(SEED, END, days=4, crises=[crisis], rivals=True).mentions


def same_burst_file(folder: Path) -> Path:
    """Write one export holding the week's chatter (ours and the rival's) and the same generated burst twice:
    under 澄星空气炸锅 and under 焰峰空气炸锅 (same seed: same times, same words, only the names differ)."""
    ours, theirs = _week("澄星", "澄星空气炸锅"), _week("焰峰", "焰峰空气炸锅")
    seen = {(m["published_at"], m["text"]) for m in ours}
    rival_burst = [m for m in theirs if (m["published_at"], m["text"]) not in seen]
    assert rival_burst and all("焰峰空气炸锅" in str(m["text"]) for m in rival_burst)
    rows = [{**m, "id": f"a{n}"} for n, m in enumerate(ours)] + [{**m, "id": f"b{n}"} for n, m in enumerate(rival_burst)]
    path = folder / "week.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


class Scanner:
    """Scans as `crisis scan` runs them, each storing only the posts published since the previous one."""

    def __init__(self, path: Path) -> None:
        self.posts = sorted(read_canonical_file(path, "manual", END + timedelta(days=1), SHANGHAI).mentions,
                            key=lambda m: m.published_at)
        self.done = datetime.min.replace(tzinfo=UTC)

    def scan(self, now: datetime) -> list[RawMention]:
        batch = [m for m in self.posts if self.done < m.published_at <= now]
        store_mentions.fn(analyse_mentions.fn(batch, now))
        update_incidents.fn(now, "test")
        self.done = now
        return batch


def _first_incident_of(brand: str) -> bool:
    with session_scope() as session:
        return session.scalar(select(Incident.id).where(Incident.brand == brand)) is not None


def _alerts() -> list[CompetitorAlert]:
    with session_scope() as session:
        return list(session.scalars(select(CompetitorAlert)))


def test_the_rivals_burst_warns_within_two_scans_of_ours_told_once_and_opens_nothing(
        database: str, smtp_sink: Path, tmp_path: Path) -> None:
    scanner = Scanner(same_burst_file(tmp_path))
    ours_at = theirs_at = None
    for n in range(20):
        scanner.scan(ONSET - EVERY + n * EVERY)
        ours_at = n if ours_at is None and _first_incident_of("澄星") else ours_at
        theirs_at = n if theirs_at is None and _alerts() else theirs_at
    assert ours_at is not None, "the burst opens our incident"
    assert theirs_at is not None and theirs_at <= ours_at + 2, (ours_at, theirs_at)

    with session_scope() as session:
        assert {i.brand for i in session.scalars(select(Incident))} == {"澄星"}, "a rival's crisis opens nothing of ours"
        rival = session.execute(select(func.count(), func.count(Mention.incident_id))
                                .where(Mention.brand == "焰峰", Mention.negative.is_(True))).one()
        audited = session.scalars(select(AuditEntry.after).where(AuditEntry.action == "competitor.alerted")).all()
    assert rival[0] > 30 and rival[1] == 0, "its mentions are stored under its name, in no incident"
    (alert,) = _alerts()
    assert (alert.competitor, alert.category, alert.product_category) == ("焰峰", "产品质量", "厨房电器")
    assert alert.products.startswith("焰峰空气炸锅") and alert.day == ONSET.astimezone(SHANGHAI).strftime("%Y-%m-%d")
    assert "「焰峰·产品质量」负面" in alert.reason and "Poisson" in alert.reason, "our rules' reason, numbers included"
    assert len(audited) == 1 and "焰峰" in audited[0] and "林涛" in audited[0]

    assert deliver_outbox.fn(END)["sent"] == 2
    mail = read_mail(smtp_sink)
    assert {m["X-Envelope-To"] for m in mail} == emails_of("李娜", "林涛"), "the PR lead and the kitchen owner"
    for message in mail:
        assert "同类风险预警" in message["Subject"] and "焰峰" in message["Subject"] and "INC-" not in message["Subject"]
        body = text_part(message, "plain")
        assert QUESTION in body and "焰峰空气炸锅" in body and "澄星空气炸锅" in body and "INC-" not in body

    later = ONSET + 20 * EVERY  # the same day, the rival's burst still going
    scanner.scan(later)
    assert deliver_outbox.fn(later) == {"sent": 0} and len(read_mail(smtp_sink)) == 2 and len(_alerts()) == 1
    (row,) = competitor_board_rows()
    assert list(row) == list(BOARD_COLUMNS)
    assert row["竞品"] == "焰峰" and row["涉及产品"] == alert.products and "已发送 2/2" in str(row["已通知"])
    assert "李娜" in str(row["已通知"]) and "林涛" in str(row["已通知"])


def test_a_rivals_sale_night_surge_raises_nothing(database: str, tmp_path: Path) -> None:
    surge = SurgeSpec(start=END - timedelta(hours=5), hours=4, multiplier=6)
    week = generate_week(SEED, END, days=4, surge=surge, rivals=True)
    path = tmp_path / "surge.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in week.mentions), encoding="utf-8")
    scanner = Scanner(path)
    during = [len([m for m in scanner.scan(surge.start + n * timedelta(minutes=20)) if "焰峰" in m.text])
              for n in range(13)]
    assert max(during[1:]) >= 15, "the rival's chatter surges"
    assert _alerts() == [] and not _first_incident_of("焰峰")
    with session_scope() as session:
        assert session.scalar(select(func.count(Incident.id))) == 0
        assert session.scalar(select(func.count(Notification.id))) == 0
