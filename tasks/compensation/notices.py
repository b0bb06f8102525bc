"""Customer compensation notices (补偿通知): what each compensated customer is told, and the bulk-send exports.
Pure (pandas and the templates).

A notice comes from the shop (settings [shop]: 店铺名/品牌名 and its service contact), names the order and the
product, the refund, coupon or points and how to use them; it never shows the internal incident key. One row
per compensated order gives the e-mail (one per customer, listing their orders), the SMS and the exports a
shop's bulk tools import: `手机号,短信内容` (SMS bulk send) and `买家旺旺名,消息内容` (旺旺/千牛 bulk message),
UTF-8 with BOM so Excel opens them. An order nobody can be reached for that way (no mobile number, a masked
one, no buyer nick) is listed in a third file with the reason, never dropped without a word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.notify.templates import one_line

ORDERS_SHOWN = 5  # orders listed in a customer's e-mail; the rest are counted
SMS_COLUMNS = ["手机号", "短信内容"]
WANGWANG_COLUMNS = ["买家旺旺名", "消息内容"]
MISSING_COLUMNS = ["订单号", "买家", "渠道", "原因"]
_MOBILE = r"1[3-9]\d{9}"  # a mainland mobile number, after +86 and separators are taken off
_FORMULA_START = ("=", "+", "-", "@")  # Excel would run a cell starting so as a formula
REFUNDS = ("full_refund", "partial_refund")


@dataclass(frozen=True)
class Shop:
    name: str
    contact: str


def yuan(fen: int) -> str:
    """Return fen as yuan with two decimals and thousands separators: 2000 -> '20.00'."""
    return f"{fen / 100:,.2f}"


def award_text(kind: str, amount_fen: int, points: int, orders: int = 1) -> str:
    """Return what the customer gets for `orders` orders, in words: 退款 12.50 元, 20.00 元优惠券, 2 张优惠券，
    共 40.00 元, or 500 积分."""
    if kind == "points":
        return f"{points:,} 积分"
    if kind in REFUNDS:
        return f"退款 {yuan(amount_fen)} 元"
    return f"{yuan(amount_fen)} 元优惠券" if orders == 1 else f"{orders} 张优惠券，共 {yuan(amount_fen)} 元"


def mobile_numbers(phones: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return each phone cell as a mobile number ('' when none) and why there is none ('' when there is)."""
    raw = phones.fillna("").astype(str).str.strip()
    digits = raw.str.replace(r"[\s\-()（）]", "", regex=True).str.replace(r"^\+?86(?=1\d{10}$)", "", regex=True)
    usable = digits.str.fullmatch(_MOBILE).fillna(False).astype(bool)
    why = np.select([raw == "", raw.str.contains("*", regex=False), ~usable],
                    ["订单中没有手机号", "手机号已脱敏（含 *），无法发送", "不是有效的手机号"], "")
    return digits.where(usable, ""), pd.Series(why, index=phones.index, dtype=object)


def notice_rows(items: pd.DataFrame, shop: Shop, sms_text: Callable[[dict[str, Any]], str]) -> pd.DataFrame:
    """Return one row per compensated order: order_id, customer_id, nick ('' when the orders had no buyer
    column), email, mobile and why there is none, product, kind, amount_fen, points, award and the text of
    its SMS and 旺旺 message (rendered by `sms_text`)."""
    rows = items[["order_id", "customer_id", "kind", "amount_fen", "points"]].copy()
    for column in ("email", "phone", "product"):
        rows[column] = items[column].fillna("").astype(str) if column in items else ""
    rows["nick"] = rows["customer_id"].where(rows["customer_id"] != rows["order_id"], "")
    rows["mobile"], rows["no_mobile"] = mobile_numbers(rows["phone"])
    rows["product"] = rows["product"].str.strip().where(rows["product"].str.strip() != "", "订单中的商品")
    rows["award"] = [award_text(k, int(f), int(p)) for k, f, p in
                     zip(rows["kind"], rows["amount_fen"], rows["points"], strict=True)]
    rows["text"] = [sms_text({"shop": shop.name, "contact": shop.contact, "order_id": o,
                              "product": one_line(p, 30), "award": a, "kind": k})
                    for o, p, a, k in zip(rows["order_id"], rows["product"], rows["award"], rows["kind"], strict=True)]
    return rows.reset_index(drop=True)


def sms_params(row: Any, shop: Shop) -> dict[str, str]:
    """Return the gateway template's parameters for one order's notice (each short, as gateways require)."""
    return {"shop": one_line(shop.name, 20), "order": one_line(str(row.order_id), 32),
            "product": one_line(str(row.product), 20), "award": str(row.award)}


def letter_contexts(rows: pd.DataFrame, shop: Shop, title: str) -> list[dict[str, Any]]:
    """Return the e-mail context of each customer with an address: their orders (the first ORDERS_SHOWN
    listed, the rest counted) and what they get in all."""
    mailed = rows[rows["email"].str.contains("@", regex=False)]
    contexts = []
    for customer, group in mailed.groupby("customer_id", sort=True):
        kind = str(group["kind"].iloc[0])
        contexts.append({
            "email": str(group["email"].iloc[0]), "customer": str(customer), "shop": shop.name,
            "contact": shop.contact, "title": title, "kind": kind,
            "award": award_text(kind, int(group["amount_fen"].sum()), int(group["points"].sum()), len(group)),
            "orders": [{"order_id": o, "product": p}
                       for o, p in zip(group["order_id"][:ORDERS_SHOWN], group["product"][:ORDERS_SHOWN], strict=True)],
            "more_orders": max(0, len(group) - ORDERS_SHOWN),
        })
    return contexts


def _cell(values: pd.Series) -> pd.Series:
    """Return text cells Excel shows as text (a leading = + - @ would start a formula)."""
    text = values.astype(str)
    return text.where(~text.str.startswith(_FORMULA_START), "'" + text)


def write_exports(rows: pd.DataFrame, folder: Path, stem: str) -> dict[str, str]:
    """Write `<stem>-sms.csv` (手机号,短信内容), `<stem>-wangwang.csv` (买家旺旺名,消息内容) and, when some order
    can be reached by neither, `<stem>-missing.csv` (订单号,买家,渠道,原因); return their paths by name.
    UTF-8 with BOM; a re-run overwrites them."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = _cell(rows["text"])
    by_sms, by_nick = rows["mobile"] != "", rows["nick"] != ""
    frames = {
        "sms": pd.DataFrame({SMS_COLUMNS[0]: rows["mobile"][by_sms], SMS_COLUMNS[1]: texts[by_sms]}),
        "wangwang": pd.DataFrame({WANGWANG_COLUMNS[0]: _cell(rows["nick"][by_nick]),
                                  WANGWANG_COLUMNS[1]: texts[by_nick]}),
    }
    missing = pd.concat([
        pd.DataFrame({"订单号": rows["order_id"], "买家": rows["customer_id"], "渠道": "短信",
                      "原因": rows["no_mobile"]})[~by_sms],
        pd.DataFrame({"订单号": rows["order_id"], "买家": "", "渠道": "旺旺",
                      "原因": "订单中没有买家旺旺名（买家列）"})[~by_nick],
    ], ignore_index=True)
    if len(missing):
        frames["missing"] = missing.assign(订单号=_cell(missing["订单号"]), 买家=_cell(missing["买家"]))
    paths = {}
    for name, frame in frames.items():
        path = folder / f"{stem}-{name}.csv"
        frame.to_csv(path, index=False, encoding="utf-8-sig")
        paths[name] = str(path)
    return paths
