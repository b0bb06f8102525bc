"""Load and validate orders into one canonical DataFrame, or name every bad row. Pure (pandas only).

Files are CSV (UTF-8, UTF-8 with BOM, GBK/GB18030; a file mixing UTF-8 and GBK lines is refused, naming
the first line in the other encoding) or XLSX, in one of the formats of tasks/compensation/formats.py; a
file without order rows (empty, blank lines or a header only) is refused. Values lose surrounding
whitespace and Excel's ="…" protection. Amounts are yuan with optional ¥/￥, RMB/CNY, 元 and thousands
separators (a comma only before groups of three digits: "1.234,50" and "12,5" are errors), converted to
integer fen rounding half up at the fen. A time without an offset is in the operators' zone (Asia/Shanghai).
A paid_at may be blank only for an unpaid or cancelled order. Every check runs on whole columns;
every bad row is reported as `source:row: field: why`, and nothing is returned unless all rows are good.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.compensation.formats import CUSTOMER_COLUMNS, STATUS_WORDS, STATUSES, detect_format, normalise_header
from tasks.errors import OrdersFileInvalid

COLUMNS = ["order_id", "customer_id", "product", "sku", "email", "phone", "amount_fen", "refund_fen", "paid_at",
           "status"]
# Widths of the ledger's columns (tasks/models.py, CompensationItem): a longer id would pass here, then stop a
# PostgreSQL batch halfway through its write; it is refused with the file's other problems instead.
LEDGER_WIDTHS = {"order_id": 64, "customer_id": 64}
_PLAIN_AMOUNT = r"\d{1,12}(?:\.\d{0,2})?"
_LONG_AMOUNT = r"\d{1,12}\.\d{3,}"
_MONEY_NOISE = r"[¥￥\s]|元$|^(?:RMB|CNY)"
_COMMA = r"[,，]"
# A comma separates thousands only: groups of three digits up to the dot or the end ("1,234.50", "12,345");
# "1.234,50" (a decimal comma) or "12,5" is refused rather than read as 1.23 or 125 元.
_GROUPED = r"-?\d{1,3}(?:[,，]\d{3})+(?:\.\d*)?"
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
# A line of ASCII and UTF-8 multibyte sequences with at least one of them: found by one search in C, where
# a loop decoding each line of a million-row GBK file took a second.
_ASCII_RUN = rb"[\x00-\x09\x0b-\x7f]*+"
_UTF8_LINE = re.compile(rb"\n((?:" + _ASCII_RUN + rb"(?:[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
                        rb"|[\xf0-\xf4][\x80-\xbf]{3}))++" + _ASCII_RUN + rb")(?=\n|\Z)")


def yuan_to_fen(text: str) -> int:
    """Convert one yuan amount to integer fen, rounding half up at the fen (ValueError when not money)."""
    fen, why = amounts_to_fen(_clean(pd.Series([text], dtype=object)))
    if why.iloc[0]:
        raise ValueError(why.iloc[0])
    return int(fen.iloc[0])


def _clean(column: pd.Series) -> pd.Series:
    text = column.astype("str").str.strip()
    wrapped = text.str.startswith('="') & text.str.endswith('"')
    if wrapped.any():
        text = text.where(~wrapped, text.str.slice(2, -1).str.strip())
    return text


def amounts_to_fen(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (fen as int64, 0 where bad; why each bad amount is bad, "" where good) for a column of text."""
    fen = np.zeros(len(text), dtype=np.int64)
    why = np.full(len(text), "", dtype=object)
    plain = text.str.fullmatch(_PLAIN_AMOUNT).to_numpy(dtype=bool)
    fen[plain] = np.rint(_decimals(text[plain]) * 100).astype(np.int64)
    rest = np.flatnonzero(~plain)
    if len(rest):
        cleaned = text.iloc[rest].str.replace(_MONEY_NOISE, "", regex=True)
        grouped = cleaned.str.fullmatch(_GROUPED)
        cleaned = cleaned.where(~cleaned.str.contains(_COMMA) | grouped, "?")
        cleaned = cleaned.str.replace(_COMMA, "", regex=True)
        now_plain = cleaned.str.fullmatch(_PLAIN_AMOUNT).to_numpy(dtype=bool)
        yuan = _decimals(cleaned[now_plain])
        fen[rest[now_plain]] = np.rint(yuan * 100).astype(np.int64)
        long = cleaned.str.fullmatch(_LONG_AMOUNT).to_numpy(dtype=bool) & ~now_plain
        for position, value in zip(rest[long], cleaned[long], strict=True):
            fen[position] = int((Decimal(value) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
        bad = rest[~now_plain & ~long]
        negative = cleaned.iloc[np.flatnonzero(~now_plain & ~long)].str.fullmatch(r"-[\d.]+").tolist()
        why[bad] = [("金额为负" if neg else "不是金额") + f"（{v!r}）" if v else "缺失"
                    for v, neg in zip(text.iloc[bad].tolist(), negative, strict=True)]
    return pd.Series(fen, index=text.index), pd.Series(why, index=text.index)


def _decimals(text: pd.Series) -> np.ndarray:
    """Return plain decimal numbers (already matched) as float64: Arrow's parser, a twentieth of the time of
    pd.to_numeric at a million amounts."""
    column = text.array
    data = (pa.array(column) if hasattr(column, "__arrow_array__")
            else pa.array(np.asarray(column, dtype=object), type=pa.string()))
    return np.asarray(pc.cast(data, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def parse_times(text: pd.Series, timezone: ZoneInfo) -> pd.Series:
    """Return UTC times for a column of text (NaT where blank or not a time); naive means `timezone`."""
    fast = pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    result = fast.dt.tz_localize(timezone).dt.tz_convert("UTC")
    rest = fast.isna() & (text != "")
    if rest.any():
        other = text[rest].str.replace("/", "-", regex=False)
        aware = other.str.contains(_OFFSET, regex=True)
        parsed_aware = pd.to_datetime(other[aware], format="ISO8601", errors="coerce", utc=True)
        parsed_naive = pd.to_datetime(other[~aware], format="ISO8601", errors="coerce")
        result[parsed_aware.index] = parsed_aware
        result[parsed_naive.index] = parsed_naive.dt.tz_localize(timezone).dt.tz_convert("UTC")
    return result


def map_statuses(text: pd.Series, extra_words: Mapping[str, str] | None = None) -> pd.Series:
    """Return canonical statuses ("" where unknown) for a column of platform status text."""
    words = {**STATUS_WORDS, **{k.strip().lower(): v for k, v in (extra_words or {}).items()}}
    codes, uniques = pd.factorize(text.str.lower())
    mapped = np.array([words.get(u, "") for u in uniques] + [""], dtype=object)
    return pd.Series(mapped[codes], index=text.index)


def validate_orders(
    raw: pd.DataFrame, source: str, timezone: ZoneInfo, *, orders_format: str = "auto",
    status_words: Mapping[str, str] | None = None, first_row: int = 2, one_per_customer: bool = False,
) -> pd.DataFrame:
    """Return the canonical orders of a raw all-text table, or raise OrdersFileInvalid naming every bad row.

    `first_row` is the row number of the table's first row as people see it (2 under a CSV header). A
    table without a customer column (天猫订单报表) has each order stand for its own customer, which a
    one-per-customer policy cannot use; without a status column, an order with a payment time is paid,
    and refunded when its refund (退款金额) covers the amount paid.
    """
    raw = raw.set_axis(normalise_header(list(raw.columns)), axis=1)
    try:
        fmt, mapping = detect_format(list(raw.columns), orders_format)
    except ValueError as exc:
        raise OrdersFileInvalid(source, [f"{source}: header: {exc}"]) from None
    if one_per_customer and "customer_id" not in mapping:
        raise OrdersFileInvalid(source, [
            f"{source}: header: 该策略每位客户只补偿一次，需要客户列（{' / '.join(CUSTOMER_COLUMNS)}），"
            f"{fmt.title}没有；请改用按订单补偿的策略（one_per_customer = false）或带客户列的导出"])
    blank = pd.Series("", index=raw.index, dtype="str")
    col = {f: _clean(raw[c]) if c in raw.columns else blank for f, c in mapping.items()}
    for field in ("product", "sku", "email", "phone"):
        col.setdefault(field, blank)
    col.setdefault("customer_id", col["order_id"])
    fen, amount_why = amounts_to_fen(col["amount"])
    refund = col.get("refund", blank)
    refund_fen, refund_why = amounts_to_fen(refund.where(refund != "", "0"))
    status = (map_statuses(col["status"], status_words) if "status" in mapping
              else _status_from_payment(col["paid_at"], fen, refund_fen))
    paid_at = parse_times(col["paid_at"], timezone)
    problems = _problems(col, status, amount_why, refund_why, paid_at, mapping)
    if problems is not None:
        raise OrdersFileInvalid(source, _one_line_per_row(problems, source, first_row))
    return pd.DataFrame({
        "order_id": col["order_id"], "customer_id": col["customer_id"], "product": col["product"],
        "sku": col["sku"], "email": col["email"], "phone": col["phone"], "amount_fen": fen, "refund_fen": refund_fen,
        "paid_at": paid_at, "status": status,
    }).reset_index(drop=True)


def _status_from_payment(paid_at: pd.Series, fen: pd.Series, refund_fen: pd.Series) -> pd.Series:
    """Return unpaid (no payment time), refunded (the refund covers the amount paid) or paid."""
    status = pd.Series("paid", index=paid_at.index, dtype=object)
    status[(refund_fen > 0) & (refund_fen >= fen)] = "refunded"
    status[paid_at == ""] = "unpaid"
    return status


def _problems(col: dict[str, pd.Series], status: pd.Series, amount_why: pd.Series, refund_why: pd.Series,
              paid_at: pd.Series, mapping: Mapping[str, str]) -> pd.DataFrame | None:
    order_id, customer_id, when = col["order_id"], col["customer_id"], col["paid_at"]
    may_lack_time = status.isin(["unpaid", "cancelled"])
    known = f"；可用：{', '.join(STATUSES)}，或 config/compensation.toml [statuses] 中添加的词"
    checks = [  # field, which rows are bad, why (built only when some row is bad)
        ("order_id", lambda: order_id == "", lambda m: "缺失"),
        ("order_id", lambda: (order_id != "") & order_id.duplicated(),
         lambda m: "重复（" + order_id[m] + "）"),
        ("order_id", lambda: order_id.str.len() > LEDGER_WIDTHS["order_id"],
         lambda m: _too_long(order_id[m], LEDGER_WIDTHS["order_id"])),
        ("customer_id", lambda: (customer_id == "") & ("customer_id" in mapping), lambda m: "缺失"),
        ("customer_id", lambda: (customer_id.str.len() > LEDGER_WIDTHS["customer_id"]) & ("customer_id" in mapping),
         lambda m: _too_long(customer_id[m], LEDGER_WIDTHS["customer_id"])),
        ("amount", lambda: amount_why != "", lambda m: amount_why[m]),
        ("refund", lambda: refund_why != "", lambda m: refund_why[m]),
        ("paid_at", lambda: (when == "") & ~may_lack_time, lambda m: "缺失"),
        ("paid_at", lambda: (when != "") & paid_at.isna(), lambda m: "不是有效的日期时间（" + when[m] + "）"),
        ("status", lambda: status == "", lambda m: "无法识别（" + col["status"][m] + known + "）"),
    ]
    found = []
    for rank, (field, bad_rows, why) in enumerate(checks):
        mask = bad_rows()
        if not mask.any():
            continue
        text = why(mask)
        text = text.astype(str) if isinstance(text, pd.Series) else pd.Series(text, index=mask.index[mask])
        found.append(pd.DataFrame({"row": np.flatnonzero(mask.to_numpy()), "rank": rank,
                                   "text": (_label(field, mapping) + ": " + text).to_numpy()}))
    return pd.concat(found, ignore_index=True) if found else None


def _too_long(values: pd.Series, width: int) -> pd.Series:
    """Say how long each value is against the ledger's width, quoting its first 16 characters."""
    return ("过长（" + values.str.len().astype(str) + f" 个字符，台账最多 {width} 个）：" + values.str.slice(0, 16)
            + "…")


def _one_line_per_row(problems: pd.DataFrame, source: str, first_row: int) -> list[str]:
    """Return `source:row: field: why[; field: why]` for each bad row, in row order."""
    ordered = problems.sort_values(["row", "rank"], kind="stable")
    if ordered["row"].duplicated().any():
        ordered = ordered.groupby("row", sort=True)["text"].agg("; ".join).reset_index()
    return (source + ":" + (ordered["row"] + first_row).astype(str) + ": " + ordered["text"]).tolist()


def _label(field: str, mapping: Mapping[str, str]) -> str:
    """Name a field as the file does, adding the canonical name when they differ (实付金额 (amount))."""
    column = mapping.get(field, field)
    if column == field or (field, column) == ("amount", "amount_yuan"):
        return column
    return f"{column} ({field})"


def sniff_encoding(path: Path, data: bytes) -> str:
    """Return utf-8-sig, utf-8 or gb18030 (which also reads GBK) for the file's bytes, or raise
    OrdersFileInvalid naming the first line in the other encoding when it mixes UTF-8 and GBK lines.

    GB18030 decodes UTF-8 bytes too (as mojibake: 张伟 becomes 寮犱紵), so each non-ASCII line is
    classified: valid UTF-8 or not. The file's first such line decides; a line of the other kind is refused."""
    if data.startswith(codecs.BOM_UTF8):
        data, encoding = data[len(codecs.BOM_UTF8):], "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        data.decode("utf-8")
        return encoding
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    first_bad = data.count(b"\n", 0, bad_at) + 1
    utf8_before = not data[: data.rfind(b"\n", 0, bad_at) + 1].isascii()
    if encoding == "utf-8-sig" or utf8_before:
        raise _mixed(path, first_bad, "UTF-8")
    after = data.find(b"\n", bad_at)  # the end of the first GBK line
    while after >= 0 and (found := _UTF8_LINE.search(data, after)) is not None:
        try:  # the pattern lets a few malformed sequences through (overlong, surrogates): decode to be sure
            found.group(1).decode("utf-8")
        except UnicodeDecodeError:
            after = found.end()
            continue
        raise _mixed(path, first_bad + data.count(b"\n", bad_at, found.start() + 1), "GBK/GB18030")
    return "gb18030"


def _mixed(path: Path, line: int, first: str) -> OrdersFileInvalid:
    why = (f"{path}:{line}: row: 编码与前面的行不同（前面是 {first}），文件混用了 UTF-8 与 GBK；"
           "请整个文件另存为同一种编码")
    return OrdersFileInvalid(str(path), [why])


def read_table(path: Path) -> tuple[pd.DataFrame, int]:
    """Return the file's cells as text and the number of its first data row, or raise OrdersFileInvalid
    (also for a file with no order rows: empty, blank lines only or a header only)."""
    if not path.is_file():
        raise OrdersFileInvalid(str(path), [f"{path}: 文件不存在"])
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        frame = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
        return _some_rows(path, frame.fillna("")), 2
    if suffix not in (".csv", ".txt"):
        why = f"{path}: 不支持的文件类型 {suffix!r}，请另存为 .csv 或 .xlsx"
        raise OrdersFileInvalid(str(path), [why])
    data = path.read_bytes()
    if not data.removeprefix(codecs.BOM_UTF8).strip():
        raise OrdersFileInvalid(str(path), [f"{path}: 文件是空的（没有表头，也没有订单行）"])
    encoding = sniff_encoding(path, data)
    for attempt in (encoding, "gb18030"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=attempt, engine="pyarrow")
            return _some_rows(path, frame), 2
        except UnicodeDecodeError:
            continue
        except pd.errors.ParserError as exc:
            if "UTF8" in str(exc) and attempt != "gb18030":
                continue
            raise OrdersFileInvalid(str(path), _ragged_rows(path, attempt) or [f"{path}: {exc}"]) from None
    raise OrdersFileInvalid(str(path), [f"{path}: 文件编码既不是 UTF-8 也不是 GB18030/GBK"])


def _some_rows(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        raise OrdersFileInvalid(str(path), [f"{path}: 只有表头，没有订单行"])
    return frame


def _ragged_rows(path: Path, encoding: str) -> list[str]:
    """Name every line whose number of fields differs from the header's (after the fast reader refused)."""
    problems = []
    with path.open(encoding=encoding, newline="", errors="replace") as handle:
        reader = csv.reader(handle)
        width = len(next(reader, []))
        for row in reader:
            if row and len(row) != width:
                problems.append(f"{path}:{reader.line_num}: row: 有 {len(row)} 个字段，表头有 {width} 个")
    return problems


def load_orders(path: Path, timezone: ZoneInfo, orders_format: str = "auto",
                status_words: Mapping[str, str] | None = None, one_per_customer: bool = False) -> pd.DataFrame:
    """Return the validated orders of a CSV/XLSX file or raise OrdersFileInvalid naming each bad row."""
    raw, first_row = read_table(path)
    return validate_orders(raw, str(path), timezone, orders_format=orders_format, status_words=status_words,
                           first_row=first_row, one_per_customer=one_per_customer)
