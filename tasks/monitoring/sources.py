"""Mention sources. The file source reads the canonical format (JSONL or CSV):
`id`, `text`, and optional `author`, `reach`, `published_at` (ISO 8601, naive = Asia/Shanghai),
`url`, `platform`. Bad rows are reported by file, row and field; good rows still come through.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tasks.errors import SourceFileInvalid

FIELDS = ("id", "text", "author", "reach", "published_at", "url", "platform")


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


@dataclass
class ReadReport:
    """What one read of a source produced: mentions, rows not yet due, and named problems."""

    mentions: list[RawMention] = field(default_factory=list)
    not_yet_published: int = 0
    problems: list[str] = field(default_factory=list)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    suffix = path.suffix.lower()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            if suffix == ".jsonl":
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield number, {"__error__": f"not valid JSON ({exc.msg})"}
                        continue
                    yield number, row if isinstance(row, dict) else {"__error__": "not a JSON object"}
            elif suffix == ".csv":
                reader = csv.DictReader(handle)
                if not reader.fieldnames or "id" not in reader.fieldnames or "text" not in reader.fieldnames:
                    raise SourceFileInvalid(f"{path}: the header must name at least 'id' and 'text'")
                for number, row in enumerate(reader, start=2):
                    yield number, dict(row)
            else:
                raise SourceFileInvalid(f"{path}: unknown format '{suffix}' (use .jsonl or .csv)")
    except FileNotFoundError:
        raise SourceFileInvalid(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise SourceFileInvalid(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def parse_time(value: object, timezone: ZoneInfo) -> datetime:
    """Parse ISO 8601; a naive time is in the given zone (Asia/Shanghai by default)."""
    parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone)
    return parsed.astimezone(UTC)


def _mention(row: dict[str, object], source: str, fallback_time: datetime, timezone: ZoneInfo) -> RawMention:
    """Build one mention or raise ValueError('field: why')."""
    external_id = str(row.get("id") or "").strip()
    if not external_id:
        raise ValueError("id: missing")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text: missing or empty")
    raw_reach = row.get("reach")
    try:
        reach = int(float(str(raw_reach))) if raw_reach not in (None, "") else 0
    except ValueError:
        raise ValueError(f"reach: not a number ({raw_reach!r})") from None
    if reach < 0:
        raise ValueError(f"reach: negative ({reach})")
    raw_time = row.get("published_at")
    try:
        published = parse_time(raw_time, timezone) if raw_time not in (None, "") else fallback_time
    except ValueError:
        raise ValueError(f"published_at: not ISO 8601 ({raw_time!r})") from None
    platform = str(row.get("platform") or "").strip() or None
    return RawMention(
        source=platform or source,
        external_id=external_id,
        text=text,
        published_at=published,
        author=str(row.get("author") or "").strip() or None,
        reach=reach,
        url=_safe_url(row.get("url")),
        platform=platform,
    )


def _safe_url(value: object) -> str | None:
    """Keep only http(s) links: a `javascript:` or `data:` URL must never become a live link."""
    url = str(value or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else None


def read_canonical_file(path: Path, source: str, now: datetime, timezone: ZoneInfo) -> ReadReport:
    """Read a canonical file as of `now`: rows published later are left for a later scan."""
    report = ReadReport()
    for number, row in _rows(path):
        if "__error__" in row:
            report.problems.append(f"{path}:{number}: {row['__error__']}")
            continue
        try:
            mention = _mention(row, source, now, timezone)
        except ValueError as exc:
            report.problems.append(f"{path}:{number}: {exc}")
            continue
        if mention.published_at > now:
            report.not_yet_published += 1
            continue
        report.mentions.append(mention)
    return report
