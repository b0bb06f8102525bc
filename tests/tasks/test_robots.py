"""Alerts in the team's group chats (企业微信, 钉钉, 飞书) and the commander's SMS, through the outbox against
local fakes of each platform (tests/robot_fakes.py) that check keys and signatures and answer like them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefect.logging import disable_run_logger

from tasks.db import session_scope
from tasks.notify.repository import recipients_of
from tasks.notify.tasks import DeliveryDeferred, DeliveryFailed, deliver_outbox, queue_alerts, report_undeliverable
from tests.notify_support import make_incident, outbox
from tests.robot_fakes import KEY, LI, SECRET, ZHANG, Platforms, platforms_fixture  # noqa: F401 - the fixture

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: nobody is in quiet hours
HOSTILE = "澄星空气炸锅冒烟 **全部退款** [领取](http://evil.example/x) <@all> 见 www.evil.example"


@pytest.fixture(autouse=True)
def _no_run_logger() -> Iterator[None]:
    with disable_run_logger():
        yield


def _chats(key: str) -> dict[str, object]:
    return {n.recipient: n for n in outbox(key) if "@" not in n.recipient}


def test_a_level_II_alert_reaches_each_group_escaped_with_links_and_the_on_duty_people_mentioned(
    database: str, smtp_sink: Path, platforms: Platforms
) -> None:
    key = make_incident("INC-20261127-001", NOW, level="II", posts=((HOSTILE, "https://weibo.example/1"),))
    queue_alerts.fn(key, NOW, "test")
    deliver_outbox.fn(NOW)

    (wecom,) = platforms.accepted["wecom"]
    assert wecom["msgtype"] == "markdown"
    content = wecom["markdown"]["content"]
    assert "【II级·重大】澄星「产品质量」舆情预警" in content and "INC-20261127-001" in content
    assert "**原因**：负面声量阈值：最近 60 分钟「澄星」负面提及 12 条\n" in content
    assert "<@zhangwei>" in content, "the commander on duty is @-mentioned by WeCom userid"
    assert r"\*\*全部退款\*\* \[领取\](http\[:\]//evil.example/x)" in content, "the post is text, not markup"
    assert "&lt;@all&gt;" in content and "<@all>" not in content and r"www\[.\]evil.example" in content
    assert "[查看事件简报](http://crisis.example:4200/artifacts/key/brief-inc-20261127-001)" in content
    assert "[确认接手](http://crisis.example:4200/runs)" in content

    (dingtalk,) = platforms.accepted["dingtalk"]
    assert dingtalk["msgtype"] == "markdown" and dingtalk["at"]["atMobiles"] == [ZHANG, LI]
    assert f"@{ZHANG} @{LI}" in dingtalk["markdown"]["text"] and "\\*\\*全部退款" in dingtalk["markdown"]["text"]
    (feishu,) = platforms.accepted["feishu"]
    assert feishu["msg_type"] == "interactive" and feishu["card"]["header"]["template"] == "orange"
    assert r"http\[:\]//evil.example" in feishu["card"]["elements"][0]["text"]["content"]
    assert platforms.accepted["sms"] == [], "only level I goes out as SMS"
    assert {r: n.status for r, n in _chats(key).items()} == {
        "wecom:pr_group": "sent", "dingtalk:legal_group": "sent", "feishu:cs_group": "sent"}
    assert {n.status for n in outbox(key)} == {"sent"}, "the mail went out too"
    with session_scope() as session:  # what the review and the drill scorecard mail: mailboxes, never a group
        assert all("@" in address for address in recipients_of(session, outbox(key)[0].incident_id))


def test_a_wrong_signing_secret_is_refused_once_not_retried_and_reported_once(
    database: str, smtp_sink: Path, platforms: Platforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DINGTALK_SECRET", "SEC-not-the-robots-secret")
    monkeypatch.setenv("TEST_FEISHU_SECRET", "SEC-not-the-bots-secret")
    key = make_incident("INC-20261127-001", NOW)
    queue_alerts.fn(key, NOW, "test")
    deliver_outbox.fn(NOW)
    assert deliver_outbox.fn(NOW + timedelta(minutes=5)) == {"sent": 0}
    assert platforms.requests["dingtalk"] == platforms.requests["feishu"] == 1, "a refusal is not retried"
    assert platforms.accepted["dingtalk"] == platforms.accepted["feishu"] == []
    chats = _chats(key)
    assert chats["dingtalk:legal_group"].status == chats["feishu:cs_group"].status == "failed"
    assert "310000" in chats["dingtalk:legal_group"].last_error and "加签 secret" in chats["dingtalk:legal_group"].last_error
    assert "19021" in chats["feishu:cs_group"].last_error
    assert chats["wecom:pr_group"].status == "sent"

    with pytest.raises(DeliveryFailed, match=r"2 条消息最终未能送达：dingtalk:legal_group.*310000"):
        report_undeliverable.fn(NOW + timedelta(minutes=5), "test")
    assert report_undeliverable.fn(NOW + timedelta(minutes=10), "test") is None, "reported once"
    notices = [n for n in outbox(key) if n.kind == "undeliverable"]
    assert notices and all("@" in n.recipient for n in notices), "the failure is mailed to the scribe and commander"


@pytest.mark.parametrize(("kind", "fault"), [("wecom", "rate_limit"), ("dingtalk", "rate_limit"),
                                             ("feishu", "rate_limit"), ("feishu", "429"), ("wecom", "5xx"),
                                             ("dingtalk", "5xx"), ("wecom", "timeout")])
def test_a_transient_fault_then_success_delivers_the_message_exactly_once(
    sqlite_db: str, smtp_sink: Path, platforms: Platforms, kind: str, fault: str
) -> None:
    platforms.fail_next(kind, fault)
    key = make_incident("INC-20261127-001", NOW)
    queue_alerts.fn(key, NOW, "test")
    with pytest.raises(DeliveryDeferred, match="1 条消息留待稍后重试"):
        deliver_outbox.fn(NOW)
    (row,) = [n for r, n in _chats(key).items() if r.startswith(kind)]
    assert row.status == ("uncertain" if fault == "timeout" else "pending")

    assert deliver_outbox.fn(NOW + timedelta(minutes=1))["sent"] == 1
    assert queue_alerts.fn(key, NOW + timedelta(minutes=2), "test") == 0
    assert deliver_outbox.fn(NOW + timedelta(minutes=2)) == {"sent": 0}
    assert platforms.requests[kind] == 2 and len(platforms.accepted[kind]) == 1, "delivered once, never twice"
    (row,) = [n for r, n in _chats(key).items() if r.startswith(kind)]
    assert row.status == "sent" and row.attempts == 2


def test_a_level_I_incident_sends_one_sms_to_the_commander(
    database: str, smtp_sink: Path, platforms: Platforms
) -> None:
    key = make_incident("INC-20261127-001", NOW, level="I")
    queue_alerts.fn(key, NOW, "test")
    deliver_outbox.fn(NOW)
    queue_alerts.fn(key, NOW + timedelta(minutes=1), "test")
    deliver_outbox.fn(NOW + timedelta(minutes=1))

    (sms,) = platforms.accepted["sms"]
    assert sms["PhoneNumbers"] == ZHANG and sms["SignName"] == "澄星商城" and sms["TemplateCode"] == "SMS_402117"
    assert json.loads(sms["TemplateParam"]) == {"key": key, "level": "I级", "brand": "澄星", "category": "产品质量"}
    assert _chats(key)[f"sms:commander_sms:{ZHANG}"].status == "sent"


def test_secrets_never_appear_in_the_logs_or_the_outbox(
    sqlite_db: str, smtp_sink: Path, platforms: Platforms, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DINGTALK_SECRET", "SEC-not-the-robots-secret")  # a failure names no secret either
    key = make_incident("INC-20261127-001", NOW, level="I")
    caplog.set_level(logging.DEBUG)
    queue_alerts.fn(key, NOW, "test")
    deliver_outbox.fn(NOW)

    assert "HTTP Request: POST" in caplog.text, "httpx logged each request"
    assert KEY in b"".join(platforms.raw).decode(), "the platforms were given the key"
    stored = json.dumps([[getattr(n, c) for c in ("recipient", "dedup_key", "subject", "body_text", "body_html",
                                                    "last_error", "message_id")] for n in outbox()], ensure_ascii=False)
    for secret in (KEY, SECRET, "SEC-not-the-robots-secret"):
        assert secret not in caplog.text and secret not in stored


def test_a_channel_whose_key_is_not_set_fails_its_message_naming_the_variable(
    sqlite_db: str, smtp_sink: Path, platforms: Platforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_WECOM_KEY")
    key = make_incident("INC-20261127-001", NOW)
    queue_alerts.fn(key, NOW, "test")
    deliver_outbox.fn(NOW)
    row = _chats(key)["wecom:pr_group"]
    assert row.status == "failed" and row.last_error.endswith("渠道 pr_group：密钥 TEST_WECOM_KEY 未设置（环境变量或 Prefect Secret 块）")
    assert platforms.requests["wecom"] == 0 and len(platforms.accepted["dingtalk"]) == 1
