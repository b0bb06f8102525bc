"""What a compensated customer is told (tasks/compensation/notices.py and config/templates/compensation_notice.*):
from the shop, naming the order, the product, what they get and how to use it, never the incident key; and the
bulk-send exports a shop's SMS and 旺旺 tools import."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from config.check import check_config
from tasks.compensation.notices import (
    MISSING_COLUMNS,
    SMS_COLUMNS,
    WANGWANG_COLUMNS,
    Shop,
    letter_contexts,
    mobile_numbers,
    notice_rows,
    write_exports,
)
from tasks.notify.templates import line_renderer, mail_renderer
from tests.unit.conftest import CONFIG

TEMPLATES = CONFIG / "templates"
SHOP = Shop("澄星官方旗舰店", "旺旺在线客服")


def _items(kind: str = "fixed_coupon", **columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "order_id": ["4242001", "4242002", "4242003"], "customer_id": ["tb小橘子", "tb小橘子", "tb阿May"],
        "customer_slot": ["o:1", "o:2", "o:3"], "kind": [kind] * 3, "amount_fen": [2000, 2000, 899],
        "points": [0, 0, 0], "email": ["xjz@example.com", "xjz@example.com", ""],
        "phone": ["+86 138-0000-0001", "13800000001", "138****0003"],
        "product": ["澄星空气炸锅5L <b>", "澄星电饭煲", ""]}
    return pd.DataFrame({**base, **columns})


def _rows(items: pd.DataFrame) -> pd.DataFrame:
    return notice_rows(items, SHOP, line_renderer("compensation_notice.sms.j2", TEMPLATES))


def test_the_mail_names_the_shop_the_orders_the_products_and_the_coupon_never_the_incident() -> None:
    (context,) = letter_contexts(_rows(_items()), SHOP, "20 元无门槛优惠券")
    mail = mail_renderer("compensation_notice", TEMPLATES)(context)
    assert context["email"] == "xjz@example.com" and mail.subject == "【澄星官方旗舰店】您的订单补偿通知"
    for part in (mail.text, mail.html):
        assert "澄星官方旗舰店" in part and "4242001" in part and "4242002" in part and "澄星电饭煲" in part
        assert "2 张优惠券，共 40.00 元" in part and "下单结算时选择即可使用" in part and "旺旺在线客服" in part
        assert "INC-" not in part
    assert "<b>" not in mail.html and "&lt;b&gt;" in mail.html


@pytest.mark.parametrize("kind, award, usage", [
    ("full_refund", "退款 20.00 元", "原路退回"), ("partial_refund", "退款 20.00 元", "原路退回"),
    ("percent_coupon", "20.00 元优惠券", "优惠券"), ("points", "500 积分", "积分将在")])
def test_each_kind_says_what_the_customer_gets_and_how_to_use_it(kind: str, award: str, usage: str) -> None:
    rows = _rows(_items(kind, points=[500, 500, 500]))
    assert rows["award"][0] == award and usage in rows["text"][0]
    assert rows["text"][0].startswith("您在澄星官方旗舰店购买的澄星空气炸锅5L <b>（订单号 4242001）")
    assert all("INC-" not in text for text in rows["text"])


def test_mobile_numbers_are_taken_as_written_or_named_as_missing() -> None:
    numbers, why = mobile_numbers(pd.Series(["+86 138-0000-0001", "8613800000002", "138****0003", "", "0571-1234",
                                             None]))
    assert list(numbers) == ["13800000001", "13800000002", "", "", "", ""]
    assert list(why) == ["", "", "手机号已脱敏（含 *），无法发送", "订单中没有手机号", "不是有效的手机号", "订单中没有手机号"]


def test_the_exports_open_in_pandas_with_the_columns_the_bulk_tools_import(tmp_path: Path) -> None:
    items = _items(customer_id=["=HYPERLINK(\"http://evil.example\")", "tb小橘子", "4242003"])  # 4242003: no nick
    paths = write_exports(_rows(items), tmp_path / "notices", "INC-20251124-001-batch7")
    assert Path(paths["sms"]).name == "INC-20251124-001-batch7-sms.csv"
    assert Path(paths["sms"]).read_bytes().startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, so Excel reads it"
    sms = pd.read_csv(paths["sms"], dtype=str, encoding="utf-8-sig")
    assert list(sms.columns) == SMS_COLUMNS and list(sms["手机号"]) == ["13800000001", "13800000001"]
    assert sms["短信内容"][1].startswith("您在澄星官方旗舰店购买的澄星电饭煲（订单号 4242002）")
    wangwang = pd.read_csv(paths["wangwang"], dtype=str, encoding="utf-8-sig")
    assert list(wangwang.columns) == WANGWANG_COLUMNS
    assert list(wangwang["买家旺旺名"]) == ["'=HYPERLINK(\"http://evil.example\")", "tb小橘子"], "no formula runs"
    missing = pd.read_csv(paths["missing"], dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert list(missing.columns) == MISSING_COLUMNS
    assert missing.values.tolist() == [["4242003", "4242003", "短信", "手机号已脱敏（含 *），无法发送"],
                                       ["4242003", "", "旺旺", "订单中没有买家旺旺名（买家列）"]]
    assert not any("INC-" in open(p, encoding="utf-8-sig").read() for p in paths.values())


def test_config_check_names_an_sms_channel_the_roster_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRISIS_SHOP__SMS_CHANNEL", "customer_sms")
    monkeypatch.setenv("CRISIS_SHOP__SMS_TEMPLATE", "SMS_500001")
    problems = [p for p in check_config() if p.field == "shop.sms_channel"]
    assert [p.message for p in problems] == ['roster.toml 中没有名为 customer_sms 的短信渠道（kind = "sms"）']
