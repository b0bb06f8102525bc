"""The one record shape every source produces (RawMention), the mapping from a platform's field names to
ours, and the canonical file reader.

Canonical files are JSONL, CSV or XLSX (UTF-8, UTF-8 with BOM, GBK or GB18030) with `id`, `text`, and
optional `author`, `reach`, `published_at`, `url`, `platform`, `repost_of` (the id, in the same source, of
the post this one reposts or quotes) and the engagement counts `reposts`, `comments`, `likes`; a source's
`fields` maps other names (dotted paths reach into nested JSON). A bad record is named (`where: field: why`) and the good ones still come
through. Records published after the scan's `now` wait for a later scan. What a record may bring in (no
control characters, capped text, http(s) URLs, a plausible id and date) is sources_hygiene's; a record
cleaned on the way in is named too, and of two records with one id and different texts the first is kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from tasks.common import collector_paused, http_url
from tasks.monitoring.formats import detect_encoding, file_format, iter_rows
from tasks.monitoring.sources_hygiene import cap_text, cleaning_notes, external_id, future_limit, scrub

FIELDS = ("id", "text", "author", "reach", "published_at", "url", "platform", "repost_of", "reposts", "comments",
          "likes")
ENGAGEMENT = ("reposts", "comments", "likes")
_MAX_COUNT = 2**31 - 1  # the columns are 32-bit integers
_CHINESE_TIME = re.compile(
    r"^(\d{4})[年/.-](\d{1,2})[月/.-](\d{1,2})日?(?:[ T]*(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})秒?)?)?$")
_MULTIPLIERS = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "k": 1_000, "K": 1_000}


@dataclass(frozen=True)
class RawMention:
    source: str
    external_id: str
    text: str
    published_at: datetime
    author: str | None = None
    reach: int = 0
    url: str | None = None
    platform: str | None = None
    repost_of: str | None = None  # external id (same source) of the post this one reposts or quotes
    reposts: int | None = None  # engagement as reported at this read; None when the source does not say
    comments: int | None = None
    likes: int | None = None
    content_hash: str | None = None  # set when the text was cut: the whole text's (the analysis hashes the rest)


@dataclass(frozen=True)
class SourceProgress:
    """Where a source's next scan starts: an API cursor, a watermark, a feed's HTTP validators."""

    cursor: str | None = None
    watermark: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FileMark:
    """A drop file read completely, so never read again: its path, size, mtime and content hash."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    mentions: int
    problems: int


@dataclass
class ReadReport:
    """What one read of a source produced: mentions, records not yet due, named problems, and the
    progress to save once the mentions are stored (watermark or cursor, files read)."""

    source: str = ""
    kind: str = "file"
    mentions: list[RawMention] = field(default_factory=list)
    not_yet_published: int = 0
    problems: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    progress: SourceProgress | None = None
    files: list[FileMark] = field(default_factory=list)

    def absorb(self, other: ReadReport) -> None:
        """Add another read's mentions, counts and problems to this one."""
        self.mentions.extend(other.mentions)
        self.not_yet_published += other.not_yet_published
        self.problems.extend(other.problems)
        self.waiting.extend(other.waiting)


def pluck(record: Mapping[str, object], path: str) -> object:
    """Return the value at `path`: the key itself, else a dotted path through objects and lists."""
    if path in record:
        return record[path]
    if "." not in path:  # a plain key the record does not have (most missing optional fields)
        return None
    value: object = record
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _is_epoch(value: object) -> bool:
    text = str(value).strip()
    return text.isdigit() and len(text) >= 9  # 8 digits is a compact date (20261127)


def parse_time(value: object, timezone: ZoneInfo) -> datetime:
    """Parse ISO 8601, epoch seconds or milliseconds, or 2026/11/27 10:00 (also 年月日); naive = `timezone`."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool) or _is_epoch(value):
        number = float(value)  # type: ignore[arg-type]
        parsed = datetime.fromtimestamp(number / 1000 if number >= 1e11 else number, UTC)
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            match = _CHINESE_TIME.match(text)
            if not match:
                raise
            parsed = datetime(*(int(part or 0) for part in match.groups()))  # type: ignore[misc]
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone)
    return parsed.astimezone(UTC)


def parse_reach(value: object) -> int:
    """Parse followers or views: 1200, "1,200", "1.2万", "3亿", "10万+"; raise ValueError('reach: why')."""
    return parse_count(value, "reach") or 0


def parse_count(value: object, name: str) -> int | None:
    """Parse a count as platforms show it (1200, "1,200", "1.2万", "10万+"); None when absent; raise
    ValueError('<name>: why')."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int | float):
            number = float(value)
        else:
            text = str(value).strip().replace(",", "").replace("，", "").rstrip("+")
            factor = _MULTIPLIERS.get(text[-1:], 1)
            number = float(text[:-1] if factor != 1 else text) * factor
    except (ValueError, OverflowError):
        raise ValueError(f"{name}: 不是数字（{value!r}）") from None
    if not math.isfinite(number):
        raise ValueError(f"{name}: 不是数字（{value!r}）")
    if number < 0:
        raise ValueError(f"{name}: 是负数（{int(number)}）")
    return int(number)


def _short(value: object, limit: int) -> str | None:
    return str(value if value is not None else "").strip()[:limit] or None


def to_mention(record: Mapping[str, object], fields: Mapping[str, str], source: str, platform: str | None,
               fallback_time: datetime, timezone: ZoneInfo, source_from_platform: bool = False) -> RawMention:
    """Build one mention from a record through the field mapping, or raise ValueError('field: why')."""
    return read_record(record, fields, source, platform, fallback_time, timezone, source_from_platform)[0]


