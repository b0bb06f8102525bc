"""Drop folders of exports (social-listening tools, marketplaces): which files are ready, and reading them.

A file in a drop folder is read once, when it is complete:
- a temporary name never is (dot-files, `~$…`, `*.part`, `*.tmp`, `*.partial`, `*.crdownload`, `*.download`);
- a file modified less than `settle_seconds` ago waits (by the file system's clock, not the scan's `now`:
  it is the writer that may not be done);
- a file whose end looks cut short waits: a workbook that is not yet a whole zip, a JSONL or CSV file
  whose last line has no newline and does not parse whole;
- once read with no row waiting for a later `now`, the file is recorded by path, size, mtime and SHA-256
  (processed_files) and skipped from then on, also when the same content is dropped under another name.
A file that cannot be read at all (format, encoding, header) is named in the report and recorded too:
it is reported once, not at every scan. Replacing it (new content) gets it read.
"""

from __future__ import annotations

import glob
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from config.files import FileSource
from tasks.errors import SourceFileInvalid
from tasks.monitoring.formats import file_format, looks_complete
from tasks.monitoring.sources import FileMark, ReadReport, read_canonical_file

TEMPORARY = re.compile(r"^\.|^~\$|\.(part|tmp|partial|crdownload|download)$", re.IGNORECASE)


@dataclass(frozen=True)
class DropFile:
    path: Path
    size: int
    mtime_ns: int

    @cached_property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    def mark(self, mentions: int, problems: int) -> FileMark:
        return FileMark(str(self.path), self.size, self.mtime_ns, self.sha256, mentions, problems)


AlreadyRead = Callable[[list[DropFile]], set[str]]


def list_drop_files(source: FileSource, var: Path) -> list[DropFile]:
    """Return the files the source's globs match (relative globs under var_dir), temporary names left out."""
    found: dict[Path, DropFile] = {}
    for pattern in source.globs:
        full = pattern if Path(pattern).is_absolute() else str(var / pattern)
        for name in sorted(glob.glob(full, recursive=True)):
            path = Path(name).resolve()
            if TEMPORARY.search(path.name) or not path.is_file() or path in found:
                continue
            stat = path.stat()
            found[path] = DropFile(path, stat.st_size, stat.st_mtime_ns)
    return list(found.values())


def _not_ready(file: DropFile, source: FileSource, wall_clock: float) -> str | None:
    """Return why the file must wait, or None if it looks complete (or cannot be read: reading will say why)."""
    age = wall_clock - file.mtime_ns / 1e9
    if age < source.settle_seconds:
        return f"{max(age, 0):.0f} 秒前刚修改，等写入方写完（需静置 {source.settle_seconds:g} 秒）"
    try:
        fmt = file_format(file.path, source.format)
    except SourceFileInvalid:
        return None
    if not looks_complete(file.path, fmt, "utf-8"):
        return "最后一行不完整（可能仍在写入）" if fmt != "xlsx" else "工作簿尚不完整（可能仍在写入）"
    return None


def read_drop_folder(source: FileSource, var: Path, now: datetime, timezone: ZoneInfo, wall_clock: float,
                     already_read: AlreadyRead) -> ReadReport:
    """Read every complete file not read before; name the files that wait and the bad rows and files."""
    report = ReadReport(source=source.name, kind="file")
    files = list_drop_files(source, var)
    done = already_read(files)
    for file in (f for f in files if str(f.path) not in done):
        why = _not_ready(file, source, wall_clock)
        if why:
            report.waiting.append(f"{file.path}: {why}")
            continue
        try:
            part = read_canonical_file(file.path, source.name, now, timezone, fields=source.fields, fmt=source.format,
                                       encoding=source.encoding, sheet=source.sheet, platform=source.platform,
                                       clock=datetime.fromtimestamp(wall_clock, UTC))
        except SourceFileInvalid as exc:
            report.problems.append(str(exc))
            report.files.append(file.mark(0, 1))
            continue
        report.absorb(part)
        if part.not_yet_published == 0:
            report.files.append(file.mark(len(part.mentions), len(part.problems)))
    return report
