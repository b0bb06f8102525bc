"""RSS and Atom feeds (feedparser) for media monitoring, fetched with the HTTP source's retries.

Incremental by conditional GET: the feed's ETag and Last-Modified are kept, so an unchanged feed
answers 304 and costs nothing; entries already stored are skipped by the unique (source, id) key.
A feed says nothing of reposts or likes; the Slash namespace's `<slash:comments>` (news sites and blogs)
is read as the entry's comment count, raised on the stored mention when a later read reports more.
"""

from __future__ import annotations

import html
import re
import time
from calendar import timegm
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import feedparser
import httpx

from config.files import RssSource
from tasks.monitoring.errors import SourceDataInvalid
from tasks.monitoring.resilience import RateLimiter, RetryPolicy, Sleep
from tasks.monitoring.sources import Collector, ReadReport, SourceProgress
from tasks.monitoring.sources_http import fetch

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def plain_text(fragment: str) -> str:
    """Return a feed's HTML fragment as one line of text."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", fragment or ""))).strip()


def _entry_record(entry: feedparser.FeedParserDict) -> dict[str, object]:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    title, summary = plain_text(entry.get("title", "")), plain_text(entry.get("summary", ""))
    return {
        "id": entry.get("id") or entry.get("link") or "",
        "text": f"{title} {summary}".strip() if summary and summary != title else title,
        "author": entry.get("author"),
        "url": entry.get("link"),
        "published_at": datetime.fromtimestamp(timegm(parsed), UTC) if parsed else None,
        "comments": entry.get("slash_comments"),
    }


def read_rss_source(source: RssSource, progress: SourceProgress | None, now: datetime, timezone: ZoneInfo,
                    sleep: Sleep = time.sleep, clock: datetime | None = None) -> ReadReport:
    """Read the feed's entries as of `now` (`clock`: the machine's, see Collector); an unchanged feed (304)
    reads nothing."""
    report = ReadReport(source=source.name, kind="rss")
    previous = progress or SourceProgress()
    conditional = {k: v for k, v in (("If-None-Match", previous.etag),
                                       ("If-Modified-Since", previous.last_modified)) if v}
    with httpx.Client(timeout=source.timeout_seconds, headers=source.headers, follow_redirects=True) as client:
        response = fetch(client, source.url, f"{source.name}: 订阅源", RetryPolicy.of(source),
                         RateLimiter(1.0, sleep), sleep, headers=conditional)
    if response.status_code == 304:
        report.progress = previous
        return report
    feed = feedparser.parse(response.content, response_headers={"content-type": response.headers.get(
        "content-type", "application/xml")})
    if feed.bozo and not feed.entries:
        raise SourceDataInvalid(f"{source.name}: 订阅源: 不是 RSS 或 Atom 订阅（{feed.get('bozo_exception')}）")
    collector = Collector(report, now, timezone, {}, source.platform, clock=clock)
    waited = False
    for number, entry in enumerate(feed.entries, start=1):
        waited |= collector.add(f"{source.name}: 第 {number} 条", _entry_record(entry)) == "waiting"
    latest = max((m.published_at for m in report.mentions), default=None)
    # An entry that waits for a later `now` must be fetched again: do not let the server answer 304.
    report.progress = SourceProgress(
        watermark=max(filter(None, [previous.watermark, latest.isoformat() if latest else None]), default=None),
        etag=None if waited else response.headers.get("etag"),
        last_modified=None if waited else response.headers.get("last-modified"),
    )
    return report
