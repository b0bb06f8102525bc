"""Where a compensation run's orders come from: a CSV/XLSX file, or a query named in config/compensation.toml
run against the shop's orders database (CRISIS_ORDERS_DATABASE_URL). Either way the rows go through the
same format detection and validation."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import text

from config.files import load_policies
from tasks.compensation.orders import load_orders, validate_orders
from tasks.compensation.policy import Window
from tasks.db import get_orders_engine
from tasks.errors import OrdersSourceInvalid


def source_label(orders_path: str | None, orders_query: str | None) -> str:
    """Return how the batch records its source (the path, or `query:<name>`); exactly one must be given."""
    if bool(orders_path) == bool(orders_query):
        raise OrdersSourceInvalid("订单来源须二选一：订单文件（orders_path）或命名查询（orders_query），"
                                  + ("不能同时给出" if orders_path else "两者都没有给出"))
    return orders_path if orders_path else f"query:{orders_query}"


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the query result as text cells, the way a file would hold them ('' for NULL)."""
    cells = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column):
            cells[name] = column.map(lambda v: "" if pd.isna(v) else v.isoformat(sep=" "))
        else:
            cells[name] = column.map(lambda v: "" if v is None or (isinstance(v, float) and v != v)
                                     else str(v))
    return pd.DataFrame(cells, dtype="str")


def read_orders(orders_path: str | None, orders_query: str | None, orders_format: str, *, incident_key: str,
                window: Window, timezone: ZoneInfo, status_words: Mapping[str, str],
                one_per_customer: bool = False) -> pd.DataFrame:
    """Return the validated orders of the file or the named query (OrdersFileInvalid names bad rows)."""
    label = source_label(orders_path, orders_query)
    if orders_path:
        return load_orders(Path(orders_path), timezone, orders_format, status_words, one_per_customer)
    queries = load_policies().queries
    if orders_query not in queries:
        raise OrdersSourceInvalid(f"config/compensation.toml 中没有名为 {orders_query!r} 的订单查询；"
                                  f"已有：{'、'.join(sorted(queries)) or '无'}")
    query = queries[orders_query]
    with get_orders_engine().connect() as connection:
        frame = pd.read_sql_query(text(query.sql), connection, params={
            "incident_key": incident_key, "window_start": window.start, "window_end": window.end})
    chosen = query.format if orders_format == "auto" else orders_format
    return validate_orders(_as_text(frame), label, timezone, orders_format=chosen, status_words=status_words,
                           first_row=1, one_per_customer=one_per_customer)
