"""The HTTP JSON API source against a local server that behaves like a platform: cursor and page
pagination, auth, 429 with Retry-After, 5xx, timeouts, malformed JSON, bad records, rate limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from config.files import HttpSource
from tasks.monitoring.errors import SourceDataInvalid, SourceRejected, SourceUnavailable
from tasks.monitoring.readers import secret
from tasks.monitoring.sources import SourceProgress
from tasks.monitoring.sources_http import read_http_source
from tests.fake_platform import FakePlatform, Fault, post

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
TOKEN = "s3cret-token"
FIELDS = {"id": "mid", "text": "text", "author": "user.screen_name", "reach": "user.followers_count",
          "published_at": "created_at", "url": "url"}


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform(TOKEN) as server:
        server.posts = [post(f"m{i}", f"澄星空气炸锅第{i}条", NOW - timedelta(minutes=100 - i), f"用户{i}", 1000 + i)
                        for i in range(25)]
        yield server


def cursor_source(platform: FakePlatform, **overrides: Any) -> HttpSource:
    settings: dict[str, Any] = dict(
        name="weibo", platform="微博", url=platform.url("/api/cursor"), params={"cursor": "{cursor}",
                                                                              "count": "{page_size}"},
        pagination="cursor", items="data.posts", next_cursor="data.next_cursor", page_size=10, fields=FIELDS,
        timeout_seconds=2, attempts=3, backoff_seconds=0.01, jitter=0, rate_per_second=1000)
    return HttpSource(**{**settings, **overrides})


class Sleeps(list[float]):
    """Records the waits instead of waiting. The rate limiter (1,000 requests/s here) shares the sleep and
    may ask for a wait of under a millisecond when requests come quickly: `backoffs` leaves those out."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    @property
    def backoffs(self) -> list[float]:
        return [s for s in self if s >= 0.01]


def test_cursor_pagination_maps_nested_fields_and_resumes_from_the_last_cursor(platform: FakePlatform) -> None:
    source = cursor_source(platform)
    report = read_http_source(source, None, TOKEN, NOW, SHANGHAI)
    assert [m.external_id for m in report.mentions] == [f"m{i}" for i in range(25)]
    first = report.mentions[0]
    assert (first.source, first.platform, first.author, first.reach) == ("weibo", "微博", "用户0", 1000)
    assert first.published_at == NOW - timedelta(minutes=100) and first.url == "https://weibo.example/m0"
    assert [r.query.get("cursor") for r in platform.seen("/api/cursor")] == [None, "c10", "c20", "c25"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in platform.requests)
    assert report.progress is not None and report.progress.cursor == "c25"

    platform.requests.clear()
    platform.posts.append(post("m25", "新帖", NOW - timedelta(minutes=1)))
    again = read_http_source(source, report.progress, TOKEN, NOW, SHANGHAI)
    assert [m.external_id for m in again.mentions] == ["m25"]
    assert [r.query.get("cursor") for r in platform.requests] == ["c25", "c26"]


def test_without_the_token_the_source_is_rejected_at_once_and_the_token_is_never_shown(platform: FakePlatform) -> None:
    with pytest.raises(SourceRejected, match=r"weibo: 第 1 页: HTTP 401（未授权：请检查来源的 token_env"):
        read_http_source(cursor_source(platform), None, None, NOW, SHANGHAI)
    assert len(platform.requests) == 1
    with pytest.raises(SourceRejected) as wrong:
        read_http_source(cursor_source(platform), None, "wrong-" + TOKEN, NOW, SHANGHAI)
    assert TOKEN not in str(wrong.value)


def test_429_waits_its_retry_after_and_500_backs_off_then_the_read_goes_on(platform: FakePlatform) -> None:
    platform.fail("/api/cursor", Fault(429, {"Retry-After": "1"}), Fault(503), Fault(500))
    sleeps = Sleeps()
    report = read_http_source(cursor_source(platform, backoff_seconds=0.5, attempts=4), None, TOKEN, NOW, SHANGHAI,
                              sleep=sleeps)
    assert len(report.mentions) == 25
    assert sleeps.backoffs == [1.0, 1.0, 2.0], "Retry-After honoured, then backoff · 2^(try-1)"


def test_a_slow_answer_times_out_and_is_retried_then_the_source_is_unavailable(platform: FakePlatform) -> None:
    platform.fail("/api/cursor", Fault(delay=1.0))
    start = time.monotonic()
    report = read_http_source(cursor_source(platform, timeout_seconds=0.3), None, TOKEN, NOW, SHANGHAI)
    assert len(report.mentions) == 25 and time.monotonic() - start < 3
    platform.fail("/api/cursor", Fault(delay=1.0), Fault(delay=1.0))
    with pytest.raises(SourceUnavailable, match=r"weibo: 第 1 页: 0.3 秒内无应答（已试 2 次，放弃）"):
        read_http_source(cursor_source(platform, timeout_seconds=0.3, attempts=2), None, TOKEN, NOW, SHANGHAI)


