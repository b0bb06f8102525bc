"""The scan flow over every kind of source at once, against the flow tests' Prefect server: a drop folder, an RSS
feed, two platform APIs (a token from a Prefect Secret block and one from the environment), the shop's
database, and one source that fails. The others are stored and triaged; the run ends Failed naming it;
the next scan reads only what is new. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefect.blocks.system import Secret
from sqlalchemy import func, select

from flows.monitor import scan
from tasks.common import show_time
from tasks.db import session_scope
from tasks.models import Mention, ProcessedFile, SourceState
from tasks.monitoring.health import display
from tasks.monitoring.tasks import source_health_rows
from tests.fake_platform import Entry, FakePlatform, post, use_sources

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
TOKEN = "flow-test-token"

SOURCES = """
[[file]]
name = "inbox"
glob = ["inbox/*.csv", "inbox/*.jsonl"]
settle_seconds = 0

[[rss]]
name = "media"
url = "{base}/rss.xml"
platform = "新闻"

[[http]]
name = "weibo"
platform = "微博"
url = "{base}/api/cursor"
params = {{ cursor = "{{cursor}}", count = "{{page_size}}" }}
token_block = "weibo-test-token"
pagination = "cursor"
items = "data.posts"
next_cursor = "data.next_cursor"
page_size = 10
rate_per_second = 100
[http.fields]
id = "mid"
text = "text"
author = "user.screen_name"
reach = "user.followers_count"
published_at = "created_at"

[[http]]
name = "qa"
url = "{base}/api/pages"
params = {{ page = "{{page}}", size = "{{page_size}}", since = "{{since}}" }}
auth_header = "X-Api-Key"
auth_prefix = ""
token_env = "QA_API_TOKEN"
pagination = "page"
items = "result.list"
page_size = 50
fields = {{ id = "mid", text = "text", published_at = "created_at" }}

[[http]]
name = "broken"
enabled = {broken}
url = "{base}/api/cursor"
items = "data.posts"
attempts = 1

[[sql]]
name = "shop-reviews"
url = "sqlite:///{shop}"
query = "SELECT id, body, created_at FROM reviews WHERE created_at > :watermark ORDER BY created_at"
watermark = "created_at"
initial_watermark = "2026-01-01 00:00:00"
fields = {{ id = "id", text = "body", published_at = "created_at" }}
backoff_seconds = 0.01
"""


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform(TOKEN) as server:
        server.posts = [post(f"m{i}", f"澄星空气炸锅第{i}次冒烟了，太吓人", NOW - timedelta(minutes=60 - i))
                        for i in range(23)]
        server.entries = [Entry("n1", "澄星空气炸锅被曝起火", "多名消费者反映", NOW - timedelta(hours=2),
                                "https://news.example/1")]
        yield server


def _configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: FakePlatform, broken: bool) -> None:
    use_sources(tmp_path, monkeypatch, SOURCES.format(base=platform.url(""), shop=tmp_path / "shop.db",
                                                      broken=str(broken).lower()))


def _count(source: str) -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count(Mention.id)).where(Mention.source == source)) or 0)


def test_every_source_kind_in_one_scan_and_a_failing_one_named(  # type: ignore[no-untyped-def]
        database: str, var_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: FakePlatform):
    Secret(value=TOKEN).save("weibo-test-token", overwrite=True)
    monkeypatch.setenv("QA_API_TOKEN", TOKEN)
    with sqlite3.connect(tmp_path / "shop.db") as shop:
        shop.execute("CREATE TABLE reviews (id INTEGER PRIMARY KEY, body TEXT, created_at TEXT)")
        shop.executemany("INSERT INTO reviews VALUES (?, ?, ?)", [(1, "澄星炸锅质量太差", "2026-11-27 10:00:00"),
                                                                 (2, "青禾牛奶好喝", "2026-11-27 11:00:00")])
    shop.close()
    (var_dir / "inbox").mkdir(parents=True)
    (var_dir / "inbox" / "export.csv").write_bytes(
        "id,text,reach,published_at\nx1,澄星客服不回复,1.2万,2026-11-27 11:30\nx2,坏行,很多,2026-11-27 11:31\n"
        .encode("gbk"))
    (var_dir / "inbox" / "late.jsonl.part").write_text('{"id": "p", "text": "还没写完"}\n', encoding="utf-8")
    _configure(tmp_path, monkeypatch, platform, broken=True)

    state = scan(now=NOW, return_state=True)
    assert state.is_failed()
    assert "1 个来源读取失败" in state.message and "研判）：broken: 第 1 页: HTTP 401" in state.message
    assert TOKEN not in state.message
    assert {s: _count(s) for s in ("inbox", "media", "weibo", "qa", "shop-reviews")} == {
        "inbox": 1, "media": 1, "weibo": 23, "qa": 23, "shop-reviews": 2}
    health = {row["name"]: row for row in source_health_rows()}
    assert {name: row["status"] for name, row in health.items()} == {
        "inbox": "partial", "media": "ok", "weibo": "ok", "qa": "ok", "broken": "failing", "shop-reviews": "ok"}
    assert health["broken"]["consecutive_failures"] == 1 and "HTTP 401" in str(health["broken"]["last_error"])
    assert health["weibo"]["last_count"] == 23 and health["inbox"]["last_problems"] == 1
    table = {row["来源"]: row for row in display(source_health_rows(), show_time)}
    assert table["broken"]["状态"] == "读取失败" and table["broken"]["连续失败次数"] == 1
    assert "HTTP 401" in str(table["broken"]["最近错误"]) and table["inbox"]["有误记录数"] == 1

    platform.posts.append(post("m23", "澄星官方回应了", NOW + timedelta(minutes=3)))
    platform.requests.clear()
    with sqlite3.connect(tmp_path / "shop.db") as shop:
        shop.execute("INSERT INTO reviews VALUES (3, '澄星售后终于联系我了', '2026-11-27 12:04:00')")
    shop.close()
    _configure(tmp_path, monkeypatch, platform, broken=False)
    result = scan(now=NOW + timedelta(minutes=5))
    assert result["new"] == 3 and result["bad_rows"] == [], "only what is new: 1 post twice (weibo, qa), 1 review"
    assert result["sources"]["weibo"] == {"status": "ok", "read": 1, "bad": 0, "waiting": 0}  # type: ignore[index]
    assert platform.seen("/api/cursor")[0].query["cursor"] == "c23"
    assert platform.seen("/rss.xml")[0].headers.get("if-none-match")
    assert {row["name"]: row["status"] for row in source_health_rows()}["broken"] == "disabled"
    with session_scope() as session:
        assert session.scalar(select(func.count(ProcessedFile.id))) == 1
        assert session.get(SourceState, "weibo").cursor == "c24"  # type: ignore[union-attr]
