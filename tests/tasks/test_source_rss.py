"""RSS and Atom feeds served by the local platform: Chinese titles, conditional GET, waiting entries,
a feed that is not one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.files import RssSource
from tasks.monitoring.errors import SourceDataInvalid
from tasks.monitoring.sources_rss import read_rss_source
from tests.fake_platform import Entry, FakePlatform, Fault

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform() as server:
        server.entries = [
            Entry("news-1", "澄星空气炸锅被曝起火", "<p>多名消费者反映<b>澄星</b>空气炸锅冒烟 &amp; 起火</p>",
                  NOW - timedelta(hours=2), "https://news.example/1"),
            Entry("news-2", "青禾牛奶新品上市", "青禾推出低脂牛奶", NOW - timedelta(hours=1), "https://news.example/2"),
        ]
        yield server


def rss(platform: FakePlatform, path: str = "/rss.xml") -> RssSource:
    return RssSource(name="media", url=platform.url(path), platform="新闻", backoff_seconds=0.01, jitter=0)


@pytest.mark.parametrize("path", ["/rss.xml", "/atom.xml"])
def test_feed_entries_become_mentions_and_an_unchanged_feed_costs_nothing(platform: FakePlatform, path: str) -> None:
    report = read_rss_source(rss(platform, path), None, NOW, SHANGHAI)
    fire, milk = report.mentions
    assert fire.text == "澄星空气炸锅被曝起火 多名消费者反映 澄星 空气炸锅冒烟 & 起火"
    assert (fire.external_id, fire.source, fire.platform, fire.url) == ("news-1", "media", "新闻", "https://news.example/1")
    assert fire.published_at == NOW - timedelta(hours=2) and milk.published_at == NOW - timedelta(hours=1)
    assert report.progress is not None and report.progress.etag

    again = read_rss_source(rss(platform, path), report.progress, NOW, SHANGHAI)
    assert again.mentions == [] and again.progress == report.progress
    assert platform.requests[-1].headers["if-none-match"] == report.progress.etag


def test_an_entry_published_after_now_waits_and_the_feed_is_fetched_whole_next_time(platform: FakePlatform) -> None:
    platform.entries.append(Entry("news-3", "澄星回应", "官方声明", NOW + timedelta(minutes=30), "https://news.example/3"))
    first = read_rss_source(rss(platform), None, NOW, SHANGHAI)
    assert len(first.mentions) == 2 and first.not_yet_published == 1
    assert first.progress is not None and first.progress.etag is None
    later = read_rss_source(rss(platform), first.progress, NOW + timedelta(hours=1), SHANGHAI)
    assert [m.external_id for m in later.mentions] == ["news-1", "news-2", "news-3"]


def test_a_feed_that_is_not_one_is_a_named_error_and_a_5xx_is_retried(platform: FakePlatform) -> None:
    platform.fail("/rss.xml", Fault(502))
    assert len(read_rss_source(rss(platform), None, NOW, SHANGHAI).mentions) == 2
    platform.feed_body = b"<html><body>502 Bad Gateway</body"
    with pytest.raises(SourceDataInvalid, match="media: 订阅源: 不是 RSS 或 Atom 订阅"):
        read_rss_source(rss(platform), None, NOW, SHANGHAI)