def test_a_retry_after_longer_than_the_backoff_cap_is_not_waited_for(platform: FakePlatform) -> None:
    platform.fail("/api/cursor", Fault(429, {"Retry-After": "3600"}))
    sleeps = Sleeps()
    with pytest.raises(SourceUnavailable, match=r"服务器要求 3600 秒后再试（Retry-After），超过 max_backoff_seconds 60 秒"):
        read_http_source(cursor_source(platform), None, TOKEN, NOW, SHANGHAI, sleep=sleeps)
    assert sleeps.backoffs == []


def test_malformed_json_and_4xx_fail_at_once_with_a_named_error(platform: FakePlatform) -> None:
    platform.fail("/api/cursor", Fault(200, body=b'{"data": {"posts": [{"mid": "1", '))
    with pytest.raises(SourceDataInvalid, match="weibo: 第 1 页: 应答不是有效的 JSON"):
        read_http_source(cursor_source(platform), None, TOKEN, NOW, SHANGHAI)
    platform.fail("/api/cursor", Fault(404))
    with pytest.raises(SourceRejected, match="weibo: 第 1 页: HTTP 404（地址不存在）"):
        read_http_source(cursor_source(platform), None, TOKEN, NOW, SHANGHAI)
    with pytest.raises(SourceDataInvalid, match="应答中的 'data.items' 不是列表"):
        read_http_source(cursor_source(platform, items="data.items"), None, TOKEN, NOW, SHANGHAI)
    assert len(platform.requests) == 3, "nothing here is retried"


def test_bad_records_are_named_and_the_good_ones_still_read(platform: FakePlatform) -> None:
    platform.posts[1]["text"] = ""
    platform.posts[2]["user"]["followers_count"] = "很多"
    platform.posts[3]["created_at"] = "昨天"
    platform.posts[4] = ["not", "an", "object"]  # type: ignore[call-overload]
    report = read_http_source(cursor_source(platform), None, TOKEN, NOW, SHANGHAI)
    assert len(report.mentions) == 21
    assert report.problems == [
        "weibo: 第 1 页 第 2 条（编号 m1）: text: 缺失或为空",
        "weibo: 第 1 页 第 3 条（编号 m2）: reach: 不是数字（'很多'）",
        "weibo: 第 1 页 第 4 条（编号 m3）: published_at: 不是有效的时间（'昨天'）",
        "weibo: 第 1 页 第 5 条: 不是 JSON 对象",
    ]


def test_page_pagination_with_an_api_key_and_a_since_watermark(platform: FakePlatform) -> None:
    source = HttpSource(name="shop-qa", url=platform.url("/api/pages"), pagination="page", page_size=10,
                        params={"page": "{page}", "size": "{page_size}", "since": "{since}"}, items="result.list",
                        auth_header="X-Api-Key", auth_prefix="", fields=FIELDS, rate_per_second=1000)
    report = read_http_source(source, None, TOKEN, NOW, SHANGHAI)
    assert len(report.mentions) == 25
    assert [r.query.get("page") for r in platform.requests] == ["1", "2", "3"]
    assert report.progress == SourceProgress(watermark=(NOW - timedelta(minutes=76)).isoformat())
    platform.requests.clear()
    platform.posts.append(post("m99", "新问题", NOW - timedelta(minutes=2)))
    again = read_http_source(source, report.progress, TOKEN, NOW, SHANGHAI)
    assert [m.external_id for m in again.mentions] == ["m99"]
    assert platform.requests[0].query["since"] == (NOW - timedelta(minutes=76)).isoformat()


def test_records_published_after_now_wait_and_the_cursor_stays_before_them(platform: FakePlatform) -> None:
    platform.posts[12]["created_at"] = (NOW + timedelta(hours=1)).isoformat()
    report = read_http_source(cursor_source(platform), None, TOKEN, NOW, SHANGHAI)
    assert len(report.mentions) == 24 and report.not_yet_published == 1
    assert report.progress is not None and report.progress.cursor == "c10"


def test_the_rate_limit_spaces_requests(platform: FakePlatform) -> None:
    start = time.monotonic()
    read_http_source(cursor_source(platform, page_size=5, rate_per_second=20), None, TOKEN, NOW, SHANGHAI)
    assert len(platform.requests) == 6
    assert time.monotonic() - start >= 5 * 0.05 * 0.9


def test_tokens_come_from_the_environment_never_from_crisis_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIBO_API_TOKEN", TOKEN)
    assert secret("weibo", "WEIBO_API_TOKEN", None) == TOKEN
    monkeypatch.delenv("WEIBO_API_TOKEN")
    with pytest.raises(SourceRejected, match="weibo: 环境变量 WEIBO_API_TOKEN 未设置"):
        secret("weibo", "WEIBO_API_TOKEN", None)
    with pytest.raises(ValidationError, match="CRISIS_\\* 开头的变量是系统设置"):
        HttpSource(name="x", url="https://api.example.com", token_env="CRISIS_WEIBO_TOKEN")
    with pytest.raises(ValidationError, match="cursor 分页需要在 url 或 params 中写 \\{cursor\\}"):
        HttpSource(name="x", url="https://api.example.com", pagination="cursor")