def read_record(record: Mapping[str, object], fields: Mapping[str, str], source: str, platform: str | None,
                fallback_time: datetime, timezone: ZoneInfo,
                source_from_platform: bool = False) -> tuple[RawMention, list[str]]:
    """Build one mention as to_mention does; also return what was cleaned on the way in ('field: what')."""
    scrubbed: dict[str, int] = {}

    def get(name: str) -> object:
        path = fields.get(name, name)
        value = record[path] if path in record else pluck(record, path)
        if type(value) is str and not value.isprintable():  # scrub's own test, without a call per field
            value, removed = scrub(value)
            if removed:
                scrubbed[name] = removed
        return value

    ident = external_id(get("id"))
    if not ident:
        raise ValueError("id: 缺失")
    text = get("text")
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text: 缺失或为空")
    reach = parse_reach(get("reach"))
    raw_time = get("published_at")
    try:
        published = parse_time(raw_time, timezone) if raw_time not in (None, "") else fallback_time
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"published_at: 不是有效的时间（{raw_time!r}）") from None
    named = _short(get("platform"), 64)
    counts = {name: parse_count(get(name), name) for name in ENGAGEMENT}
    for name, count in counts.items():
        if count is not None and count > _MAX_COUNT:
            raise ValueError(f"{name}: 数值过大（{count}）")
    repost_of = external_id(get("repost_of"), "repost_of") or None
    text, full_hash = cap_text(text)
    url, author = http_url(raw_url := get("url")), _short(get("author"), 256)
    notes = cleaning_notes(scrubbed, full_hash is not None, None if url or raw_url in (None, "") else raw_url)
    mention = _new_mention(RawMention)  # every field set, as __init__ would, without its __setattr__ per field
    _set_field(mention, "__dict__", {
        "source": (named if source_from_platform and named else source)[:64],
        "external_id": ident,
        "text": text,
        "published_at": published,
        "author": author,
        "reach": reach,
        "url": url,
        "platform": named or platform,
        "repost_of": repost_of if repost_of != ident else None,
        "reposts": counts["reposts"],
        "comments": counts["comments"],
        "likes": counts["likes"],
        "content_hash": full_hash,
    })
    return mention, notes


_new_mention, _set_field = object.__new__, object.__setattr__


Outcome = Literal["ok", "bad", "waiting", "future"]


class Collector:
    """Turn a source's records into mentions as of `now`, naming each bad or cleaned record in the report.

    `clock` is the machine's clock at the read: a post dated a day past both it and `now` is refused as a
    wrong date ("future"), one due by then waits ("waiting"). Of two records with one id and different texts
    the first is kept and the second named ("bad")."""

    def __init__(self, report: ReadReport, now: datetime, timezone: ZoneInfo, fields: Mapping[str, str],
                 platform: str | None = None, source_from_platform: bool = False, clock: datetime | None = None):
        self.report, self.now, self.timezone = report, now, timezone
        self.fields, self.platform, self.source_from_platform = fields, platform, source_from_platform
        self.latest = future_limit(now, clock)
        self.seen: dict[tuple[str, str], tuple[str, str]] = {}  # (source, id) -> (where, text) of the first

    def add(self, where: str, record: object) -> Outcome:
        """Add one record (a mapping, or a string saying why it is not one); tell what became of it."""
        if not isinstance(record, Mapping):
            self.report.problems.append(f"{where}: {record if isinstance(record, str) else '不是 JSON 对象'}")
            return "bad"
        try:
            mention, notes = read_record(record, self.fields, self.report.source, self.platform, self.now,
                                         self.timezone, self.source_from_platform)
        except ValueError as exc:
            self.report.problems.append(f"{where}: {exc}")
            return "bad"
        if mention.published_at > self.latest:
            shown = mention.published_at.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M")
            self.report.problems.append(f"{where}: published_at: 发布时间 {shown} 比扫描时间晚一天以上，日期有误，未入库")
            return "future"
        if mention.published_at > self.now:
            self.report.not_yet_published += 1
            return "waiting"
        key = (mention.source, mention.external_id)
        first = self.seen.setdefault(key, (where, mention.text))
        if first[1] != mention.text:
            self.report.problems.append(f"{where}: id: 编号 {mention.external_id} 与 {first[0]} 相同而正文不同，"
                                        "保留前一条，此条未入库")
            return "bad"
        self.report.problems.extend(f"{where}: {note}" for note in notes)
        self.report.mentions.append(mention)
        return "ok"


def read_canonical_file(path: Path, source: str, now: datetime, timezone: ZoneInfo, *,
                        fields: Mapping[str, str] | None = None, fmt: str = "auto", encoding: str = "auto",
                        sheet: str | None = None, platform: str | None = None,
                        clock: datetime | None = None) -> ReadReport:
    """Read one export as of `now`: rows published later are left for a later scan (a day past `now` and
    the machine's `clock`, refused as a wrong date).

    Raises SourceFileInvalid when the file as a whole cannot be read (format, encoding, header).
    """
    mapping = dict(fields or {})
    kind = file_format(path, fmt)
    codec = detect_encoding(path, encoding) if kind != "xlsx" else ""
    report = ReadReport(source=source, kind="file")
    collector = Collector(report, now, timezone, mapping, platform, source_from_platform=True, clock=clock)
    required = [mapping.get("id", "id"), mapping.get("text", "text")]
    with collector_paused():
        for number, row in iter_rows(path, kind, codec, required, sheet):
            collector.add(f"{path}:{number}", row)
    return report
