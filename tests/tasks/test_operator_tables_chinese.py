"""The compensation summary and `source-health` tables operators read in the Prefect UI are Chinese: no
English word (beyond the names and codes listed here) and no UUID in any key or value, for the batches and
source states operators meet (a dry run, an applied batch with skipped orders, a rejected one; a source that
is ok, partial, failing, disabled or never run)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prefect.logging import disable_run_logger

from tasks.common import show_time
from tasks.compensation import report
from tasks.monitoring.errors import SourceError
from tasks.monitoring.health import DESCRIPTION, SourceOutcome, display, merge_with_config, next_health, records
from tasks.monitoring.resilience import RateLimiter, RetryPolicy
from tasks.monitoring.sources_http import fetch
from tests.tasks.test_compensation_ledger import make_incident, orders_csv, run_batch

# Proper names and codes that stay as they are: protocols and formats, config keys a message tells the
# operator to check, the policy ids and source names of these tests.
ALLOWED = {"HTTP", "RSS", "SQL", "CSV", "API", "JSON", "token_env", "token_block", "refund-full", "coupon-20",
           "weibo", "media", "inbox", "shop-reviews", "old"}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
NOW = datetime(2025, 11, 27, 4, 0, tzinfo=UTC)


def english_in(rows: list[dict[str, object]], *texts: str) -> list[str]:
    """Return every English word (3+ letters, not allowed) and UUID in the rows' keys and values and `texts`."""
    words = [f"{k} {v}" for row in rows for k, v in row.items()] + list(texts)
    found = [w for text in words for w in WORD.findall(text) if sum(c.isalpha() for c in w) >= 3
             and w not in ALLOWED]
    return found + [u for text in words for u in UUID.findall(text)]


def published(monkeypatch: pytest.MonkeyPatch, path: Path, **batch: object) -> tuple[list[dict[str, object]], str]:
    """Run one batch through the tasks' functions and return the summary table and description it publishes."""
    captured: list[tuple[list[dict[str, object]], str]] = []
    monkeypatch.setattr(report, "publish_table", lambda key, rows, description: captured.append((rows, description)))
    with disable_run_logger():
        report.report_batch.fn(*run_batch(path, **batch))  # type: ignore[arg-type]
    return captured[0]


def test_the_compensation_summary_table_is_chinese(database: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    make_incident()
    big = orders_csv(tmp_path / "big.csv", [(f"O{i}", f"C{i}", "300") for i in range(40)])  # above the limit
    small = orders_csv(tmp_path / "small.csv", [("P1", "D1", "10"), ("P2", "D2", "12")])
    small.write_bytes(small.read_bytes().replace(b",completed,d2@", b",refunded,d2@"))

    dry_rows, dry_text = published(monkeypatch, big, policy="refund-full", dry_run=True)
    rows, text = published(monkeypatch, small)
    rejected_rows, rejected_text = published(monkeypatch, big, policy="refund-full", approve=False)

    assert english_in(dry_rows + rows + rejected_rows, dry_text, text, rejected_text) == []
    dry, applied, refused = ({str(r["项目"]): r["数值"] for r in t} for t in (dry_rows, rows, rejected_rows))
    assert dry["结果"] == "试算（未发放）" and dry["审批"] == "需要审批" and dry["补偿订单（试算：将补偿）"] == 40
    assert applied["结果"] == "已发放" and applied["审批"] == "无需审批" and applied["未补偿：订单已退款"] == 1
    assert applied["读入订单"] == 2 and applied["补偿客户"] == 1
    assert refused["结果"] == "已驳回" and refused["审批"] == "已驳回（王芳）" and refused["补偿订单"] == 0
    assert rejected_text.endswith("：已驳回") and "refund-full" in rejected_text


def _error(status: int) -> str:
    """Return the error our HTTP reader raises for an answer with `status` (after its retries)."""
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(status)))
    with pytest.raises(SourceError) as raised:
        fetch(client, "https://api.example.com/posts", "weibo: 第 1 页", RetryPolicy(attempts=2, jitter=0),
              RateLimiter(1000.0), sleep=lambda seconds: None)
    return str(raised.value)


@pytest.mark.parametrize("status", [401, 403, 404, 429, 503])
def test_the_source_health_table_is_chinese(status: int) -> None:
    before = next_health(None, SourceOutcome("weibo", "http", mentions=5), NOW - timedelta(minutes=5))
    stored = {
        "weibo": next_health(before, SourceOutcome("weibo", "http", error=_error(status)), NOW),
        "media": next_health(None, SourceOutcome("media", "rss", mentions=3), NOW),
        "inbox": next_health(None, SourceOutcome("inbox", "file", mentions=2, problems=1), NOW),
    }
    configured = [("weibo", "http", True), ("media", "rss", True), ("inbox", "file", True),
                  ("shop-reviews", "sql", True), ("old", "sql", False)]
    rows = display(records(merge_with_config(stored, configured)), show_time)

    assert english_in(rows, DESCRIPTION) == []
    table = {str(r["来源"]): r for r in rows}
    assert {name: r["状态"] for name, r in table.items()} == {
        "weibo": "读取失败", "media": "正常", "inbox": "部分记录有误", "shop-reviews": "尚未运行", "old": "已停用"}
    assert f"HTTP {status}" in str(table["weibo"]["最近错误"]) and table["weibo"]["连续失败次数"] == 1
    assert table["inbox"]["有误记录数"] == 1 and table["media"]["上次读到条数"] == 3


def test_no_sources_configured_reads_in_chinese() -> None:
    assert english_in(display([], show_time)) == []
