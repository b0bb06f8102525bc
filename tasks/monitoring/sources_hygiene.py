"""What a record may bring into the database (ingest hygiene). Pure.

- Every text field loses NUL and the other control characters (C0 but tab and newline, DEL, C1) and
  lone surrogates: PostgreSQL refuses a NUL in text, and one such post failed a whole batch. CR and
  CRLF become LF (not worth naming).
- A post's text is cut at MAX_TEXT characters; its content hash stays the whole text's, so a repeat of
  a long post is still found.
- Only absolute http(s) URLs are kept (tasks.common.http_url): no `javascript:`, `data:` or relative link.
- An id is a string or a number, never an object, a list or a boolean.
- A post dated more than FUTURE_TOLERANCE after both the scan's `now` and the machine's clock has a wrong
  date (2099): it is refused, not left to wait for a later scan that would never come.
The caller names each cleaned or refused record with its place (file and row).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

MAX_TEXT = 20_000
MAX_ID = 128  # the external_id column's width: a longer id is stored as its SHA-1
FUTURE_TOLERANCE = timedelta(days=1)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_NEWLINES = re.compile(r"\r\n?")


def scrub(value: str) -> tuple[str, int]:
    """Return the text without control characters (tab and newline kept, CR made LF) and how many went."""
    if value.isprintable():  # most values: no control character, CR or lone surrogate (none is printable)
        return value, 0
    text = _NEWLINES.sub("\n", value)
    return _CONTROL.subn("", text)


def cap_text(text: str) -> tuple[str, str | None]:
    """Return the text cut at MAX_TEXT characters and, when it was cut, the content hash of the whole text
    (the same hash the analysis gives a text: SHA-256 of it with whitespace collapsed)."""
    if len(text) <= MAX_TEXT:
        return text, None
    from tasks.monitoring.analysis import normalise  # loads jieba: only for the rare long post

    return text[:MAX_TEXT], hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def check_id(raw: object, name: str = "id") -> None:
    """Raise ValueError('<name>: why') when the value cannot be a post's id (an object, list or boolean)."""
    if isinstance(raw, Mapping | list | tuple | set | bool):
        kind = "布尔值" if isinstance(raw, bool) else "对象或列表"
        raise ValueError(f"{name}: 是{kind}，不是编号（{str(raw)[:40]}）")


def external_id(raw: object, name: str = "id") -> str:
    """Return the id as stored (Excel's ="…" unwrapped, a long one hashed); ValueError for an object or list."""
    if raw is None:
        return ""
    if type(raw) is not str:  # a string needs no check (isinstance against Mapping is slow, per record)
        check_id(raw, name)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw if raw is not None else "").strip()
    if text.startswith('="') and text.endswith('"'):  # Excel's protection of long numbers
        text = text[2:-1].strip()
    if len(text) > MAX_ID:
        text = "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()
    return text


def cleaning_notes(scrubbed: Mapping[str, int], cut: bool, dropped_url: object) -> list[str]:
    """Return what was cleaned on the way in, one 'field: what' each (the record is stored)."""
    notes = ["、".join(scrubbed) + f": 含 {sum(scrubbed.values())} 个控制字符（如 NUL），已清除后入库"] if scrubbed else []
    if cut:
        notes.append(f"text: 正文超过 {MAX_TEXT:,} 字，截断后入库（内容哈希按全文计算）")
    if dropped_url is not None:
        notes.append(f"url: 不是 http(s) 链接，已丢弃（{str(dropped_url)[:60]!r}）")
    return notes


def future_limit(now: datetime, clock: datetime | None = None) -> datetime:
    """Return the latest publication time a post can plausibly have, read at `now` by a machine whose clock
    says `clock` (a replay or the demo scans in the past: its posts up to the clock are real)."""
    latest = max(now, clock) if clock is not None else now
    try:
        return latest + FUTURE_TOLERANCE
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)
