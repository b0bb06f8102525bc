"""The SQL source: the shop's reviews through a read-only URL and a watermark column, on a SQLite file
and on PostgreSQL; bad rows named, rows after `now` waiting, writes refused, outages retried."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from config.files import SqlSource
from tasks.monitoring.errors import SourceDataInvalid, SourceRejected, SourceUnavailable
from tasks.monitoring.sources_sql import decode_watermark, read_sql_source
from tests.conftest import create_pg_database, drop_pg_database

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
QUERY = ("SELECT review_id, content, nickname, created_at FROM reviews WHERE created_at > :watermark "
         "ORDER BY created_at")
FIELDS = {"id": "review_id", "text": "content", "author": "nickname", "published_at": "created_at"}
PLACEHOLDER = "sqlite:///given-separately.db"
REVIEWS = [
    (1, "澄星空气炸锅用了两天就坏了", "买家A", "2026-11-27 09:00:00"),
    (2, "", "买家B", "2026-11-27 09:30:00"),
    (3, "青禾牛奶很新鲜", "买家C", "2026-11-27 10:00:00"),
    (4, "下午才写的评价", "买家D", "2026-11-27 15:00:00"),
]


def reviews_source(url: str, **overrides: Any) -> SqlSource:
    settings: dict[str, Any] = dict(name="shop-reviews", url=url, query=QUERY, watermark="created_at",
                                    initial_watermark="2026-01-01 00:00:00", fields=FIELDS, platform="店铺评价",
                                    attempts=2, backoff_seconds=0.01, jitter=0, timeout_seconds=5)
    return SqlSource(**{**settings, **overrides})


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE reviews (review_id INTEGER PRIMARY KEY, content TEXT, nickname TEXT, "
                           "created_at TEXT)")
        connection.executemany("INSERT INTO reviews VALUES (?, ?, ?, ?)", REVIEWS)
    connection.close()
    return path


def test_reviews_are_read_incrementally_by_the_watermark(shop_db: Path) -> None:
    source = reviews_source(f"sqlite:///{shop_db}")
    report = read_sql_source(source, None, source.url or "", NOW, SHANGHAI)
    assert [(m.external_id, m.author, m.source, m.platform) for m in report.mentions] == [
        ("1", "买家A", "shop-reviews", "店铺评价"), ("3", "买家C", "shop-reviews", "店铺评价")]
    assert report.mentions[0].published_at == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    assert report.problems == ["shop-reviews: 第 2 行（编号 2）: text: 缺失或为空"]
    assert report.not_yet_published == 1
    assert report.progress is not None and decode_watermark(report.progress.watermark or "") == "2026-11-27 10:00:00"

    with sqlite3.connect(shop_db) as connection:
        connection.execute("INSERT INTO reviews VALUES (5, '客服态度很差', '买家E', '2026-11-27 11:00:00')")
    connection.close()
    later = read_sql_source(source, report.progress, source.url or "", NOW + timedelta(hours=4), SHANGHAI)
    assert [m.external_id for m in later.mentions] == ["5", "4"]
    assert decode_watermark(later.progress.watermark or "") == "2026-11-27 15:00:00"  # type: ignore[union-attr]


def test_the_connection_refuses_writes_and_bad_setups_are_named(shop_db: Path, tmp_path: Path) -> None:
    sneaky = "WITH gone AS (SELECT 1) DELETE FROM reviews WHERE created_at > :watermark"
    with pytest.raises(SourceRejected, match="shop-reviews: 查询失败（.*readonly"):
        read_sql_source(reviews_source(f"sqlite:///{shop_db}", query=sneaky), None, f"sqlite:///{shop_db}", NOW,
                        SHANGHAI)
    with sqlite3.connect(shop_db) as connection:
        assert connection.execute("SELECT count(*) FROM reviews").fetchone() == (4,)
    connection.close()
    with pytest.raises(SourceDataInvalid, match="查询结果没有 'created_at' 列"):
        read_sql_source(reviews_source(PLACEHOLDER, query="SELECT review_id FROM reviews WHERE review_id > :watermark"),
                        None, f"sqlite:///{shop_db}", NOW, SHANGHAI)
    with pytest.raises(SourceRejected, match="unable to open database file"):
        read_sql_source(reviews_source(PLACEHOLDER), None, f"sqlite:///{tmp_path / 'missing.db'}", NOW, SHANGHAI)
    assert not (tmp_path / "missing.db").exists(), "a read-only source never creates a database"
    with pytest.raises(ValidationError, match="一条 SELECT"):
        reviews_source("sqlite:///x.db", query="DELETE FROM reviews WHERE id > :watermark")
    with pytest.raises(ValidationError, match="url、url_env、url_block 须填且只填一个"):
        reviews_source("sqlite:///x.db", url_env="SHOP_DB_URL")


def test_an_unreachable_database_is_retried_then_unavailable() -> None:
    url = "postgresql+psycopg2://reader@127.0.0.1:1/shop"
    with pytest.raises(SourceUnavailable, match="已试 2 次，放弃"):
        read_sql_source(reviews_source(url), None, url, NOW, SHANGHAI)


@pytest.fixture
def pg_shop(pg_server: str) -> Iterator[str]:
    url, name = create_pg_database(pg_server)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE SEQUENCE review_seq"))
        connection.execute(sa.text("CREATE TABLE reviews (review_id BIGINT PRIMARY KEY, content TEXT, nickname TEXT, "
                                   "created_at TIMESTAMPTZ)"))
        connection.execute(sa.text("INSERT INTO reviews VALUES (:i, :c, :n, CAST(:t AS TIMESTAMP) AT TIME ZONE "
                                   "'Asia/Shanghai')"), [dict(i=i, c=c, n=n, t=t) for i, c, n, t in REVIEWS])
    engine.dispose()
    yield url
    drop_pg_database(pg_server, name)


def test_postgresql_reviews_keep_a_typed_watermark_and_refuse_writes(pg_shop: str) -> None:
    source = reviews_source(pg_shop, initial_watermark="2026-01-01T00:00:00+08:00")
    report = read_sql_source(source, None, pg_shop, NOW, SHANGHAI)
    assert [m.external_id for m in report.mentions] == ["1", "3"] and report.not_yet_published == 1
    assert decode_watermark(report.progress.watermark or "") == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # type: ignore[union-attr]
    again = read_sql_source(source, report.progress, pg_shop, NOW, SHANGHAI)
    assert again.mentions == [] and again.not_yet_published == 1
    sneaky = ("SELECT review_id, content, nickname, created_at, nextval('review_seq') AS n FROM reviews "
              "WHERE created_at > :watermark")
    with pytest.raises(SourceRejected, match="read-only transaction"):
        read_sql_source(reviews_source(pg_shop, query=sneaky), None, pg_shop, NOW, SHANGHAI)
