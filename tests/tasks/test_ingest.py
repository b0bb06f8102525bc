"""The file source and ingest: canonical JSONL/CSV, bad rows named, a rescan adds nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import func, select

from tasks.db import session_scope
from tasks.errors import SourceFileInvalid
from tasks.models import Mention
from tasks.monitoring.sources import read_canonical_file
from tasks.monitoring.tasks import analyse_mentions, store_mentions

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_reads_jsonl_with_naive_times_in_shanghai(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "m.jsonl", [
        {"id": "1", "text": "澄星空气炸锅坏了", "published_at": "2026-11-27T11:30:00", "reach": "1200",
         "platform": "微博", "author": "小王", "url": "https://example.com/1"},
        {"id": "2", "text": "青禾牛奶不错", "published_at": "2026-11-27T03:00:00Z"},
    ])
    report = read_canonical_file(path, "inbox", NOW, SHANGHAI)
    first, second = report.mentions
    assert first.published_at == datetime(2026, 11, 27, 3, 30, tzinfo=UTC)
    assert (first.source, first.reach, first.author) == ("微博", 1200, "小王")
    assert second.source == "inbox" and second.published_at == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def test_rows_published_after_now_wait_for_a_later_scan(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "m.jsonl", [{"id": "1", "text": "明天的帖子", "published_at": "2026-11-28T09:00:00"}])
    report = read_canonical_file(path, "inbox", NOW, SHANGHAI)
    assert report.mentions == [] and report.not_yet_published == 1


def test_bad_rows_are_named_and_good_rows_still_read(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "id,text,reach,published_at\n"
        "a,好评,10,2026-11-27T09:00:00\n"
        ",没有编号,1,2026-11-27T09:00:00\n"
        "c,,1,2026-11-27T09:00:00\n"
        "d,数字不对,很多,2026-11-27T09:00:00\n"
        "e,时间不对,1,昨天\n",
        encoding="utf-8-sig",
    )
    report = read_canonical_file(path, "inbox", NOW, SHANGHAI)
    assert [m.external_id for m in report.mentions] == ["a"]
    assert report.problems == [
        f"{path}:3: id: 缺失",
        f"{path}:4: text: 缺失或为空",
        f"{path}:5: reach: 不是数字（'很多'）",
        f"{path}:6: published_at: 不是有效的时间（'昨天'）",
    ]


def test_gbk_is_read_and_unreadable_files_raise_a_named_error(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.jsonl"
    gbk.write_bytes('{"id": "1", "text": "澄星质量差"}\n'.encode("gbk"))
    assert [m.text for m in read_canonical_file(gbk, "inbox", NOW, SHANGHAI).mentions] == ["澄星质量差"]
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b'{"id": "1", "text": "\xff\xfe\x80"}\n')
    with pytest.raises(SourceFileInvalid, match="garbage.jsonl: 编码既不是 UTF-8 也不是 GBK/GB18030"):
        read_canonical_file(garbage, "inbox", NOW, SHANGHAI)
    with pytest.raises(SourceFileInvalid, match="表头至少要有 'id' 和 'text' 列"):
        (tmp_path / "h.csv").write_text("foo,bar\n1,2\n", encoding="utf-8")
        read_canonical_file(tmp_path / "h.csv", "inbox", NOW, SHANGHAI)


def test_storing_the_same_file_twice_adds_nothing(database: str, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "m.jsonl", [
        {"id": str(i), "text": f"澄星空气炸锅用了两天就坏了 {i}", "published_at": "2026-11-27T10:00:00"}
        for i in range(50)
    ])
    with disable_run_logger():
        for expected in (50, 0):
            mentions = read_canonical_file(path, "inbox", NOW, SHANGHAI).mentions
            assert store_mentions.fn(analyse_mentions.fn(mentions, NOW)) == expected
    with session_scope() as session:
        assert session.scalar(select(func.count(Mention.id))) == 50
        stored = session.scalars(select(Mention).limit(1)).one()
        assert stored.brand == "澄星" and stored.negative and stored.category == "产品质量"
        assert stored.published_at.tzinfo is not None


def test_every_column_reads_back_as_analysed_and_read(database: str, tmp_path: Path) -> None:
    """SQLite's rows go straight to the driver (tasks.db.sqlite_insert_ignoring_duplicates), PostgreSQL's through
    SQLAlchemy: both store what the scan read and analysed, times in UTC, flags as flags, defaults filled in."""
    path = _jsonl(tmp_path / "m.jsonl", [
        {"id": "p1", "text": "澄星空气炸锅用了两天就起火了，太危险", "published_at": "2026-11-27T10:00:00.250",
         "reach": "1.2万", "platform": "微博", "author": "小王", "url": "https://example.com/p1", "reposts": 12,
         "comments": 3, "likes": 40},
        {"id": "p2", "text": "青禾牛奶味道很好", "published_at": "2026-11-27T02:00:00Z", "repost_of": "x9"},
        {"id": "p3", "text": "网传澄星和青禾都出事了，纯属谣言", "published_at": "2026-11-27T10:05:00"},
    ])
    with disable_run_logger():
        rows = analyse_mentions.fn(read_canonical_file(path, "inbox", NOW, SHANGHAI).mentions, NOW)
        assert store_mentions.fn(rows) == 3
    columns = [c.name for c in Mention.__table__.columns if c.name in rows[0]]
    with session_scope() as session:
        stored = {m.external_id: m for m in session.scalars(select(Mention))}
        for row in rows:
            mention = stored[str(row["external_id"])]
            assert {c: getattr(mention, c) for c in columns} == {c: row[c] for c in columns}
            assert (mention.is_drill, mention.duplicate_of_id) == (False, None)
        # stored as the database compares times: triage's windows select by them
        up_to_p1 = select(Mention.external_id).where(Mention.published_at <= stored["p1"].published_at)
        assert sorted(session.scalars(up_to_p1)) == ["p1", "p2"]
    p1 = stored["p1"]
    assert p1.published_at == datetime(2026, 11, 27, 2, 0, 0, 250000, tzinfo=UTC)
    assert (p1.reach, p1.reposts, p1.negative, p1.critical_terms) == (12000, 12, True, "起火")
