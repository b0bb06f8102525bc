"""Drop folders: CSV, JSONL and XLSX exports in UTF-8, UTF-8 with BOM, GBK and GB18030, with Chinese
column names; bad rows named; half-written files wait; a processed file is never read twice."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from prefect.logging import disable_run_logger
from sqlalchemy import func, select

from config.files import FileSource
from tasks.db import session_scope
from tasks.models import Mention, ProcessedFile
from tasks.monitoring.results import outcome_of
from tasks.monitoring.sources_files import read_drop_folder
from tasks.monitoring.tasks import analyse_mentions, read_source, save_source_progress, store_mentions
from tests.fake_platform import use_sources

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
FIELDS = {"id": "文章ID", "text": "内容", "author": "作者", "reach": "粉丝数", "published_at": "发布时间",
          "url": "链接"}
EXPORT = (
    "文章ID,内容,作者,粉丝数,发布时间,链接\n"
    "w1,澄星空气炸锅用了两天就坏了{extra},小王,1.2万,2026/11/27 10:00,https://weibo.example/w1\n"
    "w2,青禾牛奶不错,李姐,300,2026-11-27 11:00:00,\n"
    "w3,时间写错了,老张,1,昨天下午,\n"
)


def never_read(files: list[object]) -> set[str]:
    return set()


def drop(source: FileSource, var: Path, wall_clock: float | None = None):  # type: ignore[no-untyped-def]
    return read_drop_folder(source, var, NOW, SHANGHAI, wall_clock or time.time() + 3600, never_read)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_exports_in_every_encoding_with_chinese_column_names(tmp_path: Path, encoding: str) -> None:
    extra = "，𠮷" if encoding == "gb18030" else ""  # 𠮷 exists in GB18030, not in GBK
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "export.csv").write_bytes(EXPORT.format(extra=extra).encode(encoding))
    report = drop(FileSource(name="listening", glob="inbox/*.csv", fields=FIELDS, platform="微博"), tmp_path)
    first, second = report.mentions
    assert first.text == f"澄星空气炸锅用了两天就坏了{extra}"
    assert (first.external_id, first.author, first.reach, first.platform) == ("w1", "小王", 12000, "微博")
    assert first.published_at == datetime(2026, 11, 27, 2, 0, tzinfo=UTC) and first.source == "listening"
    assert second.url is None and second.published_at == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert report.problems == [f"{inbox / 'export.csv'}:4: published_at: 不是有效的时间（'昨天下午'）"]
    assert [Path(f.path).name for f in report.files] == ["export.csv"]


def test_jsonl_with_nested_fields_and_a_bad_line(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    path = tmp_path / "inbox" / "posts.jsonl"
    lines = [json.dumps({"note": {"id": "n1", "desc": "澄星客服不理人"}, "user": {"fans": "2万"}}, ensure_ascii=False),
             "{not json", json.dumps(["a list"]),
             json.dumps({"note": {"id": "n2", "desc": "好用"}, "user": {"fans": -3}}, ensure_ascii=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = FileSource(name="xhs", glob="inbox/*.jsonl", fields={"id": "note.id", "text": "note.desc",
                                                                  "reach": "user.fans"})
    report = drop(source, tmp_path)
    assert [(m.external_id, m.reach) for m in report.mentions] == [("n1", 20000)]
    assert report.problems == [f"{path}:2: 不是有效的 JSON（Expecting property name enclosed in double quotes）",
                               f"{path}:3: 不是 JSON 对象", f"{path}:4: reach: 是负数（-3）"]



def test_jsonl_lines_a_strict_parser_refuses_read_as_before(tmp_path: Path) -> None:
    """A raw tab inside a string, a 25-digit id, NaN and blank lines: what platforms' exports hold, read as
    Python's json reads them (the fast parser refuses each)."""
    (tmp_path / "inbox").mkdir()
    path = tmp_path / "inbox" / "posts.jsonl"
    path.write_text('{"id": "t1", "text": "澄星空气炸锅\t冒烟"}\n\n   \n'
                    '{"id": 1234567890123456789012345, "text": "青禾牛奶变质"}\n'
                    '{"id": "t3", "text": "澄星客服", "reach": NaN}\n'
                    '{"id": "t4", "text": "转发", "reach": 2.5, "repost_of": 98765432109876543210987}\n',
                    encoding="utf-8")
    report = drop(FileSource(name="export", glob="inbox/*.jsonl"), tmp_path)
    assert [(m.external_id, m.text) for m in report.mentions] == [
        ("t1", "澄星空气炸锅\t冒烟"), ("1234567890123456789012345", "青禾牛奶变质"), ("t4", "转发")]
    assert (report.mentions[2].repost_of, report.mentions[2].reach) == ("98765432109876543210987", 2)
    assert report.problems == [f"{path}:5: reach: 不是数字（nan）"]

