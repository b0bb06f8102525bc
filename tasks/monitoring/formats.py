"""Records of export files: JSONL, CSV and XLSX, in UTF-8 (with or without BOM), GBK or GB18030.

Rows are streamed, never loaded whole. Each row comes as (row number, record) or (row number, why it
is not one), so one bad row is named and the others still come through. No Prefect, no database.
"""

from __future__ import annotations

import codecs
import csv
import json
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

from tasks.errors import SourceFileInvalid

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".xlsx": "xlsx"}
Row = tuple[int, dict[str, object] | str]
_CHUNK = 1 << 20


def file_format(path: Path, configured: str = "auto") -> str:
    """Return jsonl, csv or xlsx: the configured format, else the one the suffix names."""
    if configured != "auto":
        return configured
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise SourceFileInvalid(f"{path}: 无法识别的格式 '{path.suffix}'（请用 .jsonl、.csv 或 .xlsx）")
    return found


def _decodes(path: Path, encoding: str) -> int | None:
    """Return None if the whole file decodes, else the offset of the first bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return max(0, offset + exc.start)
            if not chunk:
                return None
            offset += len(chunk)


def detect_encoding(path: Path, configured: str = "auto") -> str:
    """Return the codec to read a text export with: UTF-8 (BOM skipped) if it decodes, else GB18030 (⊇ GBK)."""
    if configured in ("gbk", "gb18030"):
        return "gb18030"
    if configured == "utf-8":
        return "utf-8-sig"
    try:
        bad_utf8 = _decodes(path, "utf-8")
    except FileNotFoundError:
        raise SourceFileInvalid(f"{path}: 文件不存在") from None
    if bad_utf8 is None:
        return "utf-8-sig"
    if _decodes(path, "gb18030") is None:
        return "gb18030"
    raise SourceFileInvalid(f"{path}: 编码既不是 UTF-8 也不是 GBK/GB18030（偏移 {bad_utf8} 处的字节无法解码）")


def iter_rows(path: Path, fmt: str, encoding: str, required: Sequence[str], sheet: str | None = None) -> Iterator[Row]:
    """Yield the file's records; raise SourceFileInvalid if the file as a whole cannot be read."""
    if fmt == "xlsx":
        yield from _xlsx_rows(path, required, sheet)
        return
    try:
        with path.open(encoding=encoding, newline="") as handle:
            yield from (_jsonl_rows(handle) if fmt == "jsonl" else _csv_rows(path, handle, required))
    except FileNotFoundError:
        raise SourceFileInvalid(f"{path}: 文件不存在") from None
    except UnicodeDecodeError as exc:
        raise SourceFileInvalid(f"{path}: 不是 {encoding} 编码的文本（偏移 {exc.start} 处：{exc.reason}）") from None


_JSON = json.JSONDecoder(strict=False)  # a raw control character is cleaned and named, not fatal (one decoder:
# json.loads with an argument builds one per line)


def _jsonl_rows(handle) -> Iterator[Row]:  # type: ignore[no-untyped-def]
    fast, decode = orjson.loads, _JSON.decode
    for number, line in enumerate(handle, start=1):
        try:
            # orjson: strict JSON, 2-3x faster. What it refuses (a raw control character, NaN, a lone surrogate, a
            # blank line) json reads as it always has, or names; a number past 64 bits, which orjson reads as a
            # rounded float (an id!), json reads exactly.
            row = fast(line)
            if _may_hold_a_rounded_integer(row):
                row = decode(line)
        except orjson.JSONDecodeError:
            if not line.strip():
                continue
            try:
                row = decode(line)
            except json.JSONDecodeError as exc:
                yield number, f"不是有效的 JSON（{exc.msg}）"
                continue
        yield number, row if isinstance(row, dict) else "不是 JSON 对象"


def _may_hold_a_rounded_integer(value: object) -> bool:
    """Tell whether a parsed value holds a float that may be an integer past 64 bits orjson rounded: a whole
    number of 2**63 or more (a row's values compared by type in one pass; 1.5 or 31.2 never is one)."""
    kind = type(value)
    if kind is float:
        return value.is_integer() and abs(value) >= _ROUNDED_FROM  # type: ignore[attr-defined]
    items = value.values() if kind is dict else value if kind is list else ()  # type: ignore[attr-defined]
    kinds = set(map(type, items))
    return (float in kinds or dict in kinds or list in kinds) and any(map(_may_hold_a_rounded_integer, items))


_ROUNDED_FROM = 2.0**63  # orjson reads integers from -2**63 to 2**64 - 1 exactly, and rounds the others to floats


def _check_header(path: Path, names: Sequence[str], required: Sequence[str]) -> None:
    if not names or any(r not in names for r in required):
        wanted = " 和 ".join(repr(r) for r in required)
        raise SourceFileInvalid(f"{path}: 表头至少要有 {wanted} 列（现有 {list(names)[:12]}）")


def _csv_rows(path: Path, handle, required: Sequence[str]) -> Iterator[Row]:  # type: ignore[no-untyped-def]
    reader = csv.reader(handle)
    names = [name.strip() for name in next(reader, [])]
    _check_header(path, names, required)
    for values in reader:
        if not values or not any(v.strip() for v in values):
            continue
        if len(values) > len(names):
            yield reader.line_num, f"有 {len(values)} 个字段，表头只有 {len(names)} 个"
            continue
        yield reader.line_num, dict(zip(names, values, strict=False))


def _cell(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _xlsx_rows(path: Path, required: Sequence[str], sheet: str | None) -> Iterator[Row]:
    from openpyxl import load_workbook  # heavy: loaded only for workbooks

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise SourceFileInvalid(f"{path}: 文件不存在") from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SourceFileInvalid(f"{path}: 不是可读取的 XLSX 工作簿（{exc}）") from None
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise SourceFileInvalid(f"{path}: 没有名为 {sheet!r} 的工作表（现有 {workbook.sheetnames}）")
        rows = (workbook[sheet] if sheet else workbook.worksheets[0]).iter_rows(values_only=True)
        names: list[str] = []
        for number, values in enumerate(rows, start=1):
            if all(v is None or str(v).strip() == "" for v in values):
                continue
            if not names:
                names = [str(v).strip() if v is not None else "" for v in values]
                _check_header(path, names, required)
                continue
            yield number, {n: _cell(v) for n, v in zip(names, values, strict=False) if n and v is not None}
        if not names:
            _check_header(path, names, required)
    finally:
        workbook.close()


def looks_complete(path: Path, fmt: str, encoding: str) -> bool:
    """Tell whether the file's end looks finished: a whole workbook, or a last line that ends or parses."""
    if fmt == "xlsx":
        return zipfile.is_zipfile(path)
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - 65536))
        tail = handle.read()
        handle.seek(0)
        first = handle.readline()
    if not tail or tail.endswith(b"\n"):
        return True
    last = tail.rsplit(b"\n", 1)[-1].decode(encoding, errors="replace")
    if fmt == "jsonl":
        try:
            return isinstance(json.loads(last), dict)
        except json.JSONDecodeError:
            return False
    header = next(csv.reader([first.decode(encoding, errors="replace")]), [])
    return last.count('"') % 2 == 0 and len(next(csv.reader([last]), [])) == len(header)

