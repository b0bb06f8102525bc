"""Platform JSON APIs over HTTP (httpx): URL template, secret auth header, cursor or page pagination,
field mapping, a rate limit, and retries for transient errors only (timeouts, dropped connections,
429 with its Retry-After, 5xx). Any other 4xx and malformed JSON fail at once with a named error.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import httpx

from config.files import HttpSource
from tasks.monitoring.errors import SourceDataInvalid, SourceRejected, TransientSourceError
from tasks.monitoring.resilience import RateLimiter, RetryPolicy, Sleep, call_with_retries
from tasks.monitoring.sources import Collector, ReadReport, SourceProgress, parse_time, pluck

_HINTS = {401: "（未授权：请检查来源的 token_env / token_block）", 403: "（令牌没有所需权限）", 404: "（地址不存在）",
          429: "（请求过于频繁）"}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def fetch(client: httpx.Client, url: str, label: str, policy: RetryPolicy, limiter: RateLimiter,
          sleep: Sleep = time.sleep, params: dict[str, str] | None = None,
          headers: dict[str, str] | None = None) -> httpx.Response:
    """GET `url` with the source's rate limit and retries; return a 2xx or 304 response."""

    def attempt() -> httpx.Response:
        limiter.wait()
        try:
            response = client.get(url, params=params, headers=headers)
        except httpx.TimeoutException:
            raise TransientSourceError(f"{label}: {client.timeout.read:g} 秒内无应答") from None
        except httpx.TransportError as exc:
            raise TransientSourceError(f"{label}: 连接出错（{type(exc).__name__}: {exc}）") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientSourceError(f"{label}: HTTP {status}{_HINTS.get(status, '（服务器出错）')}",
                                      _retry_after(response))
        if status >= 400:
            raise SourceRejected(f"{label}: HTTP {status}{_HINTS.get(status, '（请求被拒绝）')}")
        return response

    return call_with_retries(attempt, policy, sleep)


def _render(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _since(watermark: str | None, style: str) -> str:
    if not watermark:
        return ""
    moment = datetime.fromisoformat(watermark)
    if style == "iso":
        return moment.isoformat()
    return str(int(moment.timestamp() * (1000 if style == "epoch_ms" else 1)))


def _body(response: httpx.Response, label: str) -> object:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceDataInvalid(f"{label}: 应答不是有效的 JSON（{exc}）") from None


def _items(body: object, source: HttpSource, label: str) -> list[object]:
    items = body if not source.items else pluck(body, source.items) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise SourceDataInvalid(f"{label}: 应答中的 '{source.items}' 不是列表")
    return items


@dataclass
class _Pages:
    """Which page or cursor comes next, and where the next scan resumes: at the last page read, or at the
    first page that held a record published after `now` (so that record is not skipped)."""

    source: HttpSource
    cursor: str | None
    page: int
    resume: str | None
    held: bool = False

    def values(self, since: str) -> dict[str, str]:
        return {"cursor": self.cursor or "", "page": str(self.page), "page_size": str(self.source.page_size),
                "since": since}

    def advance(self, body: object, items: list[object], waited: bool) -> bool:
        """Note the page just read; tell whether another page follows."""
        if not self.held:
            self.resume, self.held = self.cursor, waited
        mode = self.source.pagination
        if mode == "none" or not items or (mode == "page" and len(items) < self.source.page_size):
            return False
        if mode == "cursor":
            following = pluck(body, self.source.next_cursor) if isinstance(body, dict) else None
            if following in (None, "") or str(following) == self.cursor:
                return False
            self.cursor = str(following)
        self.page += 1
        return True


def read_http_source(source: HttpSource, progress: SourceProgress | None, token: str | None, now: datetime,
                     timezone: ZoneInfo, sleep: Sleep = time.sleep, clock: datetime | None = None) -> ReadReport:
    """Read every new page as of `now` (`clock`: the machine's, see Collector); return the mentions and the
    cursor / watermark to resume from."""
    report = ReadReport(source=source.name, kind="http")
    collector = Collector(report, now, timezone, source.fields, source.platform, clock=clock)
    previous = progress or SourceProgress()
    start = previous.watermark or (parse_time(source.initial_since, timezone).isoformat()
                                   if source.initial_since else None)
    headers = {**source.headers, **({source.auth_header: source.auth_prefix + token} if token else {})}
    limiter, policy = RateLimiter(source.rate_per_second, sleep), RetryPolicy.of(source)
    pages = _Pages(source, previous.cursor, source.page_start, previous.cursor)
    with httpx.Client(timeout=source.timeout_seconds, headers=headers, follow_redirects=True) as client:
        for number in range(1, source.max_pages + 1):
            label = f"{source.name}: 第 {number} 页"
            values = pages.values(_since(start, source.since_format))
            params = {k: v for k, v in ((k, _render(t, values)) for k, t in source.params.items()) if v}
            body = _body(fetch(client, _render(source.url, values), label, policy, limiter, sleep, params), label)
            items = _items(body, source, label)
            outcomes = [collector.add(_where(label, i, item, source), item) for i, item in enumerate(items, 1)]
            if not pages.advance(body, items, "waiting" in outcomes):
                break
        else:
            report.waiting.append(f"{source.name}: 已读满 max_pages {source.max_pages} 页，下次扫描接着读")
    report.progress = SourceProgress(cursor=pages.resume if source.pagination == "cursor" else None,
                                     watermark=_later(start, report))
    return report


def _later(start: str | None, report: ReadReport) -> str | None:
    latest = max((m.published_at for m in report.mentions), default=None)
    candidates = [datetime.fromisoformat(v) for v in (start,) if v] + ([latest] if latest else [])
    return max(candidates).astimezone(UTC).isoformat() if candidates else None


def _where(label: str, number: int, item: object, source: HttpSource) -> str:
    ident = pluck(item, source.fields.get("id", "id")) if isinstance(item, dict) else None
    return f"{label} 第 {number} 条" + (f"（编号 {ident}）" if ident not in (None, "") else "")