def _workbook(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "导出"
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_xlsx_exports_with_time_cells_long_ids_and_a_bad_row(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    path = _workbook(tmp_path / "inbox" / "jd.xlsx", [
        ["文章ID", "内容", "作者", "粉丝数", "发布时间", "链接"],
        [4901234567890123, "澄星空气炸锅有异味", "京东用户", "1.5万", datetime(2026, 11, 27, 9, 30),
         "javascript:alert(1)"],
        [],
        ["x2", None, "无内容", 3, datetime(2026, 11, 27, 9, 0), None],
        ["x3", "明天才发", "某人", 3, datetime(2026, 11, 28, 9, 0), None],
    ])
    report = drop(FileSource(name="jd", glob="inbox/*.xlsx", fields=FIELDS), tmp_path)
    (only,) = report.mentions
    assert (only.external_id, only.reach, only.url) == ("4901234567890123", 15000, None)
    assert only.published_at == datetime(2026, 11, 27, 1, 30, tzinfo=UTC)
    assert report.problems == [f"{path}:2: url: 不是 http(s) 链接，已丢弃（'javascript:alert(1)'）",
                               f"{path}:4: text: 缺失或为空"]
    assert report.not_yet_published == 1 and report.files == [], "a row waits for a later now: read again then"


def test_half_written_files_wait_and_are_read_once_complete(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "big.csv.part").write_text("id,text\n1,还在下载\n", encoding="utf-8")
    (inbox / ".~lock.csv").write_text("id,text\n1,锁文件\n", encoding="utf-8")
    (inbox / "cut.jsonl").write_text('{"id": "1", "text": "完整"}\n{"id": "2", "text": "半', encoding="utf-8")
    (inbox / "cut.csv").write_text('id,text\na,完整\nb,"未写完', encoding="utf-8")
    whole = _workbook(tmp_path / "whole.xlsx", [["id", "text"], ["x1", "表格"]])
    (inbox / "book.xlsx").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    source = FileSource(name="inbox", glob=["inbox/*.csv", "inbox/*.jsonl", "inbox/*.xlsx", "inbox/*.part"])
    report = drop(source, tmp_path)
    assert report.mentions == [] and report.problems == []
    assert sorted(Path(w.split(":")[0]).name for w in report.waiting) == ["book.xlsx", "cut.csv", "cut.jsonl"]
    assert any("工作簿尚不完整" in w for w in report.waiting)

    with (inbox / "cut.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('已写完"}\n')
    with (inbox / "cut.csv").open("a", encoding="utf-8") as handle:
        handle.write('已写完"\n')
    shutil.copy(whole, inbox / "book.xlsx")
    report = drop(source, tmp_path)
    assert sorted(m.text for m in report.mentions) == sorted(["完整", "完整", "半已写完", "未写完已写完", "表格"])
    assert report.waiting == []


def test_a_file_still_being_modified_waits_for_the_settle_time(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    path = tmp_path / "inbox" / "fresh.csv"
    path.write_text("id,text\n1,刚写的\n", encoding="utf-8")
    modified = path.stat().st_mtime
    source = FileSource(name="inbox", glob="inbox/*.csv", settle_seconds=30)
    report = drop(source, tmp_path, wall_clock=modified + 5)
    assert report.mentions == [] and "等写入方写完（需静置 30 秒）" in report.waiting[0]
    assert len(drop(source, tmp_path, wall_clock=modified + 31).mentions) == 1


def test_a_file_that_cannot_be_read_is_named_and_the_others_are_read(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.csv").write_text("编号,正文\n1,2\n", encoding="utf-8")
    (tmp_path / "inbox" / "b.csv").write_bytes(b"id,text\n1,\xff\xfe\x80\n")
    (tmp_path / "inbox" / "c.txt").write_text("hello\n", encoding="utf-8")
    (tmp_path / "inbox" / "d.csv").write_text("id,text\n1,好\n", encoding="utf-8")
    report = drop(FileSource(name="inbox", glob="inbox/*.*"), tmp_path)
    assert [m.text for m in report.mentions] == ["好"]
    problems = sorted(p.replace(f"{tmp_path / 'inbox'}/", "") for p in report.problems)
    assert [p.split(": ", 1)[0] for p in problems] == ["a.csv", "b.csv", "c.txt"]
    assert problems[0].startswith("a.csv: 表头至少要有 'id' 和 'text' 列")
    assert problems[1].startswith("b.csv: 编码既不是 UTF-8 也不是 GBK/GB18030")
    assert problems[2].startswith("c.txt: 无法识别的格式 '.txt'（请用 .jsonl、.csv 或 .xlsx）")


INBOX = """
[[file]]
name = "inbox"
glob = ["inbox/*.csv", "inbox/*.jsonl"]
settle_seconds = 0
"""


def _scan_inbox() -> tuple[int, int]:
    """Read, store and save progress as the scan does; return (mentions read, new)."""
    with disable_run_logger():
        report = read_source.fn("inbox", NOW)
        new = store_mentions.fn(analyse_mentions.fn(report.mentions, NOW))
        save_source_progress.fn([outcome_of(report)], NOW)
    return len(report.mentions), new


def test_a_processed_file_is_never_read_twice(database: str, var_dir: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    use_sources(tmp_path, monkeypatch, INBOX)
    inbox = var_dir / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "day1.csv").write_text(
        "id,text,published_at\n1,澄星炸锅坏了,2026-11-27T10:00\n2,青禾很好,2026-11-27T10:05\n", encoding="utf-8")
    assert _scan_inbox() == (2, 2)
    assert _scan_inbox() == (0, 0), "not read again"
    shutil.copy(inbox / "day1.csv", inbox / "day1-copy.csv")
    assert _scan_inbox() == (0, 0), "the same content under another name is not read again"
    with (inbox / "day1.csv").open("a", encoding="utf-8") as handle:
        handle.write("3,澄星客服回复了,2026-11-27T10:10\n")
    os.utime(inbox / "day1.csv", ns=(time.time_ns(), time.time_ns() - 10**9))
    assert _scan_inbox() == (3, 1), "new content: read again, only the new row is stored"
    with session_scope() as session:
        assert session.scalar(select(func.count(Mention.id))) == 3
        assert session.scalar(select(func.count(ProcessedFile.id))) == 2
