"""Hostile text (issue 16): what an attacker or a broken export puts in a post never runs, links or loads
where people read it, never fails a scan, and is never stored silently.

Posts go through the real reader (tasks.monitoring.sources) and the scan's analyse and store tasks; the
brief, the review and the alert mail are rendered by the project's own code and templates.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from markdown_it import MarkdownIt
from prefect.logging import disable_run_logger
from sqlalchemy import select

from config.files import FileSource
from tasks.aftercare.repository import set_step
from tasks.aftercare.review import render_review
from tasks.aftercare.review_tasks import review_data
from tasks.db import session_scope
from tasks.incidents import repository
from tasks.incidents.service import transition
from tasks.incidents.state import IncidentState
from tasks.models import Mention, Notification
from tasks.monitoring.sources import read_canonical_file
from tasks.monitoring.sources_files import read_drop_folder
from tasks.monitoring.tasks import analyse_mentions, store_mentions
from tasks.notify.tasks import queue_alerts
from tasks.triage.board import brief_for
from tests.notify_support import make_incident

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
KEY = "INC-20261127-001"
IMAGE_URL = "https://x/a.png)![](https://evil/p.png"
PHISHING = "退款点 http://evil.example/login 或 www.evil.example 或 mailto:refund@evil.example 或 HTTPS://evil.example/x"
# What GFM (Prefect's markdown) and mail clients turn into a link by themselves.
LINKABLE = re.compile(r"(?i)(?:https?://|www\.|mailto:|[a-z0-9._%+-]@[a-z0-9-]+\.[a-z])")


@pytest.fixture(autouse=True)
def _no_run_logger() -> Iterator[None]:
    with disable_run_logger():
        yield


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


def _stored() -> dict[str, Mention]:
    with session_scope() as session:
        return {m.external_id: m for m in session.scalars(select(Mention))}


def _store(path: Path) -> int:
    return store_mentions.fn(analyse_mentions.fn(read_canonical_file(path, "inbox", NOW, SHANGHAI).mentions, NOW))


def test_a_url_that_is_not_http_is_dropped_at_ingest_and_its_row_named(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "m.jsonl", [
        {"id": "1", "text": "澄星空气炸锅冒烟", "url": "javascript:alert(1)"},
        {"id": "2", "text": "澄星空气炸锅冒烟了", "url": IMAGE_URL},
        {"id": "3", "text": "澄星空气炸锅又冒烟", "url": "data:text/html,<script>alert(1)</script>"},
        {"id": "4", "text": "澄星客服不理人", "url": "/post/4"},
        {"id": "5", "text": "澄星退款很快", "url": "https://weibo.example/5"},
    ])
    report = read_canonical_file(path, "inbox", NOW, SHANGHAI)
    assert [(m.external_id, m.url) for m in report.mentions] == [
        ("1", None), ("2", None), ("3", None), ("4", None), ("5", "https://weibo.example/5")]
    assert [p.split(": url: ")[0] for p in report.problems] == [f"{path}:{n}" for n in (1, 2, 3, 4)]
    assert all("不是 http(s) 链接，已丢弃" in p for p in report.problems)


def test_the_brief_loads_no_image_renders_no_html_and_links_only_the_stored_url(sqlite_db: str) -> None:
    hostile = '差评<img src=x onerror=alert(1)><script>alert(2)</script>![](https://evil/p.png)'
    make_incident(KEY, NOW, posts=[(hostile, IMAGE_URL), ("正常的帖子", "https://weibo.example/2?a=(1)")])
    with session_scope() as session:
        brief = brief_for(session, repository.get_incident(session, KEY), NOW)
    html = _html(brief)
    assert "![" not in brief and "<img" not in brief and "<script" not in brief
    assert "<img" not in html and "<script" not in html, "shown as text, never loaded or run"
    assert re.findall(r'href="([^"]*)"', html) == ["https://weibo.example/2?a=%281%29"], "one link: the http(s) one"


def test_bare_links_in_post_text_are_inert_in_the_brief_and_the_alert_mail(sqlite_db: str) -> None:
    make_incident(KEY, NOW, posts=[(PHISHING, "https://weibo.example/1")])
    with session_scope() as session:
        brief = brief_for(session, repository.get_incident(session, KEY), NOW)
    assert queue_alerts.fn(KEY, NOW, "test") > 0
    with session_scope() as session:
        mails = list(session.scalars(select(Notification).where(Notification.kind == "alert")))
    post_lines = [line for line in _html(brief).splitlines() if "退款点" in line]
    for mail in mails:
        post_lines += [line for part in (mail.body_text, mail.body_html) for line in part.splitlines() if "退款点" in line]
    assert len(post_lines) == 1 + 2 * len(mails)
    for line in post_lines:
        assert not LINKABLE.search(line.replace("https://weibo.example/1", "")), "only the post's own link"
        assert "http[:]//evil.example/login" in line and "www[.]evil.example" in line
        assert "mailto[:]refund[@]evil.example" in line
    for mail in mails:
        assert set(re.findall(r'href="([^"]*)"', mail.body_html)) == {"https://weibo.example/1",
                                                                       "http://127.0.0.1:4200/runs"}
        assert "\n  https://weibo.example/1\n" in mail.body_text, "the post's own http(s) link is kept"


def test_links_in_an_acknowledgement_note_and_repair_evidence_are_inert_in_the_review(sqlite_db: str) -> None:
    make_incident(KEY, NOW)
    with session_scope() as session:
        incident = repository.get_incident(session, KEY)
        transition(session, incident, IncidentState.ACKNOWLEDGED, actor="李娜", at=NOW,
                   note="客户请到 www.evil.example 登记", acknowledged_by="李娜", owner="李娜")
        set_step(session, incident, "apology", actor="李娜", at=NOW, state="done", owner="李娜",
                 evidence="证据 http://evil.example/apology 联系 a@evil.example")
    with session_scope() as session:
        review = render_review(review_data(session, repository.get_incident(session, KEY), "c.png", NOW))
    lines = [line for line in review.splitlines() if "evil" in line]
    assert len(lines) == 2, review
    assert "www[.]evil.example" in review.replace("\\", "") and "http[:]//evil.example" in review.replace("\\", "")
    assert not any(LINKABLE.search(line) for line in lines), lines


NUL_ROWS = {  # the second post holds a NUL, an ESC sequence and CRLF, as JSON escapes or as raw bytes
    "escaped.jsonl": '{"id": "1", "text": "澄星空气炸锅冒烟"}\n'
                     '{"id": "2", "text": "澄星\\u0000空气炸锅\\u001b[2J坏了\\r\\n第二行\\t完", "author": "用户\\u0000甲"}\n'
                     '{"id": "3", "text": "澄星客服不理人"}\n',
    "raw.jsonl": '{"id": "1", "text": "澄星空气炸锅冒烟"}\n'
                 '{"id": "2", "text": "澄星\x00空气炸锅\x1b[2J坏了\\r\\n第二行\t完", "author": "用户\x00甲"}\n'
                 '{"id": "3", "text": "澄星客服不理人"}\n',
    "raw.csv": 'id,text,author\n1,澄星空气炸锅冒烟,\n2,"澄星\x00空气炸锅\x1b[2J坏了\r\n第二行\t完",用户\x00甲\n3,澄星客服不理人,\n',
}


@pytest.mark.parametrize("name", sorted(NUL_ROWS))
def test_a_nul_byte_in_one_post_fails_nothing_and_is_named(database: str, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(NUL_ROWS[name].encode("utf-8"))
    report = read_canonical_file(path, "inbox", NOW, SHANGHAI)
    assert store_mentions.fn(analyse_mentions.fn(report.mentions, NOW)) == 3, "PostgreSQL refused the whole batch"
    line = 4 if name.endswith(".csv") else 2  # a CSV record is named by the line it ends on (its text spans two)
    assert report.problems == [f"{path}:{line}: text、author: 含 3 个控制字符（如 NUL），已清除后入库"]
    stored = _stored()
    assert stored["2"].text == "澄星空气炸锅[2J坏了\n第二行\t完" and stored["2"].author == "用户甲"


def test_a_huge_post_is_stored_cut_with_the_whole_texts_hash(sqlite_db: str, tmp_path: Path) -> None:
    huge = "澄星空气炸锅冒烟" * 6250  # 50,000 characters
    path = _jsonl(tmp_path / "m.jsonl", [{"id": "big", "text": huge}])
    report = read_canonical_file(path, "inbox", NOW, SHANGHAI)
    assert report.problems == [f"{path}:1: text: 正文超过 20,000 字，截断后入库（内容哈希按全文计算）"]
    assert _store(path) == 1
    stored = _stored()["big"]
    assert stored.text == huge[:20_000]
    assert stored.content_hash == hashlib.sha256(huge.encode("utf-8")).hexdigest()


def test_an_object_as_id_is_named_and_not_stored(sqlite_db: str, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "m.jsonl", [
        {"id": {"$oid": "65a1"}, "text": "澄星空气炸锅冒烟"},
        {"id": ["1", "2"], "text": "澄星空气炸锅又冒烟"},
        {"id": "ok", "text": "澄星客服不理人"},
    ])
    report = read_canonical_file(path, "inbox", NOW, SHANGHAI)
    assert [p.split(": 是")[0] for p in report.problems] == [f"{path}:1: id", f"{path}:2: id"]
    assert all("对象或列表，不是编号" in p for p in report.problems)
    assert _store(path) == 1 and set(_stored()) == {"ok"}


def test_the_same_id_with_another_text_keeps_the_first_and_names_the_second(sqlite_db: str, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "m.jsonl", [
        {"id": "7", "text": "澄星空气炸锅冒烟"},
        {"id": "8", "text": "澄星客服不理人"},
        {"id": "7", "text": "澄星空气炸锅很好用，推荐"},
    ])
    report = read_canonical_file(path, "inbox", NOW, SHANGHAI)
    assert report.problems == [f"{path}:3: id: 编号 7 与 {path}:1 相同而正文不同，保留前一条，此条未入库"]
    assert _store(path) == 2 and _stored()["7"].text == "澄星空气炸锅冒烟"


def test_a_post_dated_2099_is_named_not_stored_and_its_file_not_read_forever(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = _jsonl(inbox / "m.jsonl", [
        {"id": "1", "text": "澄星空气炸锅冒烟", "published_at": "2026-11-27T09:00:00"},
        {"id": "2", "text": "澄星空气炸锅又冒烟", "published_at": "2099-01-01T00:00:00"},
    ]).resolve()
    report = read_drop_folder(FileSource(name="inbox", glob="inbox/*.jsonl"), tmp_path, NOW, SHANGHAI,
                              time.time() + 3600, lambda files: set())
    assert [m.external_id for m in report.mentions] == ["1"] and report.not_yet_published == 0
    assert report.problems == [f"{path}:2: published_at: 发布时间 2099-01-01 00:00 比扫描时间晚一天以上，日期有误，未入库"]
    assert [mark.path for mark in report.files] == [str(path)], "read once, not waited for at every scan"
    due = _jsonl(tmp_path / "due.jsonl", [{"id": "3", "text": "澄星客服不理人", "published_at": "2026-11-27T18:00:00"}])
    assert read_canonical_file(due, "inbox", NOW, SHANGHAI).not_yet_published == 1, "due later today: it waits"
