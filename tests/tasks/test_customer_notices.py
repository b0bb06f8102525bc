"""Compensated customers hear from the shop: one mail per customer (sent in the shop's name), one SMS per order
through the SMS gateway (a local fake that checks the signature) sent once however often the step re-runs, and
the bulk-send exports under var/notices/; nothing a customer gets shows the internal incident key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from prefect.logging import disable_run_logger

from config.files import clear_caches
from tasks.compensation.report import queue_customer_notices, report_batch
from tasks.notify.tasks import deliver_outbox
from tests.helpers import read_mail, text_part
from tests.notify_support import outbox
from tests.robot_fakes import Platforms, platforms_fixture  # noqa: F401 - the fixture
from tests.tasks.test_compensation_ledger import KEY, NOW, STARTED, make_incident, run_batch

HEADER = "order_id,customer_id,product,sku,amount_yuan,paid_at,status,email,phone"
ORDERS = [("O1", "tb小橘子", "澄星空气炸锅5L", "xjz@example.com", "138 0000 0001"),
          ("O2", "tb阿May", "澄星电饭煲", "", "138****0002"),
          ("O3", "tb老王", "澄星空气炸锅5L", "", "+8613800000003")]


@pytest.fixture(autouse=True)
def _no_run_logger() -> Iterator[None]:
    with disable_run_logger():
        yield


@pytest.fixture
def orders_file(sqlite_db: str, tmp_path: Path) -> Path:
    make_incident()
    paid = (STARTED - timedelta(days=1)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([HEADER] + [f"{o},{c},{p},CX-AF-01,20,{paid},completed,{e},{m}"
                                          for o, c, p, e, m in ORDERS]) + "\n", encoding="utf-8")
    return path


def test_customers_are_told_by_mail_and_sms_once_in_the_shops_name(
    orders_file: Path, smtp_sink: Path, platforms: Platforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRISIS_SHOP__NAME", "澄星官方旗舰店")
    monkeypatch.setenv("CRISIS_SHOP__SMS_CHANNEL", "commander_sms")
    monkeypatch.setenv("CRISIS_SHOP__SMS_TEMPLATE", "SMS_500001")
    clear_caches()
    batch, plan, written = run_batch(orders_file)
    summary = report_batch.fn(batch, plan, written)
    first = queue_customer_notices.fn(summary, plan, NOW)
    deliver_outbox.fn(NOW)
    again = queue_customer_notices.fn(summary, plan, NOW)  # the step re-run: nothing new, nothing sent twice
    deliver_outbox.fn(NOW + timedelta(minutes=5))

    assert (first.notices, first.sms_notices, first.no_mobile) == (1, 2, 1)
    assert (again.notices, again.sms_notices) == (0, 0)
    assert platforms.requests["sms"] == 2, "each order's SMS reached the gateway once"
    texts = {json.loads(body["TemplateParam"])["order"]: body for body in platforms.accepted["sms"]}
    assert sorted(texts) == ["O1", "O3"] and texts["O3"]["PhoneNumbers"] == "13800000003"
    assert (texts["O1"]["TemplateCode"], texts["O1"]["SignName"]) == ("SMS_500001", "澄星商城")
    assert json.loads(texts["O1"]["TemplateParam"]) == {
        "shop": "澄星官方旗舰店", "order": "O1", "product": "澄星空气炸锅5L", "award": "20.00 元优惠券"}
    assert {n.status for n in outbox(KEY)} == {"sent"}
    assert all("INC-" not in n.body_text and "INC-" not in n.subject for n in outbox(KEY))

    (mail,) = read_mail(smtp_sink)
    assert mail["To"] == "xjz@example.com" and mail["From"].addresses[0].display_name == "澄星官方旗舰店"
    body = text_part(mail, "plain")
    assert "订单号 O1：澄星空气炸锅5L" in body and "20.00 元优惠券" in body and "INC-" not in body + mail["Subject"]

    exports = first.notice_exports
    assert Path(exports["sms"]) == Path(str(summary.report_path)).parents[1] / "notices" / f"{KEY}-batch{batch.batch_id}-sms.csv"
    sms = pd.read_csv(exports["sms"], dtype=str, encoding="utf-8-sig")
    assert list(sms.columns) == ["手机号", "短信内容"] and list(sms["手机号"]) == ["13800000001", "13800000003"]
    wangwang = pd.read_csv(exports["wangwang"], dtype=str, encoding="utf-8-sig")
    assert list(wangwang["买家旺旺名"]) == ["tb小橘子", "tb阿May", "tb老王"]
    assert wangwang["消息内容"][1].startswith("您在澄星官方旗舰店购买的澄星电饭煲（订单号 O2）")
    missing = pd.read_csv(exports["missing"], dtype=str, encoding="utf-8-sig")
    assert missing.values.tolist() == [["O2", "tb阿May", "短信", "手机号已脱敏（含 *），无法发送"]]


def test_without_an_sms_channel_only_mail_and_the_exports(orders_file: Path, var_dir: Path) -> None:
    batch, plan, written = run_batch(orders_file)
    summary = queue_customer_notices.fn(report_batch.fn(batch, plan, written), plan, NOW)
    assert (summary.notices, summary.sms_notices) == (1, 0)
    assert [n.recipient for n in outbox(KEY)] == ["xjz@example.com"]
    assert sorted(summary.notice_exports) == ["missing", "sms", "wangwang"]
    assert all(Path(p).parent == var_dir / "notices" for p in summary.notice_exports.values())
